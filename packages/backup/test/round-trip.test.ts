import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { archiveDocuments, readArchiveManifest, restoreFromArchive, restoreFromWarehouse, warehouseMirror, type WarehouseMirror } from '@kiln/backup'
import { memoryStorage, type KilnNode } from '@kiln/core'
import type { DocID } from '@kiln/docid'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeUpdate } from '@kiln/doctype-tile'
import { alice, allAnchored, anchoringNode, bob, emptyNode, statesOf, writeDocuments } from './fixtures/documents.js'
import { testPostgres, type TestPostgres } from './fixtures/postgres.js'

const postgres = await testPostgres()
const skip = 'skip' in postgres ? postgres.skip : undefined

describe.skipIf(skip !== undefined)(`backup and restore round trip${skip === undefined ? '' : ` (skipped: ${skip})`}`, () => {
  const server = (postgres as { server: TestPostgres }).server
  let database: { url: string, drop(): Promise<void> }
  let source: KilnNode
  let mirror: WarehouseMirror
  let ids: DocID[]
  let archive: string
  let expected: Record<string, unknown>

  beforeAll(async () => {
    database = await server.createDatabase()
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
    await server.stop()
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

  it('refuses a warehouse row whose block was tampered with, naming the row and the document, and imports nothing of it', async () => {
    const victim = ids[321]!.toString()
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    let cid: string
    try {
      // The payload of the victim's genesis: its content, changed by one byte.
      const { rows } = await client.query<{ blocks: string[] }>('SELECT blocks FROM kiln_warehouse.log_entries WHERE doc_id = $1 AND seq = 0', [victim])
      cid = rows[0]!.blocks[1]!
      await client.query('UPDATE kiln_warehouse.blocks SET bytes = overlay(bytes placing \'\\x00\'::bytea from 10 for 1) WHERE cid = $1', [cid])
    } finally {
      await client.end()
    }
    const target = await emptyNode(memoryStorage())
    try {
      const err = await restoreFromWarehouse({ connectionString: database.url }, target).then(() => undefined, (e: unknown) => e as Error & { details: Record<string, unknown> })
      expect(err?.name).toBe('TamperedWarehouseRowError')
      expect(err?.message).toContain(`blocks row (cid=${cid})`)
      expect(err?.message).toContain(victim)
      expect(err?.details).toMatchObject({ table: 'blocks', key: `(cid=${cid})`, docId: victim })
      expect((await target.load(victim).then(() => undefined, (e: unknown) => e as Error))?.name).toBe('DocumentNotFoundError')
    } finally {
      await target.stop()
    }
  }, 120_000)
})
