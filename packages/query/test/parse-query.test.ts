import { describe, it, expect, beforeAll } from 'vitest'
import { QUERY_LIMITS } from '@kiln/interface'
import { decodeCursor, encodeCursor, parseQuery } from '@kiln/query'
import { doctypeCode, fixedIds } from './fixtures.js'

let ids: { docs: string[], commits: string[] }
beforeAll(async () => { ids = await fixedIds() })

const parse = (input: unknown): ReturnType<typeof parseQuery> => parseQuery(input, { doctypeCode })

/** The `details.field` of the InvalidQueryError `input` is refused with. */
function refusedAt (input: unknown): unknown {
  try {
    parse(input)
  } catch (err) {
    expect((err as Error).name).toBe('InvalidQueryError')
    return (err as { details: { field?: unknown } }).details.field
  }
  throw new TypeError(`accepted ${JSON.stringify(input)}`)
}

describe('parseQuery', () => {
  it('fills in the defaults: every document, created ascending, 20 a page', () => {
    expect(parse({})).toEqual({ sort: { by: 'created', order: 'asc' }, first: 20 })
    expect(parse({ sort: { by: 'updated' }, first: 1000, count: false })).toEqual({ sort: { by: 'updated', order: 'asc' }, first: 1000, count: false })
  })

  it('normalizes doctype names, DocIDs, CommitIDs, JSON Pointers and times', () => {
    const query = parse({
      filter: {
        and: [
          { doctype: 'schema' },
          { schema: `ceramic://${ids.commits[0]!}` },
          { schema: ids.docs[1] },
          { linksTo: ids.commits[2] },
          { tags: { any: ['b', 'a', 'b'] } },
          { content: { path: '/a~1b/0/~0c', equalTo: { x: [1, null] } } },
          { created: { after: '2026-01-31T12:00:00+01:00', before: 1_800_000_000_000 } },
          { anchored: { after: '2026-02-01' } }
        ]
      },
      sort: { by: 'content', path: '', order: 'desc' }
    })
    expect(query).toEqual({
      filter: {
        and: [
          { doctype: 64 },
          { schema: { commit: ids.commits[0] } },
          { schema: { doc: ids.docs[1] } },
          { linksTo: ids.docs[2] },
          { tags: { any: ['a', 'b'] } },
          { content: { path: ['a/b', '0', '~c'], equalTo: { x: [1, null] } } },
          { created: { after: Date.UTC(2026, 0, 31, 11), before: 1_800_000_000_000 } },
          { anchored: { after: Date.UTC(2026, 1, 1) } }
        ]
      },
      sort: { by: 'content', path: [], order: 'desc' },
      first: 20
    })
  })

  it('names the field of every violation', () => {
    const cases: Array<[unknown, string]> = [
      [null, 'query'],
      [[], 'query'],
      [{ limit: 5 }, 'limit'],
      [{ first: 0 }, 'first'],
      [{ first: QUERY_LIMITS.maxPageSize + 1 }, 'first'],
      [{ first: 1.5 }, 'first'],
      [{ count: 'yes' }, 'count'],
      [{ after: 'not a cursor' }, 'after'],
      [{ sort: { by: 'title' } }, 'sort.by'],
      [{ sort: { by: 'content' } }, 'sort.path'],
      [{ sort: { by: 'created', path: '/a' } }, 'sort.path'],
      [{ sort: { by: 'created', order: 'up' } }, 'sort.order'],
      [{ sort: { by: 'content', path: 'a' } }, 'sort.path'],
      [{ filter: {} }, 'filter'],
      [{ filter: { family: 'a', controller: 'b' } }, 'filter'],
      [{ filter: { kind: 'a' } }, 'filter.kind'],
      [{ filter: { and: [] } }, 'filter.and'],
      [{ filter: { and: [{ doctype: 'tile' }, { content: { path: '/a', gt: true } }] } }, 'filter.and[1].content.gt'],
      [{ filter: { content: { path: '/a', gt: 1, lt: 2 } } }, 'filter.content.lt'],
      [{ filter: { content: { path: '/a', near: 1 } } }, 'filter.content.near'],
      [{ filter: { content: { path: '/a' } } }, 'filter.content'],
      [{ filter: { content: { equalTo: 1 } } }, 'filter.content.path'],
      [{ filter: { content: { path: '/a/b/c/d/e/f/g/h/i', exists: true } } }, 'filter.content.path'],
      [{ filter: { content: { path: '/a~2', exists: true } } }, 'filter.content.path'],
      [{ filter: { content: { path: '/a', in: [] } } }, 'filter.content.in'],
      [{ filter: { content: { path: '/a', in: Array.from({ length: 101 }, (_, i) => i) } } }, 'filter.content.in'],
      [{ filter: { content: { path: '/a', notIn: [1, { x: 'y'.repeat(2000) }] } } }, 'filter.content.notIn[1]'],
      [{ filter: { content: { path: '/a', equalTo: 'x'.repeat(1025) } } }, 'filter.content.equalTo'],
      [{ filter: { content: { path: '/a', gt: Number.POSITIVE_INFINITY } } }, 'filter.content.gt'],
      [{ filter: { content: { path: '/a', isNull: 'true' } } }, 'filter.content.isNull'],
      [{ filter: { doctype: 'nope' } }, 'filter.doctype'],
      [{ filter: { doctype: -1 } }, 'filter.doctype'],
      [{ filter: { controller: '' } }, 'filter.controller'],
      [{ filter: { family: 'x'.repeat(1025) } }, 'filter.family'],
      [{ filter: { tags: { some: ['a'] } } }, 'filter.tags'],
      [{ filter: { tags: { all: ['a', 1] } } }, 'filter.tags.all[1]'],
      [{ filter: { schema: 'kxyz' } }, 'filter.schema'],
      [{ filter: { linksTo: 42 } }, 'filter.linksTo'],
      [{ filter: { created: { after: '2026-02-30' } } }, 'filter.created.after'],
      [{ filter: { created: { after: '2026-01-31T12:00:00' } } }, 'filter.created.after'],
      [{ filter: { updated: { since: 1 } } }, 'filter.updated.since'],
      [{ filter: { anchored: { before: 1.5 } } }, 'filter.anchored.before'],
      [{ filter: { not: { not: { not: { not: { not: { not: { not: { not: { not: { family: 'a' } } } } } } } } } } }, 'filter.not.not.not.not.not.not.not.not.not']
    ]
    for (const [input, field] of cases) expect(refusedAt(input), JSON.stringify(input).slice(0, 200)).toBe(field)
  })

  it('allows 8 levels of nesting and 64 terms, not more', () => {
    let nested: unknown = { family: 'a' }
    for (let i = 0; i < QUERY_LIMITS.maxFilterDepth; i++) nested = { not: nested }
    expect(() => parse({ filter: nested })).not.toThrow()
    const terms = (n: number): unknown => ({ or: [{ and: Array.from({ length: n - 1 }, () => ({ family: 'a' })) }, { family: 'b' }] })
    expect(() => parse({ filter: terms(QUERY_LIMITS.maxFilterTerms) })).not.toThrow()
    expect(refusedAt({ filter: terms(QUERY_LIMITS.maxFilterTerms + 1) })).toBe('filter.or[1].family')
  })

  it('takes a cursor of the same sort only', () => {
    const cursor = encodeCursor({ by: 'updated', order: 'desc' }, { key: 5, id: ids.docs[0]! })
    expect(parse({ sort: { by: 'updated', order: 'desc' }, after: cursor }).after).toBe(cursor)
    expect(decodeCursor(cursor, { by: 'updated', order: 'desc' })).toEqual({ key: 5, id: ids.docs[0] })
    expect(refusedAt({ sort: { by: 'updated' }, after: cursor })).toBe('after')
    expect(refusedAt({ sort: { by: 'created', order: 'desc' }, after: cursor })).toBe('after')
    const content = encodeCursor({ by: 'content', path: ['a'], order: 'asc' }, { key: 'é', id: ids.docs[1]! })
    expect(decodeCursor(content, { by: 'content', path: ['a'], order: 'asc' })).toEqual({ key: 'é', id: ids.docs[1] })
    expect(refusedAt({ sort: { by: 'content', path: '/b' }, after: content })).toBe('after')
    // A time sort's cursor never holds a string key.
    const forged = Buffer.from(JSON.stringify({ s: ['created', 'asc'], k: 'x', id: 'k1' })).toString('base64url')
    expect(refusedAt({ after: forged })).toBe('after')
  })
})
