import { makeGenesis } from '@kiln/doctype-tile'
import { parseDocOrCommitID } from '@kiln/docid'
import { fuzzTest } from '@kiln/interface-tests/fuzz'
import { afterAll, describe, expect } from 'vitest'
import { alice, bob } from './fixtures/harness.js'
import { idsOf, makeDocuments, unknownIds } from './fixtures/fuzz-documents.js'
import { encodeSegment, fc, fuzzServer, idSegments, jsonBodies, oddHeaders, paramOf, request, type Answer, type Body, ROUTE_FUZZ_RUNS } from './fixtures/fuzz-http.js'

// The query routes under fuzzed bodies and ids: POST /kiln/query and GET /kiln/streams/:id/backlinks. A query only
// reads, so no request of either route may write anything.

const server = await fuzzServer()
const docs = await makeDocuments(server.node, 4, 1)
const targets = docs.slice(0, 2).map((doc) => doc.id.toString())
// Documents that link to the first two, in content at several depths, under a family and tags a query can name.
for (let i = 0; i < 6; i++) {
  const content = { title: `note ${i}`, rank: i, ref: `ceramic://${targets[i % 2]!}`, nested: { refs: i % 3 === 0 ? [targets[1]] : [] } }
  const { commit } = await makeGenesis(content, { family: i % 2 === 0 ? 'notes' : 'drafts', tags: [`t${i % 3}`] }, i % 2 === 0 ? alice : bob)
  await server.node.createDocument('tile', commit, { anchor: false })
}
const ids = [...idsOf(docs), ...await unknownIds(2)]

afterAll(async () => {
  await server.close()
})

const DIDS = [alice.did, bob.did]
const paths = fc.constantFrom('/title', '/rank', '/ref', '/nested/refs/0', '/missing', '/nested', '')
const scalars = fc.oneof(fc.constantFrom('note 1', 'note 4', 0, 3, 5, null, true), fc.string({ maxLength: 8 }), fc.integer({ min: -2, max: 8 }))
const condition = fc.oneof(
  fc.record({ equalTo: scalars }), fc.record({ notEqualTo: scalars }), fc.record({ in: fc.array(scalars, { maxLength: 4 }) }),
  fc.record({ notIn: fc.array(scalars, { maxLength: 4 }) }), fc.record({ gt: fc.oneof(fc.integer({ min: -1, max: 6 }), fc.constantFrom('note 2', 'a')) }),
  fc.record({ lte: fc.integer({ min: -1, max: 6 }) }), fc.record({ isNull: fc.boolean() }), fc.record({ exists: fc.boolean() })
)
const leaf = fc.oneof(
  fc.record({ family: fc.constantFrom('notes', 'drafts', 'none') }),
  fc.record({ controller: fc.constantFrom(...DIDS) }),
  fc.record({ doctype: fc.constantFrom('tile', 0, 1, 'caip10-link') }),
  fc.record({ tags: fc.oneof(fc.record({ all: fc.array(fc.constantFrom('t0', 't1', 't2'), { maxLength: 2 }) }), fc.record({ any: fc.array(fc.constantFrom('t0', 't1', 'tx'), { maxLength: 2 }) })) }),
  fc.record({ linksTo: fc.constantFrom(...targets, ...targets.map((id) => `ceramic://${id}`)) }),
  fc.record({ content: fc.tuple(paths, condition).map(([path, op]) => ({ path, ...op })) }),
  fc.record({ created: fc.record({ after: fc.constantFrom(0, '2020-01-01T00:00:00Z') }, { requiredKeys: [] }) })
)
const filters: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  filter: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.record({ and: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ or: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }), fc.record({ not: tie('filter') }))
})).filter
const queries = fc.record({
  filter: filters,
  sort: fc.oneof(fc.record({ by: fc.constantFrom('created', 'updated', 'anchored'), order: fc.constantFrom('asc', 'desc') }), fc.record({ by: fc.constant('content'), path: paths, order: fc.constantFrom('asc', 'desc') })),
  first: fc.integer({ min: 1, max: 12 }),
  count: fc.boolean()
}, { requiredKeys: [] })

/** The DocIDs of a page answered over HTTP. */
function idsOfPage (answer: Answer): string[] {
  return (answer.json as { items: Array<{ streamId: string }> }).items.map((item) => item.streamId)
}

describe('POST /api/v0/kiln/query', () => {
  fuzzTest<{ body: Body, headers: Record<string, string> }>({
    name: 'http.kiln.query',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ body: jsonBodies(queries), headers: oddHeaders }),
    run: async ({ body, headers }) => await request(server.api, { method: 'POST', url: '/api/v0/kiln/query', headers, body }),
    errors: ['InvalidRequestError', 'InvalidQueryError', 'QueryTooBroadError', 'UnknownDoctypeError', 'RequestTooLargeError'],
    writes: () => server.writes(),
    accepted: async ({ body }, result) => {
      // The body was a JSON query, and the page is the node's own answer to it, each state its document's.
      const answer = result as Answer
      // As the server read it: a lone surrogate in the text is sent as U+FFFD.
      const query = JSON.parse(Buffer.from(String(body.payload), 'utf8').toString('utf8')) as Record<string, unknown>
      const page = await server.node.query(query)
      expect(idsOfPage(answer)).toEqual(page.items.map((item) => item.id.toString()))
      expect((answer.json as { pageInfo: unknown }).pageInfo).toEqual(page.pageInfo)
      if (query.count === true) expect((answer.json as { count: unknown }).count).toBe(page.count)
    }
  })
})

describe('GET /api/v0/kiln/streams/:id/backlinks', () => {
  fuzzTest({
    name: 'http.kiln.backlinks',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({
      id: idSegments(ids),
      first: fc.option(fc.oneof(fc.integer({ min: 0, max: 1200 }).map(String), fc.constantFrom('x', '-1', '1.5', '')), { nil: undefined }),
      headers: oddHeaders
    }),
    run: async ({ id, first, headers }) => {
      const page = first === undefined ? '' : `${id.query === '' ? '?' : '&'}first=${encodeURIComponent(first)}`
      return await request(server.api, { method: 'GET', url: `/api/v0/kiln/streams/${encodeSegment(id)}/backlinks${id.query}${page}`, headers })
    },
    errors: ['InvalidRequestError', 'InvalidDocIDError', 'InvalidQueryError'],
    writes: () => server.writes(),
    accepted: async ({ first }, result) => {
      // The id routed parses, and every document answered links to it: the node's own backlinks, in order.
      const answer = result as Answer
      const target = parseDocOrCommitID(paramOf(answer, /^\/api\/v0\/kiln\/streams\/([^/]*)\/backlinks$/)).baseID
      const page = await server.node.backlinks(target, first === undefined ? {} : { first: Number(first) })
      expect(idsOfPage(answer)).toEqual(page.items.map((item) => item.id.toString()))
      for (const item of page.items) expect(JSON.stringify(item.state.content)).toContain(target.toString())
    }
  })
})
