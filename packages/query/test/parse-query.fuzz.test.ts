import { expect } from 'vitest'
import { QUERY_LIMITS } from '@kiln/interface'
import type { QueryFilter, QuerySort, StorageQuery } from '@kiln/interface'
import { decodeCursor, encodeCursor, formatPointer, matchesFilter, parseQuery } from '@kiln/query'
import { fc, fuzzInputs, fuzzTest, mutatedJson, mutatedString } from '@kiln/interface-tests/fuzz'
import { doctypeCode, fixedIds } from './fixtures.js'

// parseQuery is what the HTTP API and the CLI hand user input to: any JSON must come back as a StorageQuery within
// the limits, or as InvalidQueryError. Inputs: generated valid queries (which must be accepted, and whose normal form
// must parse to itself), those mutated, and arbitrary JSON.

const ids = await fixedIds()
const options = { doctypeCode }

/** A generated input, and whether it was built valid (then it must be accepted). */
interface Input { query: unknown, valid: boolean }

const key = fc.constantFrom('a', 'b', 'title', '0', '1', '~', '/', 'a/b', 'é', '')
const pointer = fc.array(key, { maxLength: QUERY_LIMITS.maxPathDepth }).map(formatPointer)
const scalar = fc.oneof(fc.constantFrom(null, true, false, 0, -1, 2.5, '', 'x', 'é😀'), fc.integer(), fc.string({ maxLength: 8 }))
const json = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(key, scalar, { maxKeys: 3, noNullPrototype: true }))
const time = fc.oneof(
  fc.integer({ min: 0, max: 4_102_444_800_000 }),
  fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-01-31', '2026-01-31T12:00+02:00', '2024-02-29T23:59:59.5-05:30')
)
const range = fc.record({ after: time, before: time }, { requiredKeys: [] })
const condition = fc.oneof(
  json.map((v) => ({ equalTo: v })),
  json.map((v) => ({ notEqualTo: v })),
  fc.array(json, { minLength: 1, maxLength: 5 }).map((v) => ({ in: v })),
  fc.array(json, { minLength: 1, maxLength: 5 }).map((v) => ({ notIn: v })),
  fc.tuple(fc.constantFrom('gt', 'gte', 'lt', 'lte'), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 8 }))).map(([op, v]) => ({ [op]: v })),
  fc.boolean().map((v) => ({ isNull: v })),
  fc.boolean().map((v) => ({ exists: v }))
)
const id = fc.constantFrom(...ids.docs, ...ids.commits, ...ids.docs.map((d) => `ceramic://${d}`))
const leaf = fc.oneof(
  fc.constantFrom('tile', 'schema', 'caip10-link', 0, 1, 64).map((doctype) => ({ doctype })),
  fc.constantFrom('did:key:a', 'did:pkh:eip155:1:0xab').map((controller) => ({ controller })),
  fc.string({ maxLength: 8 }).map((family) => ({ family })),
  fc.tuple(fc.constantFrom('all', 'any'), fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 4 })).map(([mode, tags]) => ({ tags: { [mode]: tags } })),
  id.map((schema) => ({ schema })),
  id.map((linksTo) => ({ linksTo })),
  fc.tuple(pointer, condition).map(([path, c]) => ({ content: { path, ...c } })),
  fc.tuple(fc.constantFrom('created', 'updated', 'anchored'), range).map(([kind, r]) => ({ [kind]: r }))
)
const filter: fc.Arbitrary<unknown> = fc.letrec<{ filter: unknown }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('filter'), { minLength: 1, maxLength: 3 }).map((and) => ({ and })),
    fc.array(tie('filter'), { minLength: 1, maxLength: 3 }).map((or) => ({ or })),
    tie('filter').map((not) => ({ not }))
  )
})).filter
/** Nesting and term counts within the limits, so that a generated filter is valid by construction. */
function withinLimits (value: unknown, depth = 1): { terms: number, ok: boolean } {
  const node = value as Record<string, unknown>
  const list = node.and ?? node.or ?? (node.not === undefined ? undefined : [node.not])
  if (!Array.isArray(list)) return { terms: 1, ok: true }
  if (depth > QUERY_LIMITS.maxFilterDepth) return { terms: 0, ok: false }
  let terms = 0
  for (const member of list) {
    const inner = withinLimits(member, depth + 1)
    if (!inner.ok) return inner
    terms += inner.terms
  }
  return { terms, ok: terms <= QUERY_LIMITS.maxFilterTerms }
}
const sort = fc.oneof(
  fc.record({ by: fc.constantFrom('created', 'updated', 'anchored'), order: fc.constantFrom('asc', 'desc') }, { requiredKeys: ['by'] }),
  fc.record({ by: fc.constant('content'), path: pointer, order: fc.constantFrom('asc', 'desc') }, { requiredKeys: ['by', 'path'] })
)
const validQuery = fc.record({
  filter: filter.filter((f) => withinLimits(f).ok),
  sort,
  first: fc.integer({ min: 1, max: QUERY_LIMITS.maxPageSize }),
  count: fc.boolean()
}, { requiredKeys: [] })

const inputs: fc.Arbitrary<Input> = fc.oneof(
  { arbitrary: validQuery.map((query) => ({ query, valid: true })), weight: 2 },
  { arbitrary: fuzzInputs<unknown>(validQuery, mutatedJson, fc.jsonValue({ maxDepth: 4 })).map((query) => ({ query, valid: false })), weight: 8 }
)

/** The user form of a normalized query: parsing it again must give the same query. */
function userForm (query: StorageQuery): Record<string, unknown> {
  const filterForm = (f: QueryFilter): unknown => {
    if ('and' in f) return { and: f.and.map(filterForm) }
    if ('or' in f) return { or: f.or.map(filterForm) }
    if ('not' in f) return { not: filterForm(f.not) }
    if ('schema' in f) return { schema: 'doc' in f.schema ? f.schema.doc : f.schema.commit }
    if ('content' in f) return { content: { ...f.content, path: formatPointer(f.content.path) } }
    return f
  }
  const form: Record<string, unknown> = { sort: query.sort.by === 'content' ? { ...query.sort, path: formatPointer(query.sort.path) } : query.sort, first: query.first }
  if (query.filter !== undefined) form.filter = filterForm(query.filter)
  if (query.after !== undefined) form.after = query.after
  if (query.count !== undefined) form.count = query.count
  return form
}

/** A record to evaluate filters on: evaluation must never throw for any accepted filter. */
const record = {
  doctype: 0, controllers: ['did:key:a'], tags: ['a'], links: [ids.docs[0]!], family: '', content: { a: [1, { b: 'x' }], title: 'é' },
  createdAt: 1_800_000_000_000, updatedAt: 1_800_000_000_001
}

fuzzTest<Input>({
  name: 'query parseQuery',
  inputs,
  runs: 5_000,
  errors: ['InvalidQueryError'],
  run: ({ query, valid }) => {
    try {
      return parseQuery(query, options)
    } catch (err) {
      // A query built valid must be accepted: report a refusal as a crash, which the harness fails on.
      if (valid) throw new TypeError(`refused a valid query ${JSON.stringify(query)}: ${(err as Error).message}`)
      throw err
    }
  },
  accepted: (_input, result) => {
    const query = result as StorageQuery
    expect(query.first).toBeGreaterThanOrEqual(1)
    expect(query.first).toBeLessThanOrEqual(QUERY_LIMITS.maxPageSize)
    expect(parseQuery(userForm(query), options)).toEqual(query)
    if (query.filter !== undefined) expect(typeof matchesFilter(record, query.filter)).toBe('boolean')
    const cursor = encodeCursor(query.sort, { key: null, id: ids.docs[0]! })
    if (query.sort.by === 'anchored' || query.sort.by === 'content') expect(parseQuery({ ...userForm(query), after: cursor }, options).after).toBe(cursor)
  }
})

// Cursors come back from clients: any string must decode to a position of the sort, or be refused with
// InvalidQueryError. An accepted cursor encodes back to one that decodes to the same position.
const cursorSort: QuerySort = { by: 'content', path: ['a', 'b'], order: 'desc' }
const validCursor = fc.record({
  key: fc.oneof(fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 12 })),
  id: fc.constantFrom(...ids.docs)
}).map((position) => encodeCursor(cursorSort, position))

fuzzTest<string>({
  name: 'query decodeCursor',
  inputs: fuzzInputs(validCursor, mutatedString, fc.string({ maxLength: 64 })),
  runs: 3_000,
  errors: ['InvalidQueryError'],
  run: (cursor) => decodeCursor(cursor, cursorSort),
  accepted: (_cursor, position) => {
    const decoded = position as { key: number | string | null, id: string }
    expect(decodeCursor(encodeCursor(cursorSort, decoded), cursorSort)).toEqual(decoded)
  }
})
