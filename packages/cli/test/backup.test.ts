import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, type CliIO } from '@kiln/cli'
import { docStateToJSON } from '@kiln/codec'
import type { DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { httpClient } from '@kiln/http-client'
import { AnchorStatus } from '@kiln/interface'
import { keyDidSigner, seedFromHex } from '@kiln/signing'
import { createTestDatabase, testPostgres, type TestDatabase } from '@kiln/storage-postgres/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { openRestoreNode } from '../src/node-assembly.js'

const postgres = await testPostgres()
const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x44) })
const ADMIN_SEED = '55'.repeat(32)
const admin = keyDidSigner({ seed: seedFromHex(ADMIN_SEED) })

/** An io that keeps what a command writes; standard error is a terminal when `tty`. */
function captured (tty = false, signal?: AbortSignal): CliIO & { stdout: () => string, stderr: () => string } {
  let out = ''
  let err = ''
  return {
    out: { write: (chunk: string | Uint8Array) => { out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString() } },
    err: { write: (chunk: string) => { err += chunk }, isTTY: tty, columns: 120 },
    env: {},
    ...(signal === undefined ? {} : { signal }),
    stdout: () => out,
    stderr: () => err
  }
}

// Skipped only without a PostgreSQL server (KILN_TEST_DATABASE_URL unset and no binaries to start one; CI starts one):
// the reason is in the suite's title.
describe.skipIf(postgres.skip)(`kiln daemon --backup, kiln backup and kiln restore${postgres.reason}`, () => {
  const dirs: string[] = []
  let database: TestDatabase
  let expected: Record<string, unknown>
  let chainDid: string

  async function tempDir (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-cli-backup-'))
    dirs.push(dir)
    return dir
  }

  beforeAll(async () => {
    database = await createTestDatabase(postgres.url)
  })

  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
    await database?.drop()
    await postgres.stop()
  })

  it('mirrors a daemon to the warehouse and archives it over HTTP, with progress on a terminal', async () => {
    const stop = new AbortController()
    const daemonIo = captured(false, stop.signal)
    const archive = await tempDir()
    const daemon = run(['daemon', '--port', '0', '--data-dir', await tempDir(), '--anchor', 'mock', '--anchor-interval', '50', '--p2p-listen', 'none',
      '--log-level', 'silent', '--admin-did', admin.did, '--backup', database.url, '--json'], daemonIo)
    await vi.waitFor(() => { expect(daemonIo.stdout()).toContain('"event":"listening"') })
    const listening = JSON.parse(daemonIo.stdout().split('\n')[0]!) as { url: string, mockChainDid: string }
    chainDid = listening.mockChainDid
    try {
      const client = httpClient({ url: listening.url })
      const ids: DocID[] = []
      for (let i = 0; i < 3; i++) {
        // The first is anchored after its update only, so the anchor does not race it.
        const doc = await client.createDocument('tile', (await makeGenesis({ i }, {}, alice)).commit, { anchor: i !== 0 })
        if (i === 0) await client.applyCommit(doc.id, (await makeUpdate(doc.state, { i, again: true }, alice)).commit)
        ids.push(doc.id)
      }
      await vi.waitFor(async () => {
        for (const id of ids) expect((await client.load(id)).state.anchorStatus).toBe(AnchorStatus.ANCHORED)
      }, { timeout: 20_000 })
      expected = {}
      for (const id of ids) expected[id.toString()] = docStateToJSON((await client.load(id)).state)
      const warehouse = new pg.Client({ connectionString: database.url })
      await warehouse.connect()
      try {
        await vi.waitFor(async () => {
          const { rows } = await warehouse.query<{ doc_id: string, state: unknown }>('SELECT doc_id, state FROM kiln_warehouse.documents')
          expect(Object.fromEntries(rows.map((r) => [r.doc_id, r.state]))).toEqual(expected)
        }, { timeout: 20_000 })
      } finally {
        await warehouse.end()
      }
      const io = captured(true)
      expect(await run(['backup', '--to', archive, '--url', listening.url, '--seed', ADMIN_SEED], io), io.stderr()).toBe(0)
      expect(io.stderr()).toContain('backing up: 3 of 3 documents')
      expect(io.stdout()).toContain('3 written, 0 unchanged')
      const again = captured()
      expect(await run(['backup', '--to', archive, '--url', listening.url, '--seed', ADMIN_SEED, '--json'], again)).toBe(0)
      expect(JSON.parse(again.stdout())).toMatchObject({ total: 3, written: 0, unchanged: 3 })
      expect(again.stderr()).toBe('')
    } finally {
      stop.abort()
      expect(await daemon).toBe(0)
    }

    for (const from of [archive, database.url]) {
      const dataDir = await tempDir()
      const io = captured(true)
      expect(await run(['restore', '--from', from, '--data-dir', dataDir, '--mock-chain-did', chainDid], io), io.stderr()).toBe(0)
      expect(io.stderr()).toContain('restoring: 3 of 3 documents')
      expect(io.stdout()).toContain(`restored 3 document(s) into ${dataDir}`)
      const { node, stop: close } = await openRestoreNode({ dataDir, mockChainDid: chainDid })
      try {
        for (const [id, state] of Object.entries(expected)) expect(docStateToJSON((await node.load(id)).state)).toEqual(state)
      } finally {
        await close()
      }
    }
  }, 60_000)

  it('stops a restore at a tampered warehouse row with exit code 1, naming the row', async () => {
    const warehouse = new pg.Client({ connectionString: database.url })
    await warehouse.connect()
    let cid: string
    try {
      cid = (await warehouse.query<{ cid: string }>('SELECT cid FROM kiln_warehouse.blocks ORDER BY cid LIMIT 1')).rows[0]!.cid
      await warehouse.query('UPDATE kiln_warehouse.blocks SET bytes = bytes || \'\\x00\'::bytea WHERE cid = $1', [cid])
    } finally {
      await warehouse.end()
    }
    const io = captured()
    expect(await run(['restore', '--from', database.url, '--data-dir', await tempDir(), '--mock-chain-did', chainDid], io)).toBe(1)
    expect(io.stderr()).toContain(`kiln restore: TamperedWarehouseRowError: blocks row (cid=${cid}) of document`)
  })

  it('refuses a restore from a directory with no archive, naming the error', async () => {
    const io = captured()
    expect(await run(['restore', '--from', await tempDir(), '--data-dir', await tempDir()], io)).toBe(1)
    expect(io.stderr()).toContain('InvalidArchiveError')
  })
})
