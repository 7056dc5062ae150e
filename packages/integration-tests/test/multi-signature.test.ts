import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { makeGenesis, makeUpdate, tile, type TileSigner } from '@kiln/doctype-tile'
import { keyDidSigner, signDagJWSWithAll } from '@kiln/signing'
import type { DIDSigner } from '@kiln/interface'
import { base64url } from 'multiformats/bases/base64'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x71) })
const bob = keyDidSigner({ seed: new Uint8Array(32).fill(0x72) })

/** A tile signer in `signers[0]`'s name whose JWS carries a signature by every one of `signers`, in order. */
function coSigned (signers: DIDSigner[]): TileSigner {
  return { did: signers[0]!.did, createDagJWS: async (cid) => await signDagJWSWithAll(signers, cid) }
}

describe('a tile commit with several signatures', () => {
  let node: KilnNode

  beforeEach(async () => { node = await createNode({ doctypes: [tile()], storage: memoryStorage() }) })
  afterEach(async () => { await node.stop() })

  it('is accepted when every signer is the controller (the same one twice)', async () => {
    const { id, state } = await node.createDocument('tile', (await makeGenesis({ a: 1 }, {}, coSigned([alice, alice]))).commit)
    const update = await makeUpdate(state, { a: 2 }, coSigned([alice, alice]))
    expect((await node.applyCommit(id, update.commit)).state.content).toEqual({ a: 2 })
  })

  it('is refused, and nothing written, when the second signer is not the controller', async () => {
    const genesis = await makeGenesis({ a: 1 }, {}, coSigned([alice, bob]))
    await expect(node.createDocument('tile', genesis.commit)).rejects.toMatchObject({ name: 'UnauthorizedSignerError', message: expect.stringContaining(bob.did) })
    expect(await node.listPins()).toEqual([])

    const { id, state } = await node.createDocument('tile', (await makeGenesis({ a: 1 }, {}, alice)).commit)
    const update = await makeUpdate(state, { a: 2 }, coSigned([alice, bob]))
    await expect(node.applyCommit(id, update.commit)).rejects.toMatchObject({ name: 'UnauthorizedSignerError' })
    expect((await node.load(id)).state.log).toHaveLength(1)
  })

  it('is refused with InvalidSignatureError when its second signature is tampered with', async () => {
    const { id, state } = await node.createDocument('tile', (await makeGenesis({ a: 1 }, {}, alice)).commit)
    const update = await makeUpdate(state, { a: 2 }, coSigned([alice, alice]))
    const jws = update.commit.jws
    const bytes = base64url.baseDecode(jws.signatures[1]!.signature)
    bytes[0] = bytes[0]! ^ 0x01
    const forged = { ...update.commit, jws: { ...jws, signatures: [jws.signatures[0]!, { ...jws.signatures[1]!, signature: base64url.baseEncode(bytes) }] } }
    await expect(node.applyCommit(id, forged)).rejects.toMatchObject({ name: 'InvalidSignatureError' })
    expect((await node.load(id)).state.log).toHaveLength(1)
  })

  it('is refused with InvalidSignatureError when it carries 17 signatures', async () => {
    const { id, state } = await node.createDocument('tile', (await makeGenesis({ a: 1 }, {}, alice)).commit)
    const update = await makeUpdate(state, { a: 2 }, coSigned(Array.from({ length: 16 }, () => alice)))
    const jws = update.commit.jws
    const seventeen = { ...update.commit, jws: { ...jws, signatures: [...jws.signatures, jws.signatures[0]!] } }
    await expect(node.applyCommit(id, seventeen)).rejects.toMatchObject({ name: 'InvalidSignatureError' })
    expect((await node.load(id)).state.log).toHaveLength(1)
  })
})
