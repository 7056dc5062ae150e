import { commitToJSON } from '@kiln/codec'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { fuzzTest } from '@kiln/interface-tests/fuzz'
import type { DocState, SignedCommit } from '@kiln/interface'
import { cacaoSessionSigner, capabilityURI, encodeCacao, keyDidSigner, signCacao, signDagJWS, type Cacao } from '@kiln/signing'
import { afterAll, describe, expect } from 'vitest'
import { commitCidOf } from './fixtures/fuzz-documents.js'
import { fc, fuzzServer, jsonBodies, oddHeaders, request, type Answer } from './fixtures/fuzz-http.js'

// POST /commits with commits signed under CACAOs (did:pkh sessions), `cacaoBlock` beside `jws` and `linkedBlock`:
// valid ones, and ones whose CACAO is expired, for another session or document, tampered with or missing.

const T0 = Date.parse('2026-06-01T10:00:00.000Z')
const HOUR = 3600 * 1000
const ethKey = new Uint8Array(32).fill(0xe7)
const session = keyDidSigner({ seed: new Uint8Array(32).fill(0x5e) })
const otherSession = keyDidSigner({ seed: new Uint8Array(32).fill(0x5f) })

async function grant (init: Partial<Parameters<typeof signCacao>[0]> = {}): Promise<Cacao> {
  return await signCacao({ privateKey: ethKey, sessionDid: session.did, issuedAt: new Date(T0 - HOUR), expiresAt: new Date(T0 + HOUR), nonce: 'fuzz', ...init })
}

/** A signer that uses `cacao` whatever it grants (what a hostile client sends). */
async function anyCacaoSigner (cacao: Cacao): Promise<Parameters<typeof makeUpdate>[2] & { cacaoBlock: Awaited<ReturnType<typeof encodeCacao>> }> {
  const block = await encodeCacao(cacao)
  return { did: cacao.p.iss, cacaoBlock: block, createDagJWS: async (cid) => await signDagJWS({ alg: session.alg, kid: session.kid, sign: session.sign, cap: capabilityURI(block.cid) }, cid) }
}

// The node's clock is fixed: nothing expires while the suite runs, and the expired CACAO stays expired.
const server = await fuzzServer({}, { now: () => T0 })
afterAll(async () => { await server.close() })

const signer = await cacaoSessionSigner(await grant(), session)
const docs: Array<{ id: string, state: DocState }> = []
for (let i = 0; i < 4; i++) {
  const { id, state } = await server.node.createDocument('tile', (await makeGenesis({ doc: i }, {}, signer)).commit, { anchor: false })
  docs.push({ id: id.toString(), state })
}
const hostile = {
  expired: await anyCacaoSigner(await grant({ issuedAt: new Date(T0 - 3 * HOUR), expiresAt: new Date(T0 - 2 * HOUR) })),
  audience: await anyCacaoSigner(await grant({ sessionDid: otherSession.did })),
  resource: await anyCacaoSigner(await grant({ resources: [`ceramic://${docs[1]!.id}`] })),
  tampered: await anyCacaoSigner({ ...await grant(), s: { t: 'eip191', s: `0x${'ab'.repeat(65)}` } })
}
const valid: Array<{ streamId: string, commit: Record<string, unknown> }> = []
for (const [i, doc] of docs.entries()) {
  // Each document's next update: a valid one, and the same update under each hostile CACAO or without its block.
  valid.push({ streamId: doc.id, commit: commitToJSON((await makeUpdate(doc.state, { doc: i, next: true }, signer)).commit) })
  for (const bad of Object.values(hostile)) valid.push({ streamId: doc.id, commit: commitToJSON((await makeUpdate(doc.state, { doc: i, bad: true }, bad)).commit) })
  const { cacaoBlock: _dropped, ...bare } = (await makeUpdate(doc.state, { doc: i, bare: true }, await cacaoSessionSigner(await grant({ nonce: 'unsent' }), session))).commit as SignedCommit
  valid.push({ streamId: doc.id, commit: commitToJSON(bare) })
}
const granted = (await encodeCacao(signer.cacao)).bytes

describe('POST /api/v0/commits under CACAOs', () => {
  fuzzTest({
    name: 'http.commits.apply-cacao',
    inputs: fc.record({ body: jsonBodies(fc.constantFrom(...valid)), headers: oddHeaders }),
    run: async ({ body, headers }) => await request(server.api, { method: 'POST', url: '/api/v0/commits', headers, body }),
    errors: ['InvalidRequestError', 'InvalidDocIDError', 'CodecError', 'InvalidCommitError', 'DocumentNotFoundError', 'ConflictingCommitError',
      'InvalidSignatureError', 'InvalidCapabilityError', 'UnauthorizedSignerError', 'UnsupportedDIDMethodError', 'DIDResolutionError', 'DoctypeRuleError', 'RequestTooLargeError'],
    writes: () => server.writes(),
    accepted: async ({ body }, result) => {
      // Only a commit under the CACAO that grants this session every document is ever written.
      const sent = JSON.parse(typeof body.payload === 'string' ? body.payload : new TextDecoder().decode(body.payload)) as { streamId: string, commit: { cacaoBlock?: string } }
      expect(Buffer.from(sent.commit.cacaoBlock ?? '', 'base64')).toEqual(Buffer.from(granted))
      const answer = (result as Answer).json as { state: { log: Array<{ cid: string }> } }
      expect(answer.state.log.map((e) => e.cid)).toContain(await commitCidOf(sent.commit))
    },
    runs: 1000
  })
})
