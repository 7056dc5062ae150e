import { describe, it, expect } from 'vitest'
import { DID } from 'dids'
import { Ed25519Provider } from 'key-did-provider-ed25519'
import KeyResolver from 'key-did-resolver'
import { secp256k1 } from '@noble/curves/secp256k1'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { base64url } from 'multiformats/bases/base64'
import { createVerifier, keyDidSigner, randomSeed, type KeyType } from '@kiln/signing'
import type { DagJWS } from '@kiln/interface'
import { cidOf, expectKilnError } from './fixtures/jws.js'

// Ceramic's own DID stack: dids + key-did-provider-ed25519 + key-did-resolver, as js-ceramic clients use it.
async function ceramicDID (seed: Uint8Array): Promise<DID> {
  const did = new DID({ provider: new Ed25519Provider(seed), resolver: KeyResolver.getResolver() })
  await did.authenticate()
  return did
}

const ceramicVerifier = new DID({ resolver: KeyResolver.getResolver() })

describe('compatibility with Ceramic (dids, key-did-provider-ed25519)', () => {
  it('derives the same did:key from the same ed25519 seed', async () => {
    for (const seed of [new Uint8Array(32), new Uint8Array(32).fill(0xff), randomSeed(), randomSeed()]) {
      expect(keyDidSigner({ seed }).did).toBe((await ceramicDID(seed)).id)
    }
  })

  it('verifies a DAG-JWS made by dids, with its signer as controller', async () => {
    const seed = randomSeed()
    const did = await ceramicDID(seed)
    const { jws, linkedBlock } = await did.createDagJWS({ hello: 'world', n: 1 })
    const linkedCid = CID.create(1, 0x71, await sha256.digest(linkedBlock))
    const verified = await createVerifier().verifyDagJWS(jws as unknown as DagJWS, { controllers: [did.id] })
    expect(verified.did).toBe(did.id)
    expect(verified.kid.startsWith(`${did.id}#`)).toBe(true)
    expect(verified.payload.equals(linkedCid)).toBe(true)
  })

  it('rejects a DAG-JWS made by dids for a controller it does not sign for, or with its payload tampered', async () => {
    const did = await ceramicDID(randomSeed())
    const { jws } = await did.createDagJWS({ hello: 'world' })
    const other = keyDidSigner({ seed: randomSeed() })
    const verifier = createVerifier()
    await expectKilnError(verifier.verifyDagJWS(jws as unknown as DagJWS, { controllers: [other.did] }), 'UnauthorizedSignerError')
    const forged = await cidOf('forged')
    const tampered = { ...(jws as unknown as DagJWS), payload: base64url.baseEncode(forged.bytes), link: forged }
    await expectKilnError(verifier.verifyDagJWS(tampered), 'InvalidSignatureError')
  })

  it('writes the same ed25519 DAG-JWS as dids, byte for byte', async () => {
    const seed = randomSeed()
    const { jws } = await (await ceramicDID(seed)).createDagJWS({ same: 'bytes' })
    const ours = await keyDidSigner({ seed }).createDagJWS(CID.asCID(jws.link)!)
    expect(ours.payload).toBe(jws.payload)
    expect(ours.signatures).toEqual(jws.signatures)
  })

  it.each<KeyType>(['ed25519', 'secp256k1'])('makes %s DAG-JWS that dids verifyJWS accepts', async (type) => {
    const signer = keyDidSigner({ seed: randomSeed(), type })
    const jws = await signer.createDagJWS(await cidOf(`for dids ${type}`))
    const result = await ceramicVerifier.verifyJWS(jws as Parameters<DID['verifyJWS']>[0])
    expect(result.kid).toBe(signer.kid)
    expect(result.didResolutionResult.didDocument?.id).toBe(signer.did)
  })

  it('makes DAG-JWS that dids rejects once tampered (the check above is not vacuous)', async () => {
    const signer = keyDidSigner({ seed: randomSeed() })
    const jws = await signer.createDagJWS(await cidOf('original'))
    const tampered = { ...jws, payload: base64url.baseEncode((await cidOf('tampered')).bytes) }
    await expect(ceramicVerifier.verifyJWS(tampered as Parameters<DID['verifyJWS']>[0])).rejects.toThrow(/invalid_signature/)
  })

  it('accepts the high-S ES256K signatures that dids accepts', async () => {
    const signer = keyDidSigner({ seed: randomSeed(), type: 'secp256k1' })
    const jws = await signer.createDagJWS(await cidOf('high s'))
    const low = secp256k1.Signature.fromBytes(base64url.baseDecode(jws.signatures[0]!.signature), 'compact')
    const high = new secp256k1.Signature(low.r, secp256k1.Point.Fn.ORDER - low.s).toBytes('compact')
    const variant: DagJWS = { ...jws, signatures: [{ ...jws.signatures[0]!, signature: base64url.baseEncode(high) }] }
    await ceramicVerifier.verifyJWS(variant as Parameters<DID['verifyJWS']>[0])
    expect((await createVerifier().verifyDagJWS(variant)).did).toBe(signer.did)
  })
})
