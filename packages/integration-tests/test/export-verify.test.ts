import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { makeSchemaGenesis } from '@kiln/doctype-schema'
import { httpClient } from '@kiln/http-client'
import { AnchorStatus } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { DocID } from '@kiln/docid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KILN_BIN, startDaemon, type DaemonProcess } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'

const exec = promisify(execFile)
const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xf1) })

async function kiln (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [KILN_BIN, ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('export, offline verification and import', () => {
  let daemon: DaemonProcess
  let dirs: Array<{ path: string, remove: () => Promise<void> }>
  let docId: string
  let car: string

  beforeAll(async () => {
    dirs = [await dataDir(), await dataDir()]
    daemon = await startDaemon(['--data-dir', dirs[0]!.path, '--anchor-interval', '200'])
    const client = httpClient({ url: daemon.url })
    const schemaDoc = await client.createDocument('schema', (await makeSchemaGenesis({ type: 'object', properties: { n: { type: 'integer' } } }, {}, alice)).commit)
    const schemaCommit = schemaDoc.id.atCommit(schemaDoc.state.log[0]!.cid).toString()
    const created = await client.createDocument('tile', (await makeGenesis({ n: 1 }, { schema: schemaCommit }, alice)).commit, { anchor: false })
    await client.applyCommit(created.id, (await makeUpdate(created.state, { n: 2 }, alice)).commit)
    for await (const { state } of client.watch(created.id, { signal: AbortSignal.timeout(15_000) })) {
      if (state.anchorStatus === AnchorStatus.ANCHORED) break
    }
    docId = created.id.toString()
    car = join(dirs[1]!.path, 'doc.car')
    const exported = await exec(process.execPath, [KILN_BIN, 'export', docId, '--url', daemon.url, '--out', car])
    expect(exported.stderr).toContain('wrote')
  }, 60_000)

  afterAll(async () => {
    await daemon?.stop()
    for (const dir of dirs ?? []) await dir.remove()
  })

  it('verifies an anchored export in a fresh process with no node, against the chain key', async () => {
    const result = await kiln('verify', car, '--mock-chain-did', daemon.mockChainDid!, '--json')
    expect(result.code, result.stdout + result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as { ok: boolean, commits: Array<{ kind: string, docId: string }>, notes: string[] }
    expect(report.ok).toBe(true)
    // The schema document comes first, then the tile's genesis, update and anchor.
    expect(report.commits.map((c) => c.kind)).toEqual(expect.arrayContaining(['genesis', 'update', 'anchor']))
    expect(report.commits[report.commits.length - 1]!.docId).toBe(docId)
    expect(report.commits.some((c) => DocID.fromString(c.docId).type === 64)).toBe(true)
    expect(report.notes).toEqual([])
  })

  it('fails a tampered export and an export checked against another chain key', async () => {
    const bytes = await readFile(car)
    const tampered = Uint8Array.from(bytes)
    tampered[tampered.length - 10] = tampered[tampered.length - 10]! ^ 0x01
    const tamperedPath = join(dirs[1]!.path, 'tampered.car')
    await writeFile(tamperedPath, tampered)
    const broken = await kiln('verify', tamperedPath, '--mock-chain-did', daemon.mockChainDid!)
    expect(broken.code).toBe(1)
    expect(broken.stdout).toContain('FAIL')

    const otherChain = await kiln('verify', car, '--mock-chain-did', keyDidSigner({ seed: new Uint8Array(32).fill(9) }).did)
    expect(otherChain.code).toBe(1)
    expect(otherChain.stdout).toContain('InvalidAnchorProofError')
  })

  it('says what it could not check when no chain key is given', async () => {
    const result = await kiln('verify', car)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Merkle paths checked')
  })

  it('imports the export into another node, which then serves the same state', async () => {
    const second = await startDaemon(['--data-dir', dirs[1]!.path, '--anchor', 'none'])
    try {
      // The second node does not know the first one's mock chain: its anchor commit is refused by name (the commits
      // before it were verified and stay; a node that anchors on that chain would accept all of it).
      const refused = await kiln('import', car, '--url', second.url)
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain('UnsupportedChainError')
    } finally {
      await second.stop()
    }
    const original = await httpClient({ url: daemon.url }).load(docId)
    const again = await kiln('import', car, '--url', daemon.url, '--json')
    expect(again.code, again.stderr).toBe(0)
    expect((JSON.parse(again.stdout) as { state: { log: unknown[] } }).state.log).toHaveLength(original.state.log.length)
  })
})
