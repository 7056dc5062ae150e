import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AnchorStatus, SignatureStatus } from '@kiln/interface'
import type { DocHead, DocIndexRecord, QueryFilter, QuerySort, Storage, StorageQuery } from '@kiln/interface'
import { encodeRecord } from '@kiln/codec'
import pg from 'pg'
import { postgresStorage } from '@kiln/storage-postgres'
import { createTestDatabase, testPostgres, type TestDatabase } from '@kiln/storage-postgres/testing'
import { queryTests } from '@kiln/interface-tests/query'
import { emptyKilnTables, openStorage, storageOn, testPool } from './fixtures/database.js'

const server = await testPostgres()

/** The documents every query below runs over: content values of every JSON type, missing and null. */
const DOCS: Array<[string, Partial<DocIndexRecord>]> = [
  ['kdoc-a', { family: 'note', tags: ['red', 'blue'], content: { n: 1, s: 'apple', nested: { x: [10, 20] } }, createdAt: 100, anchoredAt: 5000 }],
  ['kdoc-b', { family: 'note', tags: ['red'], content: { n: 2.5, s: 'Banana', flag: true }, createdAt: 200 }],
  ['kdoc-c', { family: 'post', tags: [], content: { n: 'text', s: null }, createdAt: 300, anchoredAt: 1000 }],
  ['kdoc-d', { family: 'post', tags: ['blue'], content: { n: -4, s: 'éclair', list: [1, { k: 'v' }] }, createdAt: 400 }],
  ['kdoc-e', { doctype: 1, controllers: ['did:key:other'], content: { s: '\u{1F600}', n: null }, createdAt: 500, links: ['kdoc-a'] }],
  ['kdoc-f', { content: [1, 2, 3], createdAt: 600, schemaDoc: 'kschema', schemaCommit: 'kschema-v1' }],
  ['kdoc-g', { content: { n: 1.0, s: 'zebra', '01': 'key' }, createdAt: 700, anchoredAt: 3000 }]
]

function record (fields: Partial<DocIndexRecord>): DocIndexRecord {
  return { doctype: 0, controllers: ['did:key:alice'], tags: [], links: [], content: {}, createdAt: 0, updatedAt: 0, ...fields }
}

// Skipped only without a PostgreSQL server (KILN_TEST_DATABASE_URL unset and no binaries to start one; CI starts one):
// the reason is in the suite's title.
describe.skipIf(server.skip)(`postgresStorage query compliance${server.reason}`, () => {
  let database: TestDatabase
  let pool: pg.Pool

  beforeAll(async () => {
    database = await createTestDatabase(server.url)
    await (await openStorage(database.url)).stop?.()
    pool = testPool(database.url)
  })

  afterAll(async () => {
    await pool?.end()
    await database?.drop()
  })

  queryTests({
    setup: async () => {
      await emptyKilnTables(pool)
      return await storageOn(pool)
    },
    teardown: async (storage) => { await storage.stop?.() }
  })
})

// Skipped only without a PostgreSQL server (KILN_TEST_DATABASE_URL unset and no binaries to start one; CI starts one):
// the reason is in the suite's title.
describe.skipIf(server.skip)(`postgresStorage queries${server.reason}`, () => {
  let database: TestDatabase
  let storage: Storage

  beforeAll(async () => {
    database = await createTestDatabase(server.url)
    storage = await openStorage(database.url)
    const block = await encodeRecord({ query: 'fixture' })
    const head: DocHead = {
      type: 0, content: {}, metadata: { controllers: ['did:key:alice'] }, signature: SignatureStatus.SIGNED,
      anchorStatus: AnchorStatus.PENDING, genesis: block.cid, tip: block.cid, logLength: 1
    }
    const batch = storage.batch()
    for (const [docId, fields] of DOCS) batch.putHead(docId, head).putIndex(docId, record({ updatedAt: fields.createdAt, ...fields }))
    await batch.commit()
  })

  afterAll(async () => {
    await storage?.stop?.()
    await database?.drop()
    await server.stop()
  })

  async function ids (filter: QueryFilter | undefined, sort: QuerySort = { by: 'created', order: 'asc' }): Promise<string[]> {
    const page = await storage.query({ filter, sort, first: 100 })
    return page.ids
  }

  async function allPages (query: Omit<StorageQuery, 'first'>, first: number): Promise<string[]> {
    const seen: string[] = []
    let after: string | undefined
    for (let pages = 0; pages < 20; pages++) {
      const page = await storage.query({ ...query, first, after })
      seen.push(...page.ids)
      if (!page.hasNextPage) return seen
      after = page.endCursor
    }
    throw new Error('more than 20 pages')
  }

  it('reads back an index record as written, keeping the first createdAt when the record is replaced', async () => {
    expect(await storage.getIndexRecord('kdoc-f')).toEqual(record({ content: [1, 2, 3], createdAt: 600, updatedAt: 600, schemaDoc: 'kschema', schemaCommit: 'kschema-v1' }))
    expect(await storage.getIndexRecord('kdoc-none')).toBeUndefined()
    await storage.batch().putIndex('kdoc-f', record({ content: [1, 2, 3], createdAt: 9999, updatedAt: 650, schemaDoc: 'kschema', schemaCommit: 'kschema-v1' })).commit()
    expect(await storage.getIndexRecord('kdoc-f')).toMatchObject({ createdAt: 600, updatedAt: 650 })
  })

  it('filters by the promoted metadata: doctype, controller, family, tags, schema and links', async () => {
    expect(await ids({ doctype: 1 })).toEqual(['kdoc-e'])
    expect(await ids({ controller: 'did:key:other' })).toEqual(['kdoc-e'])
    expect(await ids({ family: 'post' })).toEqual(['kdoc-c', 'kdoc-d'])
    expect(await ids({ tags: { all: ['red', 'blue'] } })).toEqual(['kdoc-a'])
    expect(await ids({ tags: { any: ['red', 'blue'] } })).toEqual(['kdoc-a', 'kdoc-b', 'kdoc-d'])
    expect(await ids({ schema: { doc: 'kschema' } })).toEqual(['kdoc-f'])
    expect(await ids({ schema: { commit: 'kschema-v2' } })).toEqual([])
    expect(await ids({ linksTo: 'kdoc-a' })).toEqual(['kdoc-e'])
  })

  it('tells a missing value from a null one in equalTo, notEqualTo, isNull and exists', async () => {
    expect(await ids({ content: { path: ['s'], equalTo: null } })).toEqual(['kdoc-c'])
    expect(await ids({ content: { path: ['s'], notEqualTo: 'apple' } })).toEqual(['kdoc-b', 'kdoc-c', 'kdoc-d', 'kdoc-e', 'kdoc-f', 'kdoc-g'])
    expect(await ids({ content: { path: ['n'], isNull: true } })).toEqual(['kdoc-e', 'kdoc-f'])
    expect(await ids({ content: { path: ['n'], isNull: false } })).toEqual(['kdoc-a', 'kdoc-b', 'kdoc-c', 'kdoc-d', 'kdoc-g'])
    expect(await ids({ content: { path: ['flag'], exists: true } })).toEqual(['kdoc-b'])
    expect(await ids({ content: { path: ['n'], exists: false } })).toEqual(['kdoc-f'])
  })

  it('compares deeply, numbers by value, and reads array elements only at canonical indexes', async () => {
    expect(await ids({ content: { path: ['n'], equalTo: 1 } })).toEqual(['kdoc-a', 'kdoc-g'])
    expect(await ids({ content: { path: ['nested'], equalTo: { x: [10, 20] } } })).toEqual(['kdoc-a'])
    expect(await ids({ content: { path: ['nested', 'x'], equalTo: [10] } })).toEqual([])
    expect(await ids({ content: { path: ['list', '1', 'k'], equalTo: 'v' } })).toEqual(['kdoc-d'])
    expect(await ids({ content: { path: ['1'], equalTo: 2 } })).toEqual(['kdoc-f'])
    expect(await ids({ content: { path: ['01'], exists: true } })).toEqual(['kdoc-g'])
    expect(await ids({ content: { path: ['-1'], exists: true } })).toEqual([])
    expect(await ids({ content: { path: ['n'], in: [2.5, 'text', -4] } })).toEqual(['kdoc-b', 'kdoc-c', 'kdoc-d'])
    expect(await ids({ content: { path: ['n'], notIn: [1, null] } })).toEqual(['kdoc-b', 'kdoc-c', 'kdoc-d', 'kdoc-f'])
  })

  it('compares gt/lt only with values of the same JSON type, strings by code point', async () => {
    expect(await ids({ content: { path: ['n'], gt: 0 } })).toEqual(['kdoc-a', 'kdoc-b', 'kdoc-g'])
    expect(await ids({ content: { path: ['n'], lte: 1 } })).toEqual(['kdoc-a', 'kdoc-d', 'kdoc-g'])
    expect(await ids({ content: { path: ['s'], gt: 'Z' } })).toEqual(['kdoc-a', 'kdoc-d', 'kdoc-e', 'kdoc-g'])
    expect(await ids({ content: { path: ['s'], lt: 'a' } })).toEqual(['kdoc-b'])
    expect(await ids({ content: { path: ['s'], gte: '\u{FFFF}' } })).toEqual(['kdoc-e'])
  })

  it('keeps documents with missing values under a not, and combines filters with and/or', async () => {
    expect(await ids({ not: { content: { path: ['n'], gt: 0 } } })).toEqual(['kdoc-c', 'kdoc-d', 'kdoc-e', 'kdoc-f'])
    expect(await ids({ not: { anchored: { after: 2000 } } })).toEqual(['kdoc-b', 'kdoc-c', 'kdoc-d', 'kdoc-e', 'kdoc-f'])
    expect(await ids({ and: [{ family: 'note' }, { not: { tags: { any: ['blue'] } } }] })).toEqual(['kdoc-b'])
    expect(await ids({ or: [{ family: 'post' }, { doctype: 1 }] })).toEqual(['kdoc-c', 'kdoc-d', 'kdoc-e'])
    expect(await ids({ not: { or: [{ family: 'note' }, { family: 'post' }] } })).toEqual(['kdoc-e', 'kdoc-f', 'kdoc-g'])
    expect(await ids({ created: { after: 200, before: 500 } })).toEqual(['kdoc-c', 'kdoc-d'])
  })

  it('sorts by content: numbers, then strings, then the rest last in both directions, ties by DocID', async () => {
    expect(await ids(undefined, { by: 'content', path: ['n'], order: 'asc' })).toEqual(['kdoc-d', 'kdoc-a', 'kdoc-g', 'kdoc-b', 'kdoc-c', 'kdoc-e', 'kdoc-f'])
    expect(await ids(undefined, { by: 'content', path: ['n'], order: 'desc' })).toEqual(['kdoc-c', 'kdoc-b', 'kdoc-g', 'kdoc-a', 'kdoc-d', 'kdoc-f', 'kdoc-e'])
    expect(await ids(undefined, { by: 'anchored', order: 'asc' })).toEqual(['kdoc-c', 'kdoc-g', 'kdoc-a', 'kdoc-b', 'kdoc-d', 'kdoc-e', 'kdoc-f'])
    expect(await ids(undefined, { by: 'anchored', order: 'desc' })).toEqual(['kdoc-a', 'kdoc-g', 'kdoc-c', 'kdoc-f', 'kdoc-e', 'kdoc-d', 'kdoc-b'])
  })

  it('pages through every sort with cursors, each document once, in the order of one big page', async () => {
    const sorts: QuerySort[] = [
      { by: 'created', order: 'desc' },
      { by: 'anchored', order: 'asc' },
      { by: 'anchored', order: 'desc' },
      { by: 'content', path: ['n'], order: 'asc' },
      { by: 'content', path: ['s'], order: 'desc' }
    ]
    for (const sort of sorts) {
      const whole = await ids(undefined, sort)
      for (const first of [1, 2, 3]) expect(await allPages({ sort }, first), `${JSON.stringify(sort)} by ${first}`).toEqual(whole)
    }
  })

  it('counts every match regardless of the page, and says when no page follows', async () => {
    const page = await storage.query({ filter: { family: 'note' }, sort: { by: 'created', order: 'asc' }, first: 1, count: true })
    expect(page).toMatchObject({ ids: ['kdoc-a'], hasNextPage: true, count: 2 })
    const last = await storage.query({ filter: { family: 'note' }, sort: { by: 'created', order: 'asc' }, first: 1, after: page.endCursor })
    expect(last).toEqual({ ids: ['kdoc-b'], hasNextPage: false })
  })

  it('rejects a cursor of another query, a forged cursor and a query past the limits with InvalidQueryError', async () => {
    const page = await storage.query({ sort: { by: 'created', order: 'asc' }, first: 1 })
    const bad: StorageQuery[] = [
      { sort: { by: 'created', order: 'desc' }, first: 1, after: page.endCursor },
      { sort: { by: 'created', order: 'asc' }, first: 1, after: 'not-a-cursor!' },
      { sort: { by: 'created', order: 'asc' }, first: 1, after: Buffer.from('[1,"x",[1]]').toString('base64url') },
      { sort: { by: 'created', order: 'asc' }, first: 0 },
      { sort: { by: 'created', order: 'asc' }, first: 1001 },
      { filter: { content: { path: Array(9).fill('a'), exists: true } }, sort: { by: 'created', order: 'asc' }, first: 1 },
      { filter: { bogus: 1 } as unknown as QueryFilter, sort: { by: 'created', order: 'asc' }, first: 1 },
      { filter: { family: 'x'.repeat(1025) }, sort: { by: 'created', order: 'asc' }, first: 1 }
    ]
    for (const query of bad) {
      const err = await storage.query(query).then(() => undefined, (e: unknown) => e as Error)
      expect(err?.name, JSON.stringify(query)).toBe('InvalidQueryError')
    }
  })

  it('indexes content nested deeper than MAX_INDEXED_NESTING as null rather than refusing the write', async () => {
    let deep: unknown = 'bottom'
    for (let i = 0; i < 1500; i++) deep = [deep]
    await storage.batch().putIndex('kdoc-deep', record({ content: { deep }, createdAt: 800 })).commit()
    expect((await storage.getIndexRecord('kdoc-deep'))?.content).toBeNull()
    expect(await ids({ content: { path: [], equalTo: null } })).toEqual(['kdoc-deep'])
    await storage.deleteDocument('kdoc-deep')
  })

  it('indexes strings holding U+0000, which PostgreSQL cannot store, and finds them by the same strings', async () => {
    await storage.batch().putIndex('kdoc-nul', record({ family: 'f\u0000', content: { s: 'x\u0000y', t: '\\u0000' }, createdAt: 950 })).commit()
    expect(await ids({ content: { path: ['s'], equalTo: 'x\u0000y' } })).toEqual(['kdoc-nul'])
    expect(await ids({ content: { path: ['t'], equalTo: '\\u0000' } })).toEqual(['kdoc-nul'])
    expect(await ids({ family: 'f\u0000' })).toEqual(['kdoc-nul'])
    await storage.deleteDocument('kdoc-nul')
  })

  it('indexes a document whose content is null, as a present null', async () => {
    await storage.batch().putIndex('kdoc-null', record({ content: null, createdAt: 900 })).commit()
    expect((await storage.getIndexRecord('kdoc-null'))?.content).toBeNull()
    expect(await ids({ content: { path: [], exists: true } })).toContain('kdoc-null')
    expect(await ids({ content: { path: [], isNull: true } })).toEqual(['kdoc-null'])
    await storage.deleteDocument('kdoc-null')
  })

  it('cancels a query running past the timeout with QueryTooBroadError', async () => {
    const impatient = postgresStorage({ connectionString: database.url, queryTimeoutMs: 200 })({})
    await impatient.start?.()
    const admin = new pg.Client({ connectionString: database.url })
    await admin.connect()
    try {
      // Another session holds the index table locked, so the query waits on the lock until the timeout cancels it.
      await admin.query('BEGIN; LOCK TABLE kiln_documents IN ACCESS EXCLUSIVE MODE')
      const err = await impatient.query({ filter: { family: 'note' }, sort: { by: 'created', order: 'asc' }, first: 10 }).then(() => undefined, (e: unknown) => e as Error)
      await admin.query('ROLLBACK')
      expect(err?.name).toBe('QueryTooBroadError')
      expect(err?.message).toMatch(/200 ms/)
      expect((await impatient.query({ filter: { family: 'note' }, sort: { by: 'created', order: 'asc' }, first: 10 })).ids).toEqual(['kdoc-a', 'kdoc-b'])
    } finally {
      await admin.end()
      await impatient.stop?.()
    }
  })
})
