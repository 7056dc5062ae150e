import { signRecord } from '@kiln/codec'
import { addSignature, createVerifier, keyDidSigner, signDagJWSWithAll } from '@kiln/signing'
import type { DIDSigner } from '@kiln/interface'
import { base64url } from 'multiformats/bases/base64'
import { describe, expect, it } from 'vitest'
import { readCommit } from '../src/commit-input.js'
import { Pipeline, type PipelineComponents } from '../src/pipeline.js'
import { register } from './fixtures/register.js'

// Stage 3 on its own: checkSignature reads only the verifier, so the pipeline is built around that one component.
const pipeline = new Pipeline({ verifier: createVerifier() } as unknown as PipelineComponents)
const handler = register()({})

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x41) })
const bob = keyDidSigner({ seed: new Uint8Array(32).fill(0x42), type: 'secp256k1' })
const carol = keyDidSigner({ seed: new Uint8Array(32).fill(0x43) })

/** A register genesis controlled by `controllers`, signed by every one of `signers`, in order. */
async function genesisSignedBy (controllers: DIDSigner[], signers: DIDSigner[]): Promise<Awaited<ReturnType<typeof readCommit>>> {
  const signed = await signRecord({ header: { controllers: controllers.map((c) => c.did) }, data: { n: Math.random() } }, {
    createDagJWS: async (cid) => await signDagJWSWithAll(signers, cid)
  })
  return await readCommit(signed.commit)
}

describe('Pipeline.checkSignature with several signatures', () => {
  it('returns the first signer and every signer when each is a controller', async () => {
    const commit = await genesisSignedBy([alice, bob], [alice, bob])
    expect(await pipeline.checkSignature(handler, null, commit, {})).toEqual({ did: alice.did, signers: [alice.did, bob.did], capabilitySigners: [] })
  })

  it('refuses, naming it, a second signer who is not a controller', async () => {
    const commit = await genesisSignedBy([alice], [alice, carol])
    const err = await pipeline.checkSignature(handler, null, commit, {}).then(() => undefined, (e: unknown) => e as Error)
    expect(err?.name).toBe('UnauthorizedSignerError')
    expect(err?.message).toContain(carol.did)
  })

  it('makes no controller check with authorize false, and still verifies every signature', async () => {
    const commit = await genesisSignedBy([alice], [alice, carol])
    expect(await pipeline.checkSignature(handler, null, commit, {}, undefined, false)).toEqual({ did: alice.did, signers: [alice.did, carol.did], capabilitySigners: [] })
    const jws = commit.jws!
    const bytes = base64url.baseDecode(jws.signatures[1]!.signature)
    bytes[3] = bytes[3]! ^ 0xff
    const forged = { ...commit, jws: { ...jws, signatures: [jws.signatures[0]!, { ...jws.signatures[1]!, signature: base64url.baseEncode(bytes) }] } }
    await expect(pipeline.checkSignature(handler, null, forged, {}, undefined, false)).rejects.toMatchObject({ name: 'InvalidSignatureError' })
  })

  it('counts duplicate signers as given: "one signer twice" is for a rules stage to refuse', async () => {
    const commit = await genesisSignedBy([alice], [alice, alice])
    expect(await pipeline.checkSignature(handler, null, commit, {})).toEqual({ did: alice.did, signers: [alice.did, alice.did], capabilitySigners: [] })
  })

  it('refuses 17 signatures with InvalidSignatureError', async () => {
    const commit = await genesisSignedBy([alice], Array.from({ length: 16 }, () => alice))
    const jws = commit.jws!
    const seventeen = { ...commit, jws: { ...jws, signatures: [...jws.signatures, jws.signatures[0]!] } }
    await expect(pipeline.checkSignature(handler, null, seventeen, {}, undefined, false)).rejects.toMatchObject({ name: 'InvalidSignatureError' })
    await expect(addSignature(jws, alice)).rejects.toMatchObject({ name: 'InvalidSignatureError' })
  })
})
