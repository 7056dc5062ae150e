import { mockAnchor, mockChainVerifier } from '@kiln/anchor-mock'
import { DocID, parseDocOrCommitID } from '@kiln/docid'
import { AnchorStatus, LogEntryType, type AnchorEvent } from '@kiln/interface'
import { fuzzTest } from '@kiln/interface-tests/fuzz'
import { keyDidSigner } from '@kiln/signing'
import { afterAll, describe, expect } from 'vitest'
import { idsOf, makeDocuments, unknownIds } from './fixtures/fuzz-documents.js'
import { byteBodies, encodeSegment, fc, fuzzServer, idSegments, oddHeaders, paramOf, request, type Answer, type Body, ROUTE_FUZZ_RUNS } from './fixtures/fuzz-http.js'

// Kiln's own routes under fuzzed ids and bodies: GET /kiln/streams/:id/export, POST /kiln/import,
// GET /kiln/streams/:id/watch and GET /kiln/streams/:id/log.

const CAR = 'application/vnd.ipld.car'

// The source of the exports: a chain that anchors each request at once, so that exports carry anchor proofs.
const chainSeed = new Uint8Array(32).fill(7)
const source = await fuzzServer({}, { anchors: [mockAnchor({ anchorOnRequest: true, seed: chainSeed })] })
const anchored = new Set<string>()
const allAnchored = new Promise<void>((resolve) => {
  source.node.onAnchorEvent((event: AnchorEvent) => {
    if (event.status === AnchorStatus.ANCHORED) anchored.add(event.docId)
    if (anchored.size >= 3) resolve()
  })
})
const sourceDocs = await makeDocuments(source.node, 12, 2)
for (const doc of sourceDocs.slice(0, 3)) await source.node.requestAnchor(doc.id)
await allAnchored
const exports = await Promise.all(sourceDocs.map(async (doc) => await source.node.exportDocument(doc.id)))

// The node under test verifies the source chain's anchors but runs no anchor service: nothing is written in the
// background, so a refused request can be checked for writes.
// At most 8 event streams: a watch whose slot is not freed when its client goes away soon makes every watch a 503.
const server = await fuzzServer({ maxEventStreams: 8 }, { anchors: [() => ({ verifier: mockChainVerifier({ chainDid: keyDidSigner({ seed: chainSeed }).did }) })] })
const docs = await makeDocuments(server.node, 4, 2)
// Three of the source's documents, anchored ones among them, are already here; the others arrive by import.
const imported = await Promise.all([0, 1, 5].map(async (i) => (await server.node.importDocument(exports[i]!)).id))
const ids = [...idsOf(docs), ...imported.flatMap((id) => [id.toString(), id.atCommit(0).toString()]), ...await unknownIds(3)]

afterAll(async () => {
  await server.close()
  await source.close()
})

const ID_REFUSALS = ['InvalidRequestError', 'InvalidDocIDError', 'DocumentNotFoundError']

describe('GET /api/v0/kiln/streams/:id/export', () => {
  fuzzTest({
    name: 'http.kiln.export',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ id: idSegments(ids), headers: oddHeaders }),
    run: async ({ id, headers }) => await request(server.api, { method: 'GET', url: `/api/v0/kiln/streams/${encodeSegment(id)}/export${id.query}`, headers }),
    errors: ID_REFUSALS,
    writes: () => server.writes(),
    accepted: async (_input, result) => {
      // The id routed parses, and the CAR is the node's export of its document.
      const answer = result as Answer
      const ref = parseDocOrCommitID(paramOf(answer, /^\/api\/v0\/kiln\/streams\/([^/]*)\/export$/))
      expect(answer.contentType).toBe(CAR)
      expect(Buffer.from(answer.bytes).equals(Buffer.from(await server.node.exportDocument(ref.baseID)))).toBe(true)
    }
  })
})

describe('POST /api/v0/kiln/import', () => {
  fuzzTest<{ body: Body, headers: Record<string, string> }>({
    name: 'http.kiln.import',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ body: byteBodies(fc.constantFrom(...exports), CAR), headers: oddHeaders }),
    run: async ({ body, headers }) => await request(server.api, { method: 'POST', url: '/api/v0/kiln/import', headers, body }),
    errors: ['InvalidRequestError', 'CodecError', 'InvalidCommitError', 'InvalidDocIDError', 'UnknownDoctypeError', 'DocumentNotFoundError', 'BlockNotFoundError',
      'ConflictingCommitError', 'InvalidSignatureError', 'UnauthorizedSignerError', 'UnsupportedDIDMethodError', 'DIDResolutionError', 'DoctypeRuleError',
      'SchemaValidationError', 'InvalidRulesError', 'RuleViolationError', 'InvalidAnchorProofError', 'UnsupportedChainError', 'RequestTooLargeError'],
    writes: () => server.writes(),
    accepted: async ({ body }, result) => {
      // A CAR was sent, it holds the genesis of the document answered, and the node now has that document's state.
      expect(body.contentType?.toLowerCase()).toMatch(/^application\/vnd\.ipld\.car\s*(;|$)/)
      const json = (result as Answer).json as { streamId: string, state: { log: Array<{ cid: string }> } }
      const id = DocID.fromString(json.streamId)
      const sent = Buffer.from(body.payload as Uint8Array)
      expect(sent.includes(Buffer.from(id.cid.bytes))).toBe(true)
      const { state } = await server.node.load(id)
      expect(json.state.log.map((entry) => entry.cid)).toEqual(state.log.map((entry) => entry.cid.toString()))
    }
  })
})

describe('GET /api/v0/kiln/streams/:id/watch', () => {
  // A watch that is accepted never ends: its answer is read up to the first event, then the client goes away.
  fuzzTest({
    name: 'http.kiln.watch',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ id: idSegments(ids), headers: oddHeaders }),
    run: async ({ id, headers }) => await request(server.api, { method: 'GET', url: `/api/v0/kiln/streams/${encodeSegment(id)}/watch${id.query}`, headers }),
    errors: ID_REFUSALS,
    writes: () => server.writes(),
    accepted: async (_input, result) => {
      // The id routed parses, and the first event is the current state of its document.
      const answer = result as Answer
      const ref = parseDocOrCommitID(paramOf(answer, /^\/api\/v0\/kiln\/streams\/([^/]*)\/watch$/))
      expect(answer.contentType).toMatch(/^text\/event-stream/)
      const [event, data] = answer.firstEvent!.split('\n')
      expect(event).toBe('event: state')
      const json = JSON.parse(data!.slice('data: '.length)) as { streamId: string, state: { log: Array<{ cid: string }> } }
      expect(json.streamId).toBe(ref.baseID.toString())
      const { state } = await server.node.load(ref.baseID)
      expect(json.state.log.map((entry) => entry.cid)).toEqual(state.log.map((entry) => entry.cid.toString()))
    }
  })
})

describe('GET /api/v0/kiln/streams/:id/log', () => {
  fuzzTest({
    name: 'http.kiln.log',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ id: idSegments(ids), headers: oddHeaders }),
    run: async ({ id, headers }) => await request(server.api, { method: 'GET', url: `/api/v0/kiln/streams/${encodeSegment(id)}/log${id.query}`, headers }),
    errors: ID_REFUSALS,
    writes: () => server.writes(),
    accepted: async (_input, result) => {
      // The id routed parses, and the log is its state's, each anchor with its proof.
      const answer = result as Answer
      const ref = parseDocOrCommitID(paramOf(answer, /^\/api\/v0\/kiln\/streams\/([^/]*)\/log$/))
      const json = answer.json as { streamId: string, log: Array<{ cid: string, type: number, proof?: unknown }> }
      expect(json.streamId).toBe(ref.baseID.toString())
      const { state } = await server.node.load(ref)
      expect(json.log.map((entry) => entry.cid)).toEqual(state.log.map((entry) => entry.cid.toString()))
      for (const entry of json.log) if (entry.type === LogEntryType.ANCHOR) expect(entry.proof).toMatchObject({ chainId: expect.any(String) })
    }
  })
})
