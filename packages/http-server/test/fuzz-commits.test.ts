import { DocID, parseDocOrCommitID } from '@kiln/docid'
import { fuzzTest } from '@kiln/interface-tests/fuzz'
import { makeUpdate } from '@kiln/doctype-tile'
import { afterAll, describe, expect } from 'vitest'
import { commitCidOf, deterministicGenesisJSON, idsOf, makeDocuments, unknownIds } from './fixtures/fuzz-documents.js'
import { encodeSegment, fc, fuzzServer, idSegments, jsonBodies, oddHeaders, paramOf, request, type Answer, type Body, ROUTE_FUZZ_RUNS } from './fixtures/fuzz-http.js'
import { alice, bob } from './fixtures/harness.js'

// The commit routes under fuzzed ids and bodies: POST /commits, GET /commits/:id, POST /multiqueries.

/** The JSON a body's text holds: the server answered 2xx, so it must be JSON. */
function jsonOf (body: Body | undefined): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  const payload = body?.payload
  return JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload))
}

// No anchor service: nothing is written in the background, so a refused request can be checked for writes.
const server = await fuzzServer()
// Each document has a chain of signed updates made ahead: sent in any order, those on the tip apply, the rest conflict.
const docs = await makeDocuments(server.node, 6, 2, 12)
const ids = [...idsOf(docs), ...await unknownIds(3)]

// A document whose content links to others, so that multiqueries' `paths` lead somewhere.
const [linker] = await makeDocuments(server.node, 1, 0)
await server.node.applyCommit(linker!.id, (await makeUpdate(linker!.state, {
  first: docs[0]!.id.toString(), nested: { second: docs[1]!.commitIds[1]! }, list: [docs[2]!.id.toString()], broken: 'k-not-an-id'
}, alice)).commit, { anchor: false })
// Deterministic documents no node has yet: a multiquery that brings the genesis creates them.
const families = ['mq-a', 'mq-b', 'mq-c', 'mq-d']
const unknownGeneses = await Promise.all(families.map(async (family, i) => await deterministicGenesisJSON(i % 2 === 0 ? alice : bob, family)))
const created = await Promise.all(unknownGeneses.map(async (genesis) => new DocID(0, await commitCidOf(genesis)).toString()))
const unknown = await unknownIds(2)
// Queries by CommitID with the genesis of a document the node lacks: at its genesis, and at a commit it does not have.
const atCommit = await Promise.all(['mq-e', 'mq-f'].map(async (family, i) => {
  const genesis = await deterministicGenesisJSON(alice, family)
  const id = new DocID(0, await commitCidOf(genesis))
  return { streamId: (i === 0 ? id.atCommit(0) : id.atCommit(DocID.fromString(unknown[0]!).cid)).toString(), genesis }
}))

afterAll(async () => { await server.close() })

describe('POST /api/v0/commits', () => {
  const valid = docs.flatMap((doc) => doc.pending.map((commit, i) => ({
    // the DocID, or a CommitID of the document (its base is what counts)
    streamId: i % 3 === 2 ? doc.commitIds[0]! : doc.id.toString(),
    commit,
    ...(i % 2 === 0 ? { opts: { anchor: false, publish: false } } : {})
  })))
  // Commits sent to the wrong document: valid JSON, valid ids, refused by the node.
  const crossed = docs.map((doc, i) => ({ streamId: docs[(i + 1) % docs.length]!.id.toString(), commit: doc.pending[0] }))
  fuzzTest({
    name: 'http.commits.apply',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({
      body: fc.oneof({ arbitrary: jsonBodies(fc.constantFrom(...valid)), weight: 9 }, { arbitrary: jsonBodies(fc.constantFrom(...crossed)), weight: 1 }),
      headers: oddHeaders
    }),
    run: async ({ body, headers }) => await request(server.api, { method: 'POST', url: '/api/v0/commits', headers, body }),
    errors: ['InvalidRequestError', 'InvalidDocIDError', 'CodecError', 'InvalidCommitError', 'DocumentNotFoundError', 'ConflictingCommitError',
      'InvalidSignatureError', 'UnauthorizedSignerError', 'UnsupportedDIDMethodError', 'DIDResolutionError', 'DoctypeRuleError', 'InvalidRulesError', 'RuleViolationError', 'UnsupportedChainError', 'RequestTooLargeError'],
    writes: () => server.writes(),
    accepted: async ({ body }, result) => {
      // The commit sent is now on the log of the document named, which is the one answered.
      const answer = (result as Answer).json as { streamId: string, state: { log: Array<{ cid: string }> } }
      expect(body.contentType?.toLowerCase()).toMatch(/^application\/json\s*(;|$)/)
      const sent = jsonOf(body)
      const ref = parseDocOrCommitID(sent.streamId)
      expect(answer.streamId).toBe(ref.baseID.toString())
      const { state } = await server.node.load(ref.baseID)
      expect(state.log.map((entry) => entry.cid.toString())).toContain(await commitCidOf(sent.commit))
      expect(answer.state.log.map((entry) => entry.cid)).toEqual(state.log.map((entry) => entry.cid.toString()))
    }
  })
})

describe('GET /api/v0/commits/:id', () => {
  fuzzTest({
    name: 'http.commits.get',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ id: idSegments(ids), headers: oddHeaders }),
    run: async ({ id, headers }) => await request(server.api, { method: 'GET', url: `/api/v0/commits/${encodeSegment(id)}${id.query}`, headers }),
    errors: ['InvalidRequestError', 'InvalidDocIDError', 'DocumentNotFoundError'],
    writes: () => server.writes(),
    accepted: async (_input, result) => {
      // The id routed parses, and the answer is the log the node has for it.
      const answer = result as Answer
      const ref = parseDocOrCommitID(paramOf(answer, /^\/api\/v0\/commits\/([^/]*)$/))
      const json = answer.json as { streamId: string, commits: Array<{ cid: string }> }
      expect(json.streamId).toBe(ref.baseID.toString())
      const log = await server.node.loadLog(ref)
      expect(json.commits.map((commit) => commit.cid)).toEqual(log.map((item) => item.cid.toString()))
    }
  })
})

describe('POST /api/v0/multiqueries', () => {
  const valid: unknown[] = [
    { queries: [{ streamId: docs[0]!.id.toString() }] },
    { queries: [{ streamId: docs[3]!.commitIds[1]! }, { streamId: docs[4]!.id.toString(), paths: [] }], timeout: 5000 },
    { queries: [{ streamId: linker!.id.toString(), paths: ['/first', '/nested/second', '/list/0', '/broken', '/missing/deeper'] }] },
    { queries: [{ streamId: unknown[0]! }, { streamId: docs[5]!.id.toString(), opts: { sync: 0 } }] },
    ...created.map((streamId, i) => ({ queries: [{ streamId, genesis: unknownGeneses[i] }, { streamId: docs[i]!.id.toString() }] })),
    ...atCommit.map((query) => ({ queries: [query] })),
    { queries: [] }
  ]
  fuzzTest({
    name: 'http.multiqueries',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ body: jsonBodies(fc.constantFrom(...valid)), headers: oddHeaders }),
    run: async ({ body, headers }) => await request(server.api, { method: 'POST', url: '/api/v0/multiqueries', headers, body }),
    errors: ['InvalidRequestError', 'InvalidDocIDError', 'CodecError', 'InvalidCommitError', 'UnknownDoctypeError',
      'InvalidSignatureError', 'UnauthorizedSignerError', 'UnsupportedDIDMethodError', 'DIDResolutionError', 'DoctypeRuleError', 'InvalidRulesError', 'RuleViolationError', 'RequestTooLargeError'],
    writes: () => server.writes(),
    accepted: async ({ body }, result) => {
      // Every query's id parses, a genesis sent is its id's, and every document answered is one the node holds.
      expect(body.contentType?.toLowerCase()).toMatch(/^application\/json\s*(;|$)/)
      const sent = jsonOf(body) as { queries: Array<{ streamId: string, genesis?: unknown }> }
      for (const query of sent.queries) {
        const ref = parseDocOrCommitID(query.streamId)
        if (query.genesis !== undefined) expect(await commitCidOf(query.genesis)).toBe(ref.baseID.cid.toString())
      }
      const answer = (result as Answer).json as Record<string, { log: Array<{ cid: string }> }>
      for (const [key, state] of Object.entries(answer)) {
        const ref = parseDocOrCommitID(key)
        expect(ref.toString()).toBe(key)
        expect(state.log[0]!.cid).toBe(ref.baseID.cid.toString())
        const loaded = await server.node.load(ref)
        expect(state.log.map((entry) => entry.cid)).toEqual(loaded.state.log.map((entry) => entry.cid.toString()))
      }
    }
  })
})
