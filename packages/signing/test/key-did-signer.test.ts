import { describe, it, expect } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519'
import { secp256k1 } from '@noble/curves/secp256k1'
import { sha256 } from '@noble/hashes/sha2'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import { base16 } from 'multiformats/bases/base16'
import { didKeyFromPublicKey, keyDidSigner, randomSeed, seedFromHex, type KeyType } from '@kiln/signing'
import vectors from './fixtures/did-key-vectors.json' with { type: 'json' }
import { expectKilnError } from './fixtures/jws.js'

const types: KeyType[] = ['ed25519', 'secp256k1']
const secp256k1Order = secp256k1.Point.Fn.ORDER

describe('keyDidSigner', () => {
  it.each(vectors.seeds)('gives $did for the $type seed $seed', ({ type, seed, did }) => {
    const signer = keyDidSigner({ seed: seedFromHex(seed), type: type as KeyType })
    expect(signer.did).toBe(did)
    expect(signer.kid).toBe(`${did}#${did.slice('did:key:'.length)}`)
  })

  it.each(vectors.publicKeys)('encodes the $type public key $publicKeyBase58 as $did', ({ type, publicKeyBase58, did }) => {
    expect(didKeyFromPublicKey(type as KeyType, base58btc.baseDecode(publicKeyBase58))).toBe(did)
  })

  it.each(vectors.jws.cases)('reproduces the $type DAG-JWS vector byte for byte', async ({ type, seed, jws }) => {
    const signer = keyDidSigner({ seed: seedFromHex(seed), type: type as KeyType })
    const cid = CID.parse(vectors.jws.cid)
    const made = await signer.createDagJWS(cid)
    expect({ payload: made.payload, signatures: made.signatures }).toEqual(jws)
    expect(made.link?.equals(cid)).toBe(true)
  })

  it('defaults to ed25519 with alg EdDSA and a z6Mk did:key', () => {
    const signer = keyDidSigner({ seed: randomSeed() })
    expect(signer.alg).toBe('EdDSA')
    expect(signer.did).toMatch(/^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+$/)
  })

  it('makes secp256k1 signers with alg ES256K and a zQ3s did:key of the compressed key', () => {
    const seed = randomSeed()
    const signer = keyDidSigner({ seed, type: 'secp256k1' })
    expect(signer.alg).toBe('ES256K')
    expect(signer.did).toMatch(/^did:key:zQ3s[1-9A-HJ-NP-Za-km-z]+$/)
    // Independently: 0xe7 as a varint is e7 01, then the 33-byte compressed point, base58btc with multibase z.
    const compressed = secp256k1.getPublicKey(seed, true)
    expect(signer.did).toBe(`did:key:z${base58btc.baseEncode(new Uint8Array([0xe7, 0x01, ...compressed]))}`)
  })

  it('encodes the ed25519 key after the varint of 0xed', () => {
    const seed = randomSeed()
    const signer = keyDidSigner({ seed, type: 'ed25519' })
    expect(signer.did).toBe(`did:key:z${base58btc.baseEncode(new Uint8Array([0xed, 0x01, ...ed25519.getPublicKey(seed)]))}`)
  })

  it('gives the same DID for the same seed and different DIDs for different seeds', () => {
    for (const type of types) {
      const seed = randomSeed()
      expect(keyDidSigner({ seed, type }).did).toBe(keyDidSigner({ seed: Uint8Array.from(seed), type }).did)
      expect(keyDidSigner({ seed: randomSeed(), type }).did).not.toBe(keyDidSigner({ seed, type }).did)
    }
  })

  it('gives different DIDs for the same seed under the two key types', () => {
    const seed = randomSeed()
    expect(keyDidSigner({ seed, type: 'ed25519' }).did).not.toBe(keyDidSigner({ seed, type: 'secp256k1' }).did)
  })

  it.each(types)('rejects %s seeds that are not 32 bytes with InvalidKeyError', async (type) => {
    for (const length of [0, 1, 16, 31, 33, 64]) {
      const err = await expectKilnError(Promise.resolve().then(() => keyDidSigner({ seed: new Uint8Array(length), type })), 'InvalidKeyError')
      expect(err.message).toContain(String(length))
    }
    await expectKilnError(Promise.resolve().then(() => keyDidSigner({ seed: 'ab'.repeat(32) as unknown as Uint8Array, type })), 'InvalidKeyError')
  })

  it('rejects secp256k1 seeds outside 1..n-1 with InvalidKeyError', async () => {
    const order = base16.baseDecode(secp256k1Order.toString(16).padStart(64, '0'))
    for (const seed of [new Uint8Array(32), order, new Uint8Array(32).fill(0xff)]) {
      await expectKilnError(Promise.resolve().then(() => keyDidSigner({ seed, type: 'secp256k1' })), 'InvalidKeyError')
    }
  })

  it('rejects an unknown key type with InvalidKeyError', async () => {
    await expectKilnError(Promise.resolve().then(() => keyDidSigner({ seed: randomSeed(), type: 'p256' as KeyType })), 'InvalidKeyError')
  })

  it('keeps its own copy of the seed', async () => {
    const seed = randomSeed()
    const signer = keyDidSigner({ seed })
    const input = new TextEncoder().encode('header.payload')
    const before = await signer.sign(input)
    seed.fill(0)
    expect(await signer.sign(input)).toEqual(before)
  })

  it('signs EdDSA as plain Ed25519 over the signing input', async () => {
    const seed = randomSeed()
    const signer = keyDidSigner({ seed, type: 'ed25519' })
    const input = new TextEncoder().encode('eyJhbGciOiJFZERTQSJ9.AXESIA')
    const signature = await signer.sign(input)
    expect(signature).toHaveLength(64)
    expect(ed25519.verify(signature, input, ed25519.getPublicKey(seed))).toBe(true)
  })

  it('signs ES256K as 64-byte low-S r‖s over sha256 of the signing input', async () => {
    const seed = randomSeed()
    const signer = keyDidSigner({ seed, type: 'secp256k1' })
    const publicKey = secp256k1.getPublicKey(seed, true)
    for (let i = 0; i < 32; i++) {
      const input = new TextEncoder().encode(`eyJhbGciOiJFUzI1NksifQ.${i}`)
      const signature = await signer.sign(input)
      expect(signature).toHaveLength(64)
      expect(secp256k1.Signature.fromBytes(signature, 'compact').hasHighS()).toBe(false)
      expect(secp256k1.verify(signature, sha256(input), publicKey, { format: 'compact' })).toBe(true)
    }
  })

  it('exposes no private key material', () => {
    const seed = randomSeed()
    const signer = keyDidSigner({ seed })
    expect(Object.keys(signer).sort()).toEqual(['alg', 'createDagJWS', 'did', 'kid', 'sign'])
    expect(JSON.stringify(signer)).not.toContain(base16.baseEncode(seed))
    expect(Object.isFrozen(signer)).toBe(true)
  })
})
