import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { AnchorStatus, SignatureStatus } from '@kiln/interface'
import type { DocHead, DocIndexRecord, QueryFilter, QuerySort, Storage, StorageQuery } from '@kiln/interface'
import { encodeRecord } from '@kiln/codec'
import { evaluateQuery } from '@kiln/query'
import { levelStorage } from '@kiln/storage-level'
import { ClassicLevel } from 'classic-level'
import { keyCensus } from './fixtures/layout-1.js'

// The bounded scan: with a small maxScan, queries that no indexed term narrows stream along a time index and return
// short pages; followed cursor by cursor they must give exactly what full evaluation gives.

const MAX_SCAN = 7
const DOCS = 60
const T0 = 1_700_000_000_000
const DIDS = ['did:key:a', 'did:key:b', 'did:key:c']

/** A deterministic record for document `i`: times with ties, some never anchored, a few tags, a number to filter on. */
function recordOf (i: number): DocIndexRecord {
  const record: DocIndexRecord = {
    doctype: i % 5 === 0 ? 1 : 0,
    controllers: [DIDS[i % 3]!],
    tags: ['t' + String(i % 4), ...(i % 9 === 0 ? ['nine'] : [])],
    links: [],
    content: { n: i % 7, s: `item ${String(i % 10)}` },
    createdAt: T0 + Math.floor(i / 3) * 1000,
    updatedAt: T0 + ((i * 37) % DOCS) * 10
  }
  if (i % 3 !== 1) record.anchoredAt = T0 + (i % 4) * 100_000
  if (i % 2 === 0) record.family = 'even'
  return record
}

function docIdOf (i: number): string {
  return `kdoc-${String((i * 7919) % 1000).padStart(3, '0')}-${String(i)}`
}

describe('levelStorage query bound (maxScan)', () => {
  let dir: string
  let storage: Storage
  const records = new Map<string, DocIndexRecord>()

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-level-bound-'))
    storage = levelStorage({ path: dir, maxScan: MAX_SCAN })({})
    await storage.start?.()
    const genesis = (await encodeRecord({ bound: true })).cid
    const batch = storage.batch()
    for (let i = 0; i < DOCS; i++) {
      const record = recordOf(i)
      records.set(docIdOf(i), record)
      const head: DocHead = {
        type: record.doctype, content: record.content, metadata: { controllers: record.controllers },
        signature: SignatureStatus.SIGNED, anchorStatus: AnchorStatus.PENDING, genesis, tip: genesis, logLength: 1
      }
      batch.putHead(docIdOf(i), head).putIndex(docIdOf(i), record)
    }
    await batch.commit()
  })

  afterAll(async () => {
    await storage.stop?.()
    await rm(dir, { recursive: true, force: true })
  })

  /** Every id of `query`, page after page; also how many pages were short of `first` while more followed. */
  async function follow (query: StorageQuery): Promise<{ ids: string[], shortPages: number }> {
    const ids: string[] = []
    let shortPages = 0
    let after: string | undefined
    for (let pages = 0; pages < 1000; pages++) {
      const page = await storage.query({ ...query, ...(after === undefined ? {} : { after }) })
      ids.push(...page.ids)
      if (!page.hasNextPage) return { ids, shortPages }
      if (page.ids.length < query.first) shortPages++
      after = page.endCursor
    }
    throw new RangeError('more than 1000 pages')
  }

  const filters: Array<QueryFilter | undefined> = [
    undefined,
    { content: { path: ['n'], equalTo: 3 } },
    { content: { path: ['s'], gte: 'item 5' } },
    { not: { tags: { any: ['t1', 'nine'] } } },
    { or: [{ controller: 'did:key:a' }, { content: { path: ['n'], lt: 2 } }] },
    // indexed, but each term lists more than maxScan documents: the scan is used
    { and: [{ family: 'even' }, { doctype: 0 }] },
    { anchored: { after: T0 + 100_000 } },
    // a range on the sorted time narrows the scan itself
    { and: [{ created: { after: T0 + 4_000, before: T0 + 17_000 } }, { content: { path: ['n'], lt: 4 } }] },
    { and: [{ updated: { after: T0 + 100 } }, { updated: { before: T0 + 450 } }] },
    { and: [{ anchored: { before: T0 + 300_000 } }, { not: { controller: 'did:key:b' } }] },
    { content: { path: ['n'], equalTo: 99 } }
  ]
  const sorts: QuerySort[] = [
    { by: 'created', order: 'asc' },
    { by: 'created', order: 'desc' },
    { by: 'updated', order: 'asc' },
    { by: 'anchored', order: 'asc' },
    { by: 'anchored', order: 'desc' }
  ]

  it('pages along the time index: short pages, followed, give exactly the full evaluation, for every filter and sort', async () => {
    let shortPages = 0
    for (const filter of filters) {
      for (const sort of sorts) {
        const expected = evaluateQuery(records, { ...(filter === undefined ? {} : { filter }), sort, first: 1000 }).ids
        for (const first of [1, 4, 1000]) {
          const got = await follow({ ...(filter === undefined ? {} : { filter }), sort, first })
          expect(got.ids, `${JSON.stringify(filter)} ${sort.by} ${sort.order} first ${first}`).toEqual(expected)
          shortPages += got.shortPages
        }
      }
    }
    // The bound was reached: some pages came back short of their size and still went on.
    expect(shortPages).toBeGreaterThan(0)
  })

  it('examines at most maxScan records in one call: a filter matching nothing returns an empty page that goes on', async () => {
    const page = await storage.query({ filter: { content: { path: ['n'], equalTo: 99 } }, sort: { by: 'created', order: 'asc' }, first: 10 })
    expect(page.ids).toEqual([])
    expect(page.hasNextPage).toBe(true)
    expect(typeof page.endCursor).toBe('string')
  })

  it('answers a selective indexed term exactly, with a count, whatever the sort', async () => {
    const filter: QueryFilter = { and: [{ tags: { all: ['nine'] } }, { content: { path: ['n'], gte: 0 } }] }
    const expected = evaluateQuery(records, { filter, sort: { by: 'content', path: ['n'], order: 'desc' }, first: 1000, count: true })
    expect(expected.count).toBeLessThanOrEqual(MAX_SCAN)
    const page = await storage.query({ filter, sort: { by: 'content', path: ['n'], order: 'desc' }, first: 1000, count: true })
    expect(page).toEqual(expected)
  })

  it('refuses a count or a content sort over more than maxScan candidates with QueryTooBroadError', async () => {
    const broad: StorageQuery[] = [
      { sort: { by: 'created', order: 'asc' }, first: 5, count: true },
      { filter: { family: 'even' }, sort: { by: 'created', order: 'asc' }, first: 5, count: true },
      { filter: { content: { path: ['n'], equalTo: 3 } }, sort: { by: 'content', path: ['s'], order: 'asc' }, first: 5 }
    ]
    for (const query of broad) {
      const err = await storage.query(query).then(() => undefined, (e: unknown) => e as Error)
      expect(err?.name, JSON.stringify(query)).toBe('QueryTooBroadError')
    }
  })

  it('refuses a maxScan that is not a positive integer', () => {
    for (const maxScan of [0, -1, 1.5, Number.NaN]) {
      expect(() => levelStorage({ path: dir, maxScan }), String(maxScan)).toThrow(/maxScan/)
    }
  })
})

describe('levelStorage query index on disk', () => {
  const head = async (): Promise<DocHead> => {
    const genesis = (await encodeRecord({ disk: true })).cid
    return { type: 0, content: {}, metadata: { controllers: ['did:key:a'] }, signature: SignatureStatus.SIGNED, anchorStatus: AnchorStatus.PENDING, genesis, tip: genesis, logLength: 1 }
  }

  it('keeps index records and their keys across a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-level-reopen-'))
    try {
      let storage = levelStorage({ path: dir })({})
      await storage.start?.()
      await storage.batch().putHead('kdoc-1', await head()).putIndex('kdoc-1', recordOf(0)).putHead('kdoc-2', await head()).putIndex('kdoc-2', recordOf(3)).commit()
      await storage.stop?.()
      storage = levelStorage({ path: dir })({})
      await storage.start?.()
      expect(await storage.getIndexRecord('kdoc-1')).toEqual(recordOf(0))
      expect((await storage.query({ filter: { tags: { any: ['t3'] } }, sort: { by: 'anchored', order: 'desc' }, first: 10 })).ids).toEqual(['kdoc-2'])
      expect((await storage.query({ sort: { by: 'created', order: 'desc' }, first: 10, count: true }))).toEqual({ ids: ['kdoc-2', 'kdoc-1'], hasNextPage: false, count: 2 })
      await storage.stop?.()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('reports a corrupt index record as a StorageError naming the document', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-level-corrupt-'))
    try {
      const storage = levelStorage({ path: dir })({})
      await storage.start?.()
      await storage.batch().putHead('kdoc-1', await head()).putIndex('kdoc-1', recordOf(0)).commit()
      await storage.stop?.()
      const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
      await db.open()
      await db.put(Uint8Array.from([0x78, ...new TextEncoder().encode('kdoc-1')]), new TextEncoder().encode('{not json'))
      await db.close()
      await storage.start?.()
      for (const read of [storage.getIndexRecord('kdoc-1'), storage.query({ filter: { controller: 'did:key:a' }, sort: { by: 'created', order: 'asc' }, first: 5 })]) {
        const err = await read.then(() => undefined, (e: unknown) => e as Error)
        expect(err?.name).toBe('StorageError')
        expect(err?.message).toContain('index record of kdoc-1')
      }
      await storage.stop?.()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('levelStorage query index keys', () => {
  it('leaves no secondary or time key of a replaced or deleted record behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-level-keys-'))
    try {
      const storage = levelStorage({ path: dir })({})
      await storage.start?.()
      const genesis = (await encodeRecord({ keys: true })).cid
      const head: DocHead = {
        type: 0, content: {}, metadata: { controllers: ['did:key:a'] },
        signature: SignatureStatus.SIGNED, anchorStatus: AnchorStatus.PENDING, genesis, tip: genesis, logLength: 1
      }
      const first: DocIndexRecord = { ...recordOf(0), tags: ['a', 'b', 'c'], links: ['kdoc-x', 'kdoc-y'], schemaDoc: 'kschema', schemaCommit: 'kschema-v1' }
      await storage.batch().putHead('kdoc-1', head).putIndex('kdoc-1', first).commit()
      await storage.batch().putHead('kdoc-1', head).putIndex('kdoc-1', { ...recordOf(1), tags: ['d'] }).commit()
      await storage.stop?.()
      // one record; doctype, controller, one tag: 3 secondary keys; created, updated, anchored: 3 time keys
      expect((await keyCensus(dir)).kinds).toMatchObject({ x: 1, i: 3, t: 3 })

      await storage.start?.()
      await storage.deleteDocument('kdoc-1')
      await storage.stop?.()
      const { kinds } = await keyCensus(dir)
      expect([kinds.x, kinds.i, kinds.t]).toEqual([undefined, undefined, undefined])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
