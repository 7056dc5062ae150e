import { bytesToBase64 } from '@kiln/codec'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import vectors from './fixtures/ceramic-tile-vectors.json' with { type: 'json' }
import { createTile, ctx, handlerOf, nextState, signerOf, stateFrom, unsignedGenesis, verified } from './fixtures/tile.js'

// The vectors are what Ceramic's TileDocument.makeGenesis/makeCommit produce, recorded with Ceramic's own DID stack
// (dids + key-did-provider-ed25519) by fixtures/ceramic-tile-vectors.mjs. @ceramicnetwork/stream-tile itself is not
// installed here; the script follows its code (headerFromMetadata, makeGenesis, _makeRawCommit) step by step.
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const alice = signerOf(vectors.seedByte)
const bob = signerOf(vectors.otherSeedByte)
const handler = handlerOf()

describe('compatibility with Ceramic\'s TileDocument', () => {
  it('uses the same DIDs as the vectors', () => {
    expect([alice.did, bob.did]).toEqual([vectors.did, vectors.otherDid])
  })

  it('makes a signed genesis byte for byte like TileDocument.makeGenesis', async () => {
    const { genesis: v } = vectors
    const genesis = await makeGenesis(v.content, { ...v.metadata, unique: v.unique }, alice)
    expect(genesis.record).toEqual({ header: v.header, data: v.content })
    expect(hex(genesis.payload.bytes)).toBe(v.linkedBlockHex)
    expect(genesis.payload.cid.toString()).toBe(v.payloadCid)
    expect({ payload: genesis.commit.jws.payload, signatures: genesis.commit.jws.signatures }).toEqual(v.jws)
    expect(genesis.envelope.cid.toString()).toBe(v.cid)
  })

  it('makes a deterministic genesis with the same CID as TileDocument.deterministic', async () => {
    const { deterministic: v } = vectors
    const genesis = await makeGenesis(null, { controllers: [alice.did], ...v.metadata, deterministic: true })
    expect(genesis.record).toEqual({ header: v.header })
    expect(hex(genesis.block.bytes)).toBe(v.bytesHex)
    expect(genesis.block.cid.toString()).toBe(v.cid)
    expect(await handler.apply(null, unsignedGenesis(genesis), ctx)).toEqual({ content: {}, metadata: v.header })
  })

  it('makes updates byte for byte like TileDocument.makeCommit, with header {} and the same patch', async () => {
    const { state } = await createTile(handler, await makeGenesis(vectors.genesis.content, { ...vectors.genesis.metadata, unique: vectors.genesis.unique }, alice), alice.did)
    const update = await makeUpdate(state, vectors.update.newContent, alice)
    expect(update.record.header).toEqual({})
    expect(update.record.data).toEqual(vectors.update.patch)
    expect(hex(update.payload.bytes)).toBe(vectors.update.linkedBlockHex)
    expect(update.envelope.cid.toString()).toBe(vectors.update.cid)

    const commit = await verified(update, 'update', alice.did)
    const after = nextState(state, await handler.apply(state, commit, ctx), commit)
    expect(after.content).toEqual(vectors.update.newContent)
    const handover = await makeUpdate(after, null, alice, { controllers: [bob.did] })
    expect(hex(handover.payload.bytes)).toBe(vectors.controllerChange.linkedBlockHex)
    expect(handover.envelope.cid.toString()).toBe(vectors.controllerChange.cid)
  })

  it('applies the commits Ceramic\'s client made: the recorded JWS and linked blocks', async () => {
    const received = async (v: typeof vectors.update | typeof vectors.genesis, kind: 'genesis' | 'update') => {
      const link = CID.parse(v.payloadCid)
      return await verified({ jws: { ...v.jws, link }, linkedBlock: Uint8Array.from(Buffer.from(v.linkedBlockHex, 'hex')) }, kind, alice.did)
    }
    const genesis = await received(vectors.genesis, 'genesis')
    expect(genesis.cid.toString()).toBe(vectors.genesis.cid)
    const state = stateFrom(await handler.apply(null, genesis, ctx), genesis)
    expect(state.content).toEqual(vectors.genesis.content)
    expect(state.metadata).toEqual(vectors.genesis.header)
    const update = await received(vectors.update, 'update')
    expect(update.cid.toString()).toBe(vectors.update.cid)
    const result = await handler.apply(state, update, ctx)
    expect(result).toEqual({ content: vectors.update.newContent, metadata: state.metadata })
  })

  it('writes unique as Ceramic does: base64 of 12 random bytes, 16 characters', async () => {
    const genesis = await makeGenesis(null, { controllers: [alice.did] })
    expect(genesis.record.header.unique).toMatch(/^[A-Za-z0-9+/]{16}$/)
    expect(vectors.genesis.unique).toMatch(/^[A-Za-z0-9+/]{16}$/)
    expect(bytesToBase64(new Uint8Array(12))).toHaveLength(16)
  })
})
