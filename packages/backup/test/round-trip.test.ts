import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { archiveDocuments, readArchiveManifest, restoreFromArchive, restoreFromWarehouse, warehouseMirror, type WarehouseMirror } from '@kiln/backup'
import { memoryStorage, type KilnNode } from '@kiln/core'
import { decodeJWS, encodeJWS } from '@kiln/codec'
import type { DocID } from '@kiln/docid'
import { createTestDatabase, testPostgres, type TestDatabase } from '@kiln/storage-postgres/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeUpdate } from '@kiln/doctype-tile'
import { alice, allAnchored, anchoringNode, bob, emptyNode, statesOf, writeDocuments } from './fixtures/documents.js'

const postgres = await testPostgres()

// Skipped only without a PostgreSQL server (KILN_TEST_DATABASE_URL unset and no binaries to start one; CI starts one):
// the reason is in the suite's title.
describe.skipIf(postgres.skip)(`backup and restore round trip${postgres.reason}`, () => {
  let database: TestDatabase
  let source: KilnNode
  let mirror: WarehouseMirror
  let ids: DocID[]
  let archive: string
  let expected: Record<string, unknown>

  beforeAll(async () => {
    database = await createTestDatabase(postgres.url)
    archive = await mkdtemp(join(tmpdir(), 'kiln-archive-'))
    const factory = warehouseMirror({ connectionString: database.url, minRetryMs: 20 })
    source = await anchoringNode(memoryStorage(), { observers: [(components) => (mirror = factory(components))] })
    ids = await writeDocuments(source, 1000)
    await allAnchored(source, ids)
    expected = await statesOf(source, ids)
    await mirror.caughtUp()
  }, 120_000)

  afterAll(async () => {
    await source?.stop()
    await database?.drop()
    await postgres.stop()
    if (archive !== undefined) await rm(archive, { recursive: true, force: true })
  })

  it('mirrors every document to the warehouse, queryable with SQL', async () => {
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    try {
      const count = await client.query<{ n: string, anchored: string }>("SELECT count(*) AS n, count(*) FILTER (WHERE anchor_status = 'ANCHORED') AS anchored FROM kiln_warehouse.documents")
      expect(count.rows[0]).toEqual({ n: '1000', anchored: '1000' })
      const byName = await client.query<{ doc_id: string }>("SELECT doc_id FROM kiln_warehouse.documents WHERE content @> '{\"name\": \"doc-7\"}'")
      expect(byName.rows.map((r) => r.doc_id)).toHaveLength(1)
      const state = await client.query<{ state: unknown }>('SELECT state FROM kiln_warehouse.documents WHERE doc_id = $1', [ids[500]!.toString()])
      expect(state.rows[0]!.state).toEqual(expected[ids[500]!.toString()])
    } finally {
      await client.end()
    }
  })

  it('restores the warehouse into an empty node with identical states', async () => {
    const target = await emptyNode(memoryStorage())
    try {
      const progress: number[] = []
      const result = await restoreFromWarehouse({ connectionString: database.url }, target, { onProgress: (p) => progress.push(p.done) })
      expect(result).toEqual({ done: 1000, total: 1000 })
      expect(progress.at(-1)).toBe(1000)
      expect(await statesOf(target, ids)).toEqual(expected)
    } finally {
      await target.stop()
    }
  }, 120_000)

  it('archives the pinned documents as CARs, then only those whose tip changed, and restores them with identical states', async () => {
    const first = await archiveDocuments(source, archive)
    expect(first).toMatchObject({ total: 1000, done: 1000, written: 1000, unchanged: 0 })
    const again = await archiveDocuments(source, archive)
    expect(again).toMatchObject({ total: 1000, written: 0, unchanged: 1000 })
    const target = await emptyNode(memoryStorage())
    try {
      expect(await restoreFromArchive(archive, target)).toEqual({ done: 1000, total: 1000 })
      expect(await statesOf(target, ids)).toEqual(expected)
    } finally {
      await target.stop()
    }
    // One document changes: the next run writes its new CAR only, and drops the old one.
    const changed = ids[600]!
    const { state } = await source.load(changed)
    await source.applyCommit(changed, (await makeUpdate(state, { name: 'changed' }, state.metadata.controllers[0] === alice.did ? alice : bob)).commit, { anchor: false })
    const before = await readArchiveManifest(archive)
    expect(await archiveDocuments(source, archive)).toMatchObject({ written: 1, unchanged: 999 })
    const after = await readArchiveManifest(archive)
    expect(after.documents[changed.toString()]!.tip).not.toBe(before.documents[changed.toString()]!.tip)
    expect(existsSync(join(archive, before.documents[changed.toString()]!.file))).toBe(false)
    expect(existsSync(join(archive, after.documents[changed.toString()]!.file))).toBe(true)
  }, 120_000)

  /** Runs `sql` on the warehouse. */
  async function query<T extends pg.QueryResultRow> (sql: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    try {
      return (await client.query<T>(sql, values)).rows
    } finally {
      await client.end()
    }
  }

  /** A restore of the warehouse into an empty node that fails: its error, and whether the node holds `docId`. */
  async function failedRestore (docId: string): Promise<{ err: Error & { details: Record<string, unknown> }, held: boolean }> {
    const target = await emptyNode(memoryStorage())
    try {
      const err = await restoreFromWarehouse({ connectionString: database.url }, target).then(() => undefined, (e: unknown) => e as Error & { details: Record<string, unknown> })
      expect(err, 'the restore should fail').toBeDefined()
      const held = await target.load(docId).then(() => true, (e: unknown) => { expect((e as Error).name).toBe('DocumentNotFoundError'); return false })
      return { err: err!, held }
    } finally {
      await target.stop()
    }
  }

  it('refuses a warehouse row whose block was tampered with, naming the row and the document, and imports nothing of it', async () => {
    // The first document a restore reads (they go in doc_id order), so the test does not wait for the others.
    const victim = (await query<{ doc_id: string }>("SELECT doc_id FROM kiln_warehouse.documents WHERE doctype = 0 ORDER BY doc_id LIMIT 1"))[0]!.doc_id
    // The payload of the victim's genesis (its content), one byte changed.
    const cid = (await query<{ blocks: string[] }>('SELECT blocks FROM kiln_warehouse.log_entries WHERE doc_id = $1 AND seq = 0', [victim]))[0]!.blocks[1]!
    const [{ bytes }] = await query<{ bytes: Buffer }>('SELECT bytes FROM kiln_warehouse.blocks WHERE cid = $1', [cid]) as [{ bytes: Buffer }]
    await query('UPDATE kiln_warehouse.blocks SET bytes = overlay(bytes placing \'\\x00\'::bytea from 10 for 1) WHERE cid = $1', [cid])
    try {
      const { err, held } = await failedRestore(victim)
      expect(err.name).toBe('TamperedWarehouseRowError')
      expect(err.message).toContain(`blocks row (cid=${cid}) of document ${victim}`)
      expect(err.details).toMatchObject({ table: 'blocks', key: `(cid=${cid})`, docId: victim })
      expect(held).toBe(false)
    } finally {
      await query('UPDATE kiln_warehouse.blocks SET bytes = $2 WHERE cid = $1', [cid, bytes])
    }
  }, 120_000)

  it('refuses a signed commit whose signature was changed (its block rehashed to match), naming its log entry', async () => {
    // The first document with an update (every tenth tile) a restore reads. The update's envelope gets another
    // signature, stored under the CID of the new bytes, so every block still hashes to its CID: only the signature check
    // can catch it.
    const victim = (await query<{ doc_id: string }>("SELECT doc_id FROM kiln_warehouse.log_entries WHERE entry_type = 'SIGNED' AND seq > 0 ORDER BY doc_id LIMIT 1"))[0]!.doc_id
    const [entry] = await query<{ seq: number, cid: string, blocks: string[] }>("SELECT seq, cid, blocks FROM kiln_warehouse.log_entries WHERE doc_id = $1 AND entry_type = 'SIGNED' AND seq > 0", [victim])
    const seq = entry!.seq
    const [{ bytes }] = await query<{ bytes: Buffer }>('SELECT bytes FROM kiln_warehouse.blocks WHERE cid = $1', [entry!.cid]) as [{ bytes: Buffer }]
    const jws = await decodeJWS(new Uint8Array(bytes))
    const signature = jws.signatures[0]!.signature
    const forged = await encodeJWS({ payload: jws.payload, signatures: [{ ...jws.signatures[0]!, signature: `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}` }] })
    await query('INSERT INTO kiln_warehouse.blocks (cid, codec, bytes) VALUES ($1, $2, $3)', [forged.cid.toString(), forged.cid.code, Buffer.from(forged.bytes)])
    await query('UPDATE kiln_warehouse.log_entries SET cid = $3, blocks = $4 WHERE doc_id = $1 AND seq = $2', [victim, seq, forged.cid.toString(), entry!.blocks.map((b) => b === entry!.cid ? forged.cid.toString() : b)])
    try {
      const { err, held } = await failedRestore(victim)
      expect(err.name).toBe('TamperedWarehouseRowError')
      expect(err.message).toContain(`log_entries row (doc_id=${victim}, seq=${seq}) of document ${victim}`)
      expect(err.message).toContain('InvalidSignatureError')
      expect(err.details).toMatchObject({ table: 'log_entries', key: `(doc_id=${victim}, seq=${seq})`, docId: victim, refusedWith: 'InvalidSignatureError' })
      expect(held).toBe(false)
    } finally {
      await query('UPDATE kiln_warehouse.log_entries SET cid = $3, blocks = $4 WHERE doc_id = $1 AND seq = $2', [victim, seq, entry!.cid, entry!.blocks])
    }
  }, 120_000)
})
