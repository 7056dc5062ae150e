import { mockAnchor } from '@kiln/anchor-mock'
import { DocID, parseDocOrCommitID } from '@kiln/docid'
import { fuzzTest } from '@kiln/interface-tests/fuzz'
import { afterAll, describe, expect } from 'vitest'
import { commitCidOf, deterministicGenesisJSON, freshGeneses, idsOf, makeDocuments, unknownIds } from './fixtures/fuzz-documents.js'
import { encodeSegment, fc, fuzzServer, idSegments, jsonBodies, oddHeaders, paramOf, request, type Answer, type Body, type IdSegment, ROUTE_FUZZ_RUNS } from './fixtures/fuzz-http.js'
import { alice, bob } from './fixtures/harness.js'

// Ceramic's document routes under fuzzed ids and bodies: POST /streams, GET /streams/:id, POST /streams/:id/anchor.

/** Refusals a document route may answer: the request's, the commit's and the document's. */
const REFUSALS = ['InvalidRequestError', 'InvalidDocIDError', 'CodecError', 'InvalidCommitError', 'UnknownDoctypeError', 'DocumentNotFoundError',
  'InvalidSignatureError', 'UnauthorizedSignerError', 'UnsupportedDIDMethodError', 'DIDResolutionError', 'DoctypeRuleError', 'InvalidRulesError', 'RuleViolationError', 'UnsupportedChainError', 'RequestTooLargeError']

/** The JSON a body's text holds: the server answered 2xx, so it must be JSON. */
function jsonOf (body: Body | undefined): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  const payload = body?.payload
  return JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload))
}

/** Checks that an accepted request was sent as JSON. */
function expectJsonType (body: Body | undefined): void {
  expect(body?.contentType?.toLowerCase()).toMatch(/^application\/json\s*(;|$)/)
}

// No anchor service: nothing is written in the background, so a refused request can be checked for writes.
const server = await fuzzServer()
const docs = await makeDocuments(server.node, 6)
const ids = [...idsOf(docs), ...await unknownIds(3)]
const geneses = await freshGeneses(24)
const deterministic = [await deterministicGenesisJSON(alice, 'fuzz'), await deterministicGenesisJSON(bob, 'fuzz-b')]
const createBodies: unknown[] = [
  ...geneses.map((genesis, i) => ({ type: i % 2 === 0 ? 0 : 'tile', genesis, ...(i % 4 === 0 ? { opts: { anchor: false, pin: i % 8 === 0, publish: true } } : {}) })),
  ...deterministic.map((genesis) => ({ type: 0, genesis }))
]

// An anchor service that mines only once an hour, so that anchor requests are answered but never anchored under test.
const anchoring = await fuzzServer({}, { anchors: [mockAnchor({ intervalMs: 3_600_000 })] })
const anchorDocs = await makeDocuments(anchoring.node, 6)
const anchorIds = [...idsOf(anchorDocs), ...await unknownIds(2)]

afterAll(async () => {
  await server.close()
  await anchoring.close()
})

describe('POST /api/v0/streams', () => {
  fuzzTest({
    name: 'http.streams.create',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ body: jsonBodies(fc.constantFrom(...createBodies)), headers: oddHeaders }),
    run: async ({ body, headers }) => await request(server.api, { method: 'POST', url: '/api/v0/streams', headers, body }),
    errors: REFUSALS,
    writes: () => server.writes(),
    accepted: async ({ body }, result) => {
      // A document was made from exactly the genesis sent, of the doctype asked for, and the node holds it.
      const answer = (result as Answer).json as { streamId: string, state: { log: Array<{ cid: string }> } }
      expectJsonType(body)
      const sent = jsonOf(body)
      const id = DocID.fromString(answer.streamId)
      expect(id.type).toBe(sent.type === 'tile' ? 0 : sent.type)
      expect(id.cid.toString()).toBe(await commitCidOf(sent.genesis))
      const { state } = await server.node.load(id)
      expect(answer.state.log.map((entry) => entry.cid)).toEqual(state.log.map((entry) => entry.cid.toString()))
    }
  })
})

describe('GET /api/v0/streams/:id', () => {
  fuzzTest({
    name: 'http.streams.get',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ id: idSegments(ids), headers: oddHeaders }),
    run: async ({ id, headers }) => await request(server.api, { method: 'GET', url: `/api/v0/streams/${encodeSegment(id)}${id.query}`, headers }),
    errors: ['InvalidRequestError', 'InvalidDocIDError', 'DocumentNotFoundError'],
    writes: () => server.writes(),
    accepted: async (_input, result) => {
      // The id routed parses, and the answer is that document's state at it.
      const answer = result as Answer
      const ref = parseDocOrCommitID(paramOf(answer, /^\/api\/v0\/streams\/([^/]*)$/))
      const json = answer.json as { streamId: string, state: { log: Array<{ cid: string }> } }
      expect(json.streamId).toBe(ref.baseID.toString())
      const { state } = await server.node.load(ref)
      expect(json.state.log.map((entry) => entry.cid)).toEqual(state.log.map((entry) => entry.cid.toString()))
    }
  })
})

/** Input of the anchor route: an id, and a body that may be left out. */
interface AnchorInput { id: IdSegment, body: Body, headers: Record<string, string> }

describe('POST /api/v0/streams/:id/anchor', () => {
  const bodies = jsonBodies(fc.constantFrom<unknown>({}, { opts: {} }, { opts: { chainId: 'inmemory:12345' } }, { opts: { chainId: 'inmemory:12345', sync: 1 } }))
  fuzzTest<AnchorInput>({
    name: 'http.streams.anchor',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ id: idSegments(anchorIds), body: fc.oneof(bodies, fc.constant({})), headers: oddHeaders }),
    run: async ({ id, body, headers }) => await request(anchoring.api, { method: 'POST', url: `/api/v0/streams/${encodeSegment(id)}/anchor${id.query}`, headers, body }),
    errors: [...REFUSALS],
    writes: () => anchoring.writes(),
    accepted: async (_input, result) => {
      // The id routed parses and names a document of the node, whose anchor status is the one answered.
      const answer = result as Answer
      const ref = parseDocOrCommitID(paramOf(answer, /^\/api\/v0\/streams\/([^/]*)\/anchor$/))
      const json = answer.json as { streamId: string, anchorStatus: string }
      expect(json.streamId).toBe(ref.baseID.toString())
      expect(['PENDING', 'PROCESSING', 'ANCHORED']).toContain(json.anchorStatus)
      await anchoring.node.load(ref.baseID)
    }
  })
})
