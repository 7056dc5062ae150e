import { commitToJSON, encodeRecord, signRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { AnchorStatus, type DocState } from '@kiln/interface'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { alice, bob, call, createTile, startHarness, updateJSON, type Answer, type Harness } from './fixtures/harness.js'

/** A forged copy of a signed commit: another commit's (valid, canonical) signature under this one's payload. */
function withSignatureOf (commit: Record<string, unknown>, donor: Record<string, unknown>): Record<string, unknown> {
  const jws = commit.jws as { signatures: Array<{ protected: string, signature: string }> }
  const from = donor.jws as { signatures: Array<{ signature: string }> }
  return { ...commit, jws: { ...jws, signatures: [{ ...jws.signatures[0]!, signature: from.signatures[0]!.signature }] } }
}

describe('hostile requests', () => {
  let h: Harness
  let streamId: string
  let state: DocState
  let before: unknown
  let pinsBefore: string[]

  async function pins (): Promise<string[]> {
    return (await h.node.listPins()).map(String).sort()
  }

  /** Checks the answer's status and name, that nothing changed on the node, and that the server still answers. */
  async function expectRefused (answer: Answer, status: number, name: string): Promise<void> {
    expect({ status: answer.status, name: answer.json?.name }).toEqual({ status, name })
    expect(typeof answer.json.error).toBe('string')
    expect(await h.node.load(streamId)).toEqual(before)
    expect(await pins()).toEqual(pinsBefore)
    const health = await call(h.url, '/api/v0/node/healthcheck')
    expect(health.text).toBe('Alive!')
  }

  beforeEach(async () => {
    h = await startHarness()
    ;({ streamId, state } = await createTile(h.url, { name: 'Alice' }))
    before = await h.node.load(streamId)
    pinsBefore = await pins()
  })
  afterEach(async () => { await h.close() })

  it('refuses malformed JSON with 400 InvalidRequestError', async () => {
    const answer = await call(h.url, '/api/v0/commits', { body: '{"streamId": "k", "commit": ' })
    await expectRefused(answer, 400, 'InvalidRequestError')
    expect(answer.json.error).toMatch(/not valid JSON/)
    await expectRefused(await call(h.url, '/api/v0/streams', { body: '{"type":0,"genesis":{"__proto__":{"x":1}}}' }), 400, 'InvalidRequestError')
  })

  it('refuses a genesis that is a number, naming the field', async () => {
    const answer = await call(h.url, '/api/v0/streams', { body: { type: 0, genesis: 42 } })
    await expectRefused(answer, 400, 'InvalidRequestError')
    expect(answer.json.error).toMatch(/`genesis` must be object/)
    expect(answer.json.details).toEqual({ field: 'genesis', location: 'body' })
  })

  it('refuses a streamId that is an object, naming the field', async () => {
    const answer = await call(h.url, '/api/v0/commits', { body: { streamId: { id: streamId }, commit: await updateJSON(state, { name: 'B' }) } })
    await expectRefused(answer, 400, 'InvalidRequestError')
    expect(answer.json.error).toMatch(/`streamId` must be string/)
  })

  it('refuses queries that are not a list, and a query without a streamId', async () => {
    const answer = await call(h.url, '/api/v0/multiqueries', { body: { queries: { streamId } } })
    await expectRefused(answer, 400, 'InvalidRequestError')
    expect(answer.json.error).toMatch(/`queries` must be array/)
    const missing = await call(h.url, '/api/v0/multiqueries', { body: { queries: [{ paths: [] }] } })
    await expectRefused(missing, 400, 'InvalidRequestError')
    expect(missing.json.error).toMatch(/`queries.0.streamId` is required/)
  })

  it('refuses a missing type, a mistyped option and a body that is not JSON', async () => {
    const genesis = commitToJSON((await makeGenesis({ a: 1 }, {}, alice)).commit)
    const noType = await call(h.url, '/api/v0/streams', { body: { genesis } })
    await expectRefused(noType, 400, 'InvalidRequestError')
    expect(noType.json.error).toMatch(/`type` is required/)
    const badOpt = await call(h.url, '/api/v0/streams', { body: { type: 0, genesis, opts: { anchor: 'yes' } } })
    await expectRefused(badOpt, 400, 'InvalidRequestError')
    expect(badOpt.json.error).toMatch(/`opts.anchor` must be boolean/)
    const text = await call(h.url, '/api/v0/streams', { body: JSON.stringify({ type: 0, genesis }), headers: { 'content-type': 'text/plain' } })
    await expectRefused(text, 400, 'InvalidRequestError')
    const empty = await call(h.url, '/api/v0/streams', { method: 'POST', headers: { 'content-type': 'application/json' } })
    await expectRefused(empty, 400, 'InvalidRequestError')
  })

  it('refuses an oversized body with 413 RequestTooLargeError', async () => {
    const genesis = commitToJSON((await makeGenesis({ a: 1 }, {}, alice)).commit)
    const answer = await call(h.url, '/api/v0/streams', { body: { type: 0, genesis, padding: 'x'.repeat(1024 * 1024 + 1) } })
    await expectRefused(answer, 413, 'RequestTooLargeError')
  })

  it('refuses garbage DocIDs with 400 InvalidDocIDError wherever an id goes', async () => {
    await expectRefused(await call(h.url, '/api/v0/streams/garbage'), 400, 'InvalidDocIDError')
    await expectRefused(await call(h.url, '/api/v0/commits/kzzzzzzzzzzzz'), 400, 'InvalidDocIDError')
    await expectRefused(await call(h.url, `/api/v0/streams/${streamId.slice(0, -3)}/anchor`, { body: {} }), 400, 'InvalidDocIDError')
    await expectRefused(await call(h.url, '/api/v0/commits', { body: { streamId: 'nope', commit: await updateJSON(state, { name: 'B' }) } }), 400, 'InvalidDocIDError')
    const multi = await call(h.url, '/api/v0/multiqueries', { body: { queries: [{ streamId }, { streamId: 'k123' }] } })
    await expectRefused(multi, 400, 'InvalidDocIDError')
    expect(multi.json.error).toMatch(/queries\[1\]\.streamId/)
    await expectRefused(await call(h.url, `/api/v0/streams/k${'1'.repeat(5000)}`), 400, 'InvalidRequestError')
  })

  it('answers 404 DocumentNotFoundError for documents it does not have', async () => {
    const genesis = await makeGenesis({ x: 1 }, {}, alice)
    const unknown = new DocID('tile', genesis.envelope.cid).toString()
    const unknownState: DocState = {
      type: 0, content: { x: 1 }, metadata: { controllers: [alice.did] }, signature: 2, anchorStatus: AnchorStatus.NOT_REQUESTED,
      log: [{ cid: genesis.envelope.cid, type: 0 }]
    }
    const commit = await updateJSON(unknownState, { x: 2 })
    await expectRefused(await call(h.url, '/api/v0/commits', { body: { streamId: unknown, commit } }), 404, 'DocumentNotFoundError')
    await expectRefused(await call(h.url, `/api/v0/streams/${unknown}`), 404, 'DocumentNotFoundError')
    await expectRefused(await call(h.url, `/api/v0/commits/${unknown}`), 404, 'DocumentNotFoundError')
    await expectRefused(await call(h.url, `/api/v0/streams/${unknown}/anchor`, { body: {} }), 404, 'DocumentNotFoundError')
  })

  it('refuses a forged signature with 422 InvalidSignatureError', async () => {
    const update = await updateJSON(state, { name: 'Mallory' })
    const donor = await updateJSON(state, { name: 'Someone else' })
    await expectRefused(await call(h.url, '/api/v0/commits', { body: { streamId, commit: withSignatureOf(update, donor) } }), 422, 'InvalidSignatureError')
    const genesis = commitToJSON((await makeGenesis({ a: 1 }, {}, alice)).commit)
    const forgedGenesis = withSignatureOf(genesis, donor)
    await expectRefused(await call(h.url, '/api/v0/streams', { body: { type: 0, genesis: forgedGenesis } }), 422, 'InvalidSignatureError')
  })

  it('refuses an update signed by a non-controller with 422 UnauthorizedSignerError', async () => {
    const record = { id: state.log[0]!.cid, prev: state.log[state.log.length - 1]!.cid, header: {}, data: [{ op: 'replace', path: '/name', value: 'Bob' }] }
    const signed = await signRecord(record, bob)
    await expectRefused(await call(h.url, '/api/v0/commits', { body: { streamId, commit: commitToJSON(signed.commit) } }), 422, 'UnauthorizedSignerError')
  })

  it('refuses an update whose prev it does not know with 409 ConflictingCommitError', async () => {
    const stranger = await encodeRecord({ not: 'a commit of this document' })
    const stale: DocState = { ...state, log: [...state.log, { cid: stranger.cid, type: 1 }] }
    const update = commitToJSON((await makeUpdate(stale, { name: 'Later' }, alice)).commit)
    await expectRefused(await call(h.url, '/api/v0/commits', { body: { streamId, commit: update } }), 409, 'ConflictingCommitError')
  })

  it('refuses undecodable commits with 400 CodecError and unknown doctypes with 400 UnknownDoctypeError', async () => {
    const update = await updateJSON(state, { name: 'B' })
    const tampered = { ...update, linkedBlock: (update.linkedBlock as string).slice(0, -4) + 'AAAA' }
    await expectRefused(await call(h.url, '/api/v0/commits', { body: { streamId, commit: tampered } }), 400, 'CodecError')
    await expectRefused(await call(h.url, '/api/v0/commits', { body: { streamId, commit: { jws: 'nope' } } }), 400, 'CodecError')
    const genesis = commitToJSON((await makeGenesis({ a: 1 }, {}, alice)).commit)
    await expectRefused(await call(h.url, '/api/v0/streams', { body: { type: 'no-such-doctype', genesis } }), 400, 'UnknownDoctypeError')
  })

  it('refuses a multiquery genesis that is not the genesis of its streamId, creating nothing', async () => {
    const { record } = await makeGenesis(null, { controllers: [alice.did], deterministic: true })
    const other = await makeGenesis(null, { controllers: [bob.did], deterministic: true })
    const streamIdOfOther = new DocID('tile', other.block.cid).toString()
    const answer = await call(h.url, '/api/v0/multiqueries', { body: { queries: [{ streamId: streamIdOfOther, genesis: commitToJSON(record) }] } })
    await expectRefused(answer, 400, 'InvalidCommitError')
    await expect(h.node.load(streamIdOfOther)).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
  })

  it('answers an unknown route with 404 InvalidRequestError', async () => {
    await expectRefused(await call(h.url, '/api/v0/nope'), 404, 'InvalidRequestError')
    await expectRefused(await call(h.url, '/api/v0/streams', { method: 'PUT', body: {} }), 404, 'InvalidRequestError')
    await expectRefused(await call(h.url, '/api/v0/streams/%E0%A4%A'), 400, 'InvalidRequestError')
  })
})
