import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import type { CID } from 'multiformats/cid'
import { AnchorStatus, SignatureStatus } from '@kiln/interface'
import type { DocHead, DocIndexRecord, QueryFilter, QuerySort, Storage, StorageQuery, StorageQueryPage } from '@kiln/interface'
import { encodeRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'

/** Options of {@link queryTests}. `setup` runs before every test and returns a started, empty `Storage`. */
export interface QueryTestOptions {
  setup (): Storage | Promise<Storage>
  /** Stops the storage and removes what it wrote. */
  teardown? (storage: Storage): void | Promise<void>
}

const T0 = 1_700_000_000_000
const A = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'
const B = 'did:key:z6MkqRYqQiSgvZQdnBytw86Qbs2ZWUkGv22od935YF4s8M7V'
const C = 'did:pkh:eip155:1:0x0000000000000000000000000000000000000001'

/** The fixture documents by name: each test writes all of them, then asks which match. */
type Name = 'alpha' | 'beta' | 'gamma' | 'delta' | 'epsilon' | 'zeta' | 'eta' | 'theta'
const NAMES: readonly Name[] = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta']

/** DocIDs (and CommitIDs) made from fixed records, so every run and every backend sees the same strings. */
interface Ids {
  doc: Record<Name, string>
  /** Two versions of one schema document, and another schema. */
  schema1: string
  schema1v1: string
  schema1v2: string
  schema2: string
  schema2v1: string
  /** Documents the fixtures link to. */
  target1: string
  target2: string
  genesis: CID
}

async function makeIds (): Promise<Ids> {
  const cid = async (label: string): Promise<CID> => (await encodeRecord({ queryFixture: label })).cid
  const doc = {} as Record<Name, string>
  for (const name of NAMES) doc[name] = new DocID(0, await cid(name)).toString()
  const schema1 = new DocID(64, await cid('schema1'))
  const schema2 = new DocID(64, await cid('schema2'))
  return {
    doc,
    schema1: schema1.toString(),
    schema1v1: schema1.atCommit(await cid('schema1 v1')).toString(),
    schema1v2: schema1.atCommit(await cid('schema1 v2')).toString(),
    schema2: schema2.toString(),
    schema2v1: schema2.atCommit(await cid('schema2 v1')).toString(),
    target1: new DocID(0, await cid('target1')).toString(),
    target2: new DocID(1, await cid('target2')).toString(),
    genesis: await cid('genesis')
  }
}

/**
 * The fixtures. Times: created in name order (alpha first), updated in reverse; alpha and zeta share an anchor time;
 * gamma, epsilon and eta were never anchored. Titles cover case, accents, a character above U+FFFF (`😀`, which sorts
 * after `Ｚ` U+FF3A by code point but before it by UTF-16 code unit), `null`, a number and a missing one.
 */
function fixtures (ids: Ids): Record<Name, DocIndexRecord> {
  const base = { tags: [] as string[], links: [] as string[] }
  return {
    alpha: {
      ...base, doctype: 0, controllers: [A], family: 'notes', tags: ['red', 'blue'], schemaDoc: ids.schema1, schemaCommit: ids.schema1v1,
      content: { title: 'Alpha', n: 1, nested: { x: null }, list: [1, { b: 'deep' }], obj: { p: 1, q: 2 }, ref: `ceramic://${ids.target1}` },
      links: [ids.target1], createdAt: T0 + 1, updatedAt: T0 + 80, anchoredAt: T0 + 100
    },
    beta: {
      ...base, doctype: 0, controllers: [B], family: 'notes', tags: ['red'], schemaDoc: ids.schema1, schemaCommit: ids.schema1v2,
      content: { title: 'beta', n: 2.5, nested: { x: 1 }, list: [2], obj: { q: 2, p: 1 } },
      links: [ids.target1, ids.target2].sort(), createdAt: T0 + 2, updatedAt: T0 + 70, anchoredAt: T0 + 50
    },
    gamma: {
      ...base, doctype: 64, controllers: [A, B],
      content: { title: 'Émile', n: '3', nested: 'flat' },
      createdAt: T0 + 3, updatedAt: T0 + 60
    },
    delta: {
      ...base, doctype: 1, controllers: [C], family: 'posts', tags: ['blue', 'green'], schemaDoc: ids.schema2, schemaCommit: ids.schema2v1,
      content: { title: 'zeta', n: -1, list: [], obj: { p: 1 } },
      links: [ids.target2], createdAt: T0 + 4, updatedAt: T0 + 50, anchoredAt: T0 + 75
    },
    epsilon: {
      ...base, doctype: 0, controllers: [C], family: 'posts', tags: ['green'],
      content: 42,
      createdAt: T0 + 5, updatedAt: T0 + 40
    },
    zeta: {
      ...base, doctype: 0, controllers: [A], tags: ['red', 'green', 'blue'],
      content: { title: null, n: 10, nested: {}, list: [1, { b: 'deep' }] },
      createdAt: T0 + 6, updatedAt: T0 + 30, anchoredAt: T0 + 100
    },
    eta: {
      ...base, doctype: 0, controllers: [B],
      content: { title: '😀', n: 1000 },
      createdAt: T0 + 7, updatedAt: T0 + 20
    },
    theta: {
      ...base, doctype: 0, controllers: [B],
      content: { title: 'Ｚeta', n: 7, obj: { p: 1, q: 2, r: 3 } },
      createdAt: T0 + 8, updatedAt: T0 + 10, anchoredAt: T0 + 10
    }
  }
}

/** A head for the document an index record describes: a backend stores the record beside it. */
function headFor (record: DocIndexRecord, genesis: CID, content: unknown = record.content): DocHead {
  return {
    type: record.doctype,
    content,
    metadata: { controllers: record.controllers },
    signature: SignatureStatus.SIGNED,
    anchorStatus: AnchorStatus.PENDING,
    genesis,
    tip: genesis,
    logLength: 1
  }
}

/** Defines the query compliance tests: every `Storage` backend must answer them exactly so. */
export function queryTests (options: QueryTestOptions): void {
  describe('Storage query compliance', () => {
    let storage: Storage
    let ids: Ids
    let records: Record<Name, DocIndexRecord>
    /** The name of each fixture DocID, to show results as names. */
    let names: Map<string, string>

    beforeEach(async () => {
      storage = await options.setup()
      ids ??= await makeIds()
      records = fixtures(ids)
      names = new Map(NAMES.map((name) => [ids.doc[name], name]))
      const batch = storage.batch()
      for (const name of NAMES) batch.putHead(ids.doc[name], headFor(records[name], ids.genesis)).putIndex(ids.doc[name], records[name])
      await batch.commit()
    })

    afterEach(async () => {
      await options.teardown?.(storage)
    })

    /** Every page of `query`, following `endCursor` until `hasNextPage` is false; pages may be short, even empty. */
    async function allPages (query: Omit<StorageQuery, 'sort' | 'first'> & { sort?: QuerySort, first?: number }): Promise<StorageQueryPage[]> {
      const pages: StorageQueryPage[] = []
      let after: string | undefined
      for (let guard = 0; guard < 1000; guard++) {
        const page = await storage.query({ sort: { by: 'created', order: 'asc' }, first: 1000, ...query, ...(after === undefined ? {} : { after }) })
        pages.push(page)
        expect(page.ids.length).toBeLessThanOrEqual(query.first ?? 1000)
        if (!page.hasNextPage) {
          expect(page.endCursor).toBeUndefined()
          return pages
        }
        expect(typeof page.endCursor).toBe('string')
        after = page.endCursor
      }
      throw new RangeError('more than 1000 pages')
    }

    /** The names of every document matching `filter`, in the order of `sort` (created ascending by default). */
    async function find (filter: QueryFilter | undefined, sort?: QuerySort, first?: number): Promise<string[]> {
      const pages = await allPages({ ...(filter === undefined ? {} : { filter }), ...(sort === undefined ? {} : { sort }), ...(first === undefined ? {} : { first }) })
      return pages.flatMap((page) => page.ids).map((id) => names.get(id) ?? id)
    }

    /** Names ordered by their DocIDs (the tie-break), ascending or descending. */
    function byDocId (list: Name[], order: 'asc' | 'desc' = 'asc'): Name[] {
      const sorted = [...list].sort((a, b) => ids.doc[a] < ids.doc[b] ? -1 : ids.doc[a] > ids.doc[b] ? 1 : 0)
      return order === 'asc' ? sorted : sorted.reverse()
    }

    describe('filters on metadata', () => {
      it('returns every indexed document, in creation order, without a filter', async () => {
        expect(await find(undefined)).toEqual([...NAMES])
      })

      it('matches a doctype code', async () => {
        expect(await find({ doctype: 0 })).toEqual(['alpha', 'beta', 'epsilon', 'zeta', 'eta', 'theta'])
        expect(await find({ doctype: 64 })).toEqual(['gamma'])
        expect(await find({ doctype: 2 })).toEqual([])
      })

      it('matches a controller that is one of several', async () => {
        expect(await find({ controller: A })).toEqual(['alpha', 'gamma', 'zeta'])
        expect(await find({ controller: B })).toEqual(['beta', 'gamma', 'eta', 'theta'])
        expect(await find({ controller: 'did:key:nobody' })).toEqual([])
      })

      it('matches a family exactly, and never a document without one', async () => {
        expect(await find({ family: 'notes' })).toEqual(['alpha', 'beta'])
        expect(await find({ family: 'Notes' })).toEqual([])
        expect(await find({ family: '' })).toEqual([])
      })

      it('matches tags: all of them, or any of them', async () => {
        expect(await find({ tags: { all: ['red', 'blue'] } })).toEqual(['alpha', 'zeta'])
        expect(await find({ tags: { all: ['red'] } })).toEqual(['alpha', 'beta', 'zeta'])
        expect(await find({ tags: { any: ['blue', 'green'] } })).toEqual(['alpha', 'delta', 'epsilon', 'zeta'])
        expect(await find({ tags: { any: ['purple'] } })).toEqual([])
        expect(await find({ tags: { all: ['red', 'purple'] } })).toEqual([])
      })

      it('matches a schema by DocID (any version) or by CommitID (that version only)', async () => {
        expect(await find({ schema: { doc: ids.schema1 } })).toEqual(['alpha', 'beta'])
        expect(await find({ schema: { commit: ids.schema1v1 } })).toEqual(['alpha'])
        expect(await find({ schema: { commit: ids.schema1v2 } })).toEqual(['beta'])
        expect(await find({ schema: { doc: ids.schema2 } })).toEqual(['delta'])
        // A DocID given as a commit, or a CommitID as a doc, names nothing stored.
        expect(await find({ schema: { commit: ids.schema1 } })).toEqual([])
        expect(await find({ schema: { doc: ids.schema1v1 } })).toEqual([])
      })

      it('matches the documents that link to a DocID (its backlinks)', async () => {
        expect(await find({ linksTo: ids.target1 })).toEqual(['alpha', 'beta'])
        expect(await find({ linksTo: ids.target2 })).toEqual(['beta', 'delta'])
        expect(await find({ linksTo: ids.doc.alpha })).toEqual([])
      })
    })

    describe('filters on content', () => {
      const content = (path: string[], condition: Record<string, unknown>): QueryFilter => ({ content: { path, ...condition } as never })

      it('equalTo matches a present equal value, case and type included', async () => {
        expect(await find(content(['title'], { equalTo: 'Alpha' }))).toEqual(['alpha'])
        expect(await find(content(['title'], { equalTo: 'alpha' }))).toEqual([])
        expect(await find(content(['n'], { equalTo: 2.5 }))).toEqual(['beta'])
        expect(await find(content(['n'], { equalTo: 3 }))).toEqual([])
        expect(await find(content(['n'], { equalTo: '3' }))).toEqual(['gamma'])
      })

      it('equalTo null matches a present null, never a missing value', async () => {
        expect(await find(content(['title'], { equalTo: null }))).toEqual(['zeta'])
        expect(await find(content(['nested', 'x'], { equalTo: null }))).toEqual(['alpha'])
      })

      it('compares objects deeply regardless of key order, and arrays in order', async () => {
        expect(await find(content(['obj'], { equalTo: { q: 2, p: 1 } }))).toEqual(['alpha', 'beta'])
        expect(await find(content(['obj'], { equalTo: { p: 1 } }))).toEqual(['delta'])
        expect(await find(content(['list'], { equalTo: [1, { b: 'deep' }] }))).toEqual(['alpha', 'zeta'])
        expect(await find(content(['list'], { equalTo: [{ b: 'deep' }, 1] }))).toEqual([])
        expect(await find(content(['list'], { equalTo: [] }))).toEqual(['delta'])
        expect(await find(content(['nested'], { equalTo: {} }))).toEqual(['zeta'])
        // Equality, not containment: a part of an array or object is not equal to it.
        expect(await find(content(['list'], { equalTo: [1] }))).toEqual([])
        expect(await find(content(['obj'], { equalTo: { p: 1, q: 2 } }))).toEqual(['alpha', 'beta'])
      })

      it('reads arrays by canonical decimal index only, and the whole content at the empty path', async () => {
        expect(await find(content(['list', '1', 'b'], { equalTo: 'deep' }))).toEqual(['alpha', 'zeta'])
        expect(await find(content(['list', '0'], { equalTo: 2 }))).toEqual(['beta'])
        expect(await find(content(['list', '01'], { exists: true }))).toEqual([])
        expect(await find(content(['list', '-1'], { exists: true }))).toEqual([])
        expect(await find(content(['list', '5'], { exists: true }))).toEqual([])
        expect(await find(content(['title', '0'], { exists: true }))).toEqual([])
        expect(await find(content([], { equalTo: 42 }))).toEqual(['epsilon'])
      })

      it('notEqualTo and notIn also match a missing value', async () => {
        expect(await find(content(['n'], { notEqualTo: 1 }))).toEqual(['beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'])
        expect(await find(content(['nested', 'x'], { notEqualTo: null }))).toEqual(['beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'])
        expect(await find(content(['n'], { notIn: [1, 2.5, '3', 1000] }))).toEqual(['delta', 'epsilon', 'zeta', 'theta'])
      })

      it('in matches one of its values, objects and mixed types included', async () => {
        expect(await find(content(['obj'], { in: [{ p: 1 }, { q: 2, p: 1 }] }))).toEqual(['alpha', 'beta', 'delta'])
        expect(await find(content(['n'], { in: ['3', 10] }))).toEqual(['gamma', 'zeta'])
        expect(await find(content(['title'], { in: [null, 'nobody'] }))).toEqual(['zeta'])
        expect(await find(content(['list'], { in: [[2], [3]] }))).toEqual(['beta'])
        expect(await find(content(['list', '0'], { in: [[2]] }))).toEqual([])
      })

      it('gt, gte, lt and lte compare numbers with numbers only', async () => {
        expect(await find(content(['n'], { gt: 1 }))).toEqual(['beta', 'zeta', 'eta', 'theta'])
        expect(await find(content(['n'], { gte: 1 }))).toEqual(['alpha', 'beta', 'zeta', 'eta', 'theta'])
        expect(await find(content(['n'], { lt: 1 }))).toEqual(['delta'])
        expect(await find(content(['n'], { lte: 2.5 }))).toEqual(['alpha', 'beta', 'delta'])
        // gamma's '3' is a string: no number comparison matches it, and nothing matches an object or a missing value
        expect(await find(content(['nested'], { gt: -1e9 }))).toEqual([])
        expect(await find(content(['missing'], { lt: 1e9 }))).toEqual([])
      })

      it('gt, gte, lt and lte compare strings with strings only, by Unicode code point', async () => {
        expect(await find(content(['title'], { gt: 'Alpha' }))).toEqual(['beta', 'gamma', 'delta', 'eta', 'theta'])
        expect(await find(content(['title'], { gte: 'Alpha' }))).toEqual(['alpha', 'beta', 'gamma', 'delta', 'eta', 'theta'])
        expect(await find(content(['title'], { lt: 'a' }))).toEqual(['alpha'])
        expect(await find(content(['n'], { gte: '' }))).toEqual(['gamma'])
        // By code point U+FF3A (Ｚ) < U+1F600 (😀); by UTF-16 code unit it would be the other way round.
        expect(await find(content(['title'], { lt: '😀' }))).toEqual(['alpha', 'beta', 'gamma', 'delta', 'theta'])
        expect(await find(content(['title'], { gt: 'Ｚ' }))).toEqual(['eta', 'theta'])
        expect(await find(content(['title'], { lte: 'zeta' }))).toEqual(['alpha', 'beta', 'delta'])
      })

      it('isNull matches missing or null; exists matches present, null included', async () => {
        expect(await find(content(['title'], { isNull: true }))).toEqual(['epsilon', 'zeta'])
        expect(await find(content(['title'], { isNull: false }))).toEqual(['alpha', 'beta', 'gamma', 'delta', 'eta', 'theta'])
        expect(await find(content(['nested', 'x'], { exists: true }))).toEqual(['alpha', 'beta'])
        expect(await find(content(['nested', 'x'], { exists: false }))).toEqual(['gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'])
      })

      it('reads keys that hold "/" and "~" as they are', async () => {
        const record: DocIndexRecord = { ...records.alpha, content: { 'a/b': { '~c': 1 } }, createdAt: T0 + 100 }
        await storage.batch().putHead(ids.target1, headFor(record, ids.genesis)).putIndex(ids.target1, record).commit()
        expect(await find(content(['a/b', '~c'], { equalTo: 1 }))).toEqual([ids.target1])
      })
    })

    describe('combinations and times', () => {
      it('nests and, or and not', async () => {
        expect(await find({ and: [{ controller: A }, { not: { tags: { any: ['red'] } } }] })).toEqual(['gamma'])
        expect(await find({ or: [{ family: 'posts' }, { and: [{ doctype: 64 }, { not: { controller: C } }] }] })).toEqual(['gamma', 'delta', 'epsilon'])
        expect(await find({ not: { content: { path: ['n'], gt: 0 } } })).toEqual(['gamma', 'delta', 'epsilon'])
        expect(await find({ not: { not: { family: 'notes' } } })).toEqual(['alpha', 'beta'])
        expect(await find({ and: [{ or: [{ controller: A }, { controller: C }] }, { or: [{ tags: { any: ['green'] } }, { doctype: 64 }] }] }))
          .toEqual(['gamma', 'delta', 'epsilon', 'zeta'])
      })

      it('takes time bounds as exclusive', async () => {
        expect(await find({ created: { after: T0 + 2, before: T0 + 5 } })).toEqual(['gamma', 'delta'])
        expect(await find({ created: { after: T0 + 7 } })).toEqual(['theta'])
        expect(await find({ updated: { before: T0 + 30 } })).toEqual(['eta', 'theta'])
        expect(await find({ updated: { after: T0 + 70 } })).toEqual(['alpha'])
      })

      it('never matches a document that was never anchored on an anchored range, even an open one', async () => {
        expect(await find({ anchored: {} })).toEqual(['alpha', 'beta', 'delta', 'zeta', 'theta'])
        expect(await find({ anchored: { before: T0 + 100 } })).toEqual(['beta', 'delta', 'theta'])
        expect(await find({ anchored: { after: T0 + 50 } })).toEqual(['alpha', 'delta', 'zeta'])
        expect(await find({ not: { anchored: {} } })).toEqual(['gamma', 'epsilon', 'eta'])
      })
    })

    describe('sorts', () => {
      it('sorts by creation and update time, both ways', async () => {
        expect(await find(undefined, { by: 'created', order: 'desc' })).toEqual([...NAMES].reverse())
        expect(await find(undefined, { by: 'updated', order: 'asc' })).toEqual([...NAMES].reverse())
        expect(await find(undefined, { by: 'updated', order: 'desc' })).toEqual([...NAMES])
      })

      it('sorts by anchor time with the never-anchored last both ways, ties broken by DocID in the same direction', async () => {
        expect(await find(undefined, { by: 'anchored', order: 'asc' }))
          .toEqual(['theta', 'beta', 'delta', ...byDocId(['alpha', 'zeta']), ...byDocId(['gamma', 'epsilon', 'eta'])])
        expect(await find(undefined, { by: 'anchored', order: 'desc' }))
          .toEqual([...byDocId(['alpha', 'zeta'], 'desc'), 'delta', 'beta', 'theta', ...byDocId(['gamma', 'epsilon', 'eta'], 'desc')])
      })

      it('sorts by a content number: numbers, then strings, then other and missing values last both ways', async () => {
        expect(await find(undefined, { by: 'content', path: ['n'], order: 'asc' }))
          .toEqual(['delta', 'alpha', 'beta', 'theta', 'zeta', 'eta', 'gamma', 'epsilon'])
        expect(await find(undefined, { by: 'content', path: ['n'], order: 'desc' }))
          .toEqual(['gamma', 'eta', 'zeta', 'theta', 'beta', 'alpha', 'delta', 'epsilon'])
      })

      it('sorts content strings by code point, with null and missing last and tied by DocID', async () => {
        expect(await find(undefined, { by: 'content', path: ['title'], order: 'asc' }))
          .toEqual(['alpha', 'beta', 'delta', 'gamma', 'theta', 'eta', ...byDocId(['epsilon', 'zeta'])])
        expect(await find(undefined, { by: 'content', path: ['title'], order: 'desc' }))
          .toEqual(['eta', 'theta', 'gamma', 'delta', 'beta', 'alpha', ...byDocId(['epsilon', 'zeta'], 'desc')])
        // Objects and arrays have no place in the order: all of them tie, broken by DocID.
        expect(await find(undefined, { by: 'content', path: ['obj'], order: 'asc' })).toEqual(byDocId([...NAMES]))
      })

      it('breaks ties of equal keys by DocID in the direction of the sort', async () => {
        const tied = { ...records.alpha, updatedAt: T0 }
        const again = storage.batch()
        for (const name of ['beta', 'gamma', 'delta'] as const) again.putHead(ids.doc[name], headFor(tied, ids.genesis)).putIndex(ids.doc[name], tied)
        await again.commit()
        const asc = await find({ updated: { before: T0 + 1 } }, { by: 'updated', order: 'asc' })
        expect(asc).toEqual(byDocId(['beta', 'gamma', 'delta']))
        expect(await find({ updated: { before: T0 + 1 } }, { by: 'updated', order: 'desc' })).toEqual(byDocId(['beta', 'gamma', 'delta'], 'desc'))
      })
    })

    describe('pages, cursors and counts', () => {
      const sorts: QuerySort[] = [
        { by: 'created', order: 'asc' },
        { by: 'updated', order: 'desc' },
        { by: 'anchored', order: 'asc' },
        { by: 'anchored', order: 'desc' },
        { by: 'content', path: ['n'], order: 'desc' },
        { by: 'content', path: ['title'], order: 'asc' }
      ]
      for (const sort of sorts) {
        it(`pages of 1, 2 and 3 give the whole sequence under ${sort.by} ${sort.order}`, async () => {
          const whole = await find(undefined, sort)
          expect(whole).toHaveLength(NAMES.length)
          for (const first of [1, 2, 3]) expect(await find(undefined, sort, first)).toEqual(whole)
          const filtered = await find({ not: { controller: C } }, sort)
          expect(await find({ not: { controller: C } }, sort, 2)).toEqual(filtered)
        })
      }

      it('returns at most first documents, from the start of the order, with a cursor while more follow', async () => {
        const page = await storage.query({ sort: { by: 'created', order: 'asc' }, first: 3 })
        // A bounded backend may return fewer, even none: what it returns is where the order starts, and more follow.
        expect(page.ids).toEqual([ids.doc.alpha, ids.doc.beta, ids.doc.gamma].slice(0, page.ids.length))
        expect(page.hasNextPage).toBe(true)
        expect(typeof page.endCursor).toBe('string')
        // The last page says nothing follows and has no cursor (allPages checks both).
        const pages = await allPages({ filter: { family: 'notes' } })
        expect(pages.flatMap((p) => p.ids)).toEqual([ids.doc.alpha, ids.doc.beta])
        expect(pages.at(-1)!.hasNextPage).toBe(false)
      })

      it('counts every match, on every page, regardless of the page size', async () => {
        const pages = await allPages({ filter: { doctype: 0 }, first: 2, count: true })
        for (const page of pages) expect(page.count).toBe(6)
        const none = await storage.query({ sort: { by: 'created', order: 'asc' }, first: 5, filter: { family: 'none' }, count: true })
        expect(none).toEqual({ ids: [], hasNextPage: false, count: 0 })
        const uncounted = await storage.query({ sort: { by: 'created', order: 'asc' }, first: 5 })
        expect(uncounted.count).toBeUndefined()
      })

      it('refuses a malformed cursor, and one made under another sort, with InvalidQueryError', async () => {
        for (const after of ['not a cursor', '', '!!!!', 'eyJ4IjoxfQ']) {
          await expectRejection(storage.query({ sort: { by: 'created', order: 'asc' }, first: 2, after }), 'InvalidQueryError')
        }
        const page = await storage.query({ sort: { by: 'created', order: 'asc' }, first: 2 })
        await expectRejection(storage.query({ sort: { by: 'updated', order: 'asc' }, first: 2, after: page.endCursor! }), 'InvalidQueryError')
        await expectRejection(storage.query({ sort: { by: 'created', order: 'desc' }, first: 2, after: page.endCursor! }), 'InvalidQueryError')
      })

      it('takes a cursor from before a change: the next page starts after its position', async () => {
        const order = ['alpha', 'beta', 'epsilon', 'zeta', 'eta', 'theta']
        // Pages (short ones too) until beta has been seen.
        const seen: string[] = []
        let after: string | undefined
        while (seen.length < 2) {
          const page = await storage.query({ sort: { by: 'created', order: 'asc' }, first: 2, filter: { doctype: 0 }, ...(after === undefined ? {} : { after }) })
          seen.push(...page.ids.map((id) => names.get(id)!))
          expect(page.hasNextPage).toBe(true)
          after = page.endCursor
        }
        expect(seen).toEqual(order.slice(0, seen.length))
        await storage.deleteDocument(ids.doc.beta)
        await storage.deleteDocument(ids.doc.theta)
        const rest = (await allPages({ filter: { doctype: 0 }, after: after! })).flatMap((p) => p.ids).map((id) => names.get(id))
        expect(rest).toEqual(order.slice(seen.length).filter((name) => name !== 'theta'))
      })
    })

    describe('abort', () => {
      it('rejects a query and a record read with AbortError when the signal has fired', async () => {
        const controller = new AbortController()
        controller.abort()
        const signal = controller.signal
        await expectRejection(storage.query({ sort: { by: 'created', order: 'asc' }, first: 5 }, { signal }), 'AbortError')
        await expectRejection(storage.getIndexRecord(ids.doc.alpha, { signal }), 'AbortError')
      })
    })

    describe('writes', () => {
      it('reads back an index record as written', async () => {
        expect(await storage.getIndexRecord(ids.doc.alpha)).toEqual(records.alpha)
        expect(await storage.getIndexRecord(ids.doc.gamma)).toEqual(records.gamma)
        expect(await storage.getIndexRecord(ids.target1)).toBeUndefined()
      })

      it('keeps the first createdAt when the record is replaced, in a later batch or the same one', async () => {
        const later = { ...records.alpha, createdAt: T0 + 999, updatedAt: T0 + 999 }
        await storage.batch().putHead(ids.doc.alpha, headFor(later, ids.genesis)).putIndex(ids.doc.alpha, later).commit()
        expect(await storage.getIndexRecord(ids.doc.alpha)).toEqual({ ...later, createdAt: T0 + 1 })
        expect((await find(undefined))[0]).toBe('alpha')
        expect(await find({ created: { after: T0 + 500 } })).toEqual([])

        const fresh: DocIndexRecord = { ...records.gamma, createdAt: T0 + 500 }
        await storage.batch()
          .putHead(ids.target1, headFor(fresh, ids.genesis)).putIndex(ids.target1, fresh)
          .putIndex(ids.target1, { ...fresh, createdAt: T0 + 600, family: 'second' })
          .commit()
        expect(await storage.getIndexRecord(ids.target1)).toEqual({ ...fresh, createdAt: T0 + 500, family: 'second' })
      })

      it('replaces the whole record: old tags, links, schema, content and anchor time no longer match', async () => {
        const replaced: DocIndexRecord = {
          doctype: 0, controllers: [C], tags: ['black'], links: [], content: { title: 'new' }, createdAt: T0 + 1, updatedAt: T0 + 90
        }
        await storage.batch().putHead(ids.doc.alpha, headFor(replaced, ids.genesis)).putIndex(ids.doc.alpha, replaced).commit()
        expect(await find({ tags: { any: ['red'] } })).toEqual(['beta', 'zeta'])
        expect(await find({ tags: { any: ['black'] } })).toEqual(['alpha'])
        expect(await find({ linksTo: ids.target1 })).toEqual(['beta'])
        expect(await find({ schema: { doc: ids.schema1 } })).toEqual(['beta'])
        expect(await find({ family: 'notes' })).toEqual(['beta'])
        expect(await find({ controller: A })).toEqual(['gamma', 'zeta'])
        expect(await find({ controller: C })).toEqual(['alpha', 'delta', 'epsilon'])
        expect(await find({ content: { path: ['title'], equalTo: 'Alpha' } })).toEqual([])
        expect(await find({ anchored: { after: T0 + 99 } })).toEqual(['zeta'])
        expect(await find(undefined, { by: 'updated', order: 'desc' })).toEqual(['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'])
        expect((await find(undefined, { by: 'anchored', order: 'asc' })).slice(-4)).toEqual(byDocId(['alpha', 'gamma', 'epsilon', 'eta']))
      })

      it('drops the record with the document: deleteDocument removes it from every result', async () => {
        await storage.deleteDocument(ids.doc.alpha)
        expect(await storage.getIndexRecord(ids.doc.alpha)).toBeUndefined()
        expect(await find(undefined)).toEqual(NAMES.filter((name) => name !== 'alpha'))
        expect(await find({ tags: { any: ['red'] } })).toEqual(['beta', 'zeta'])
        expect(await find({ linksTo: ids.target1 })).toEqual(['beta'])
        expect(await find(undefined, { by: 'anchored', order: 'desc' })).toEqual(['zeta', 'delta', 'beta', 'theta', ...byDocId(['gamma', 'epsilon', 'eta'], 'desc')])
        const counted = await storage.query({ sort: { by: 'created', order: 'asc' }, first: 1, filter: { controller: A }, count: true })
        expect(counted.count).toBe(2)
      })

      it('writes no index record of a batch that fails, and keeps the one before', async () => {
        const changed: DocIndexRecord = { ...records.alpha, tags: ['black'] }
        const fresh: DocIndexRecord = { ...records.beta, createdAt: T0 + 500 }
        const failing = storage.batch()
          .putHead(ids.target1, headFor(fresh, ids.genesis)).putIndex(ids.target1, fresh)
          .putIndex(ids.doc.alpha, changed)
          .putHead(ids.doc.alpha, headFor(changed, ids.genesis, { ratio: Number.NaN }))
        await expectRejection(failing.commit(), 'StorageError')
        expect(await storage.getIndexRecord(ids.target1)).toBeUndefined()
        expect(await storage.getIndexRecord(ids.doc.alpha)).toEqual(records.alpha)
        expect(await find({ tags: { any: ['black'] } })).toEqual([])
        expect(await find({ tags: { any: ['red'] } })).toEqual(['alpha', 'beta', 'zeta'])
        expect(await find(undefined)).toEqual([...NAMES])
      })

      it('keeps its own copy of a record: changing the object after putIndex changes nothing stored', async () => {
        const record: DocIndexRecord = { ...records.gamma, tags: ['mine'], createdAt: T0 + 500 }
        const batch = storage.batch().putHead(ids.target1, headFor(record, ids.genesis)).putIndex(ids.target1, record)
        record.tags.push('intruder')
        await batch.commit()
        expect(await find({ tags: { any: ['intruder'] } })).toEqual([])
        const read = await storage.getIndexRecord(ids.target1)
        read!.tags.push('intruder')
        expect((await storage.getIndexRecord(ids.target1))!.tags).toEqual(['mine'])
      })
    })
  })
}

async function expectRejection (promise: Promise<unknown>, name: string): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, `expected a rejection with ${name}`).toBeInstanceOf(Error)
  expect((err as Error).name).toBe(name)
  return err as Error
}
