import { afterAll, describe, it, expect } from 'vitest'
import { secp256k1 } from '@noble/curves/secp256k1'
import { base64url } from 'multiformats/bases/base64'
import { base58btc } from 'multiformats/bases/base58'
import {
  createThreadpoolVerifier,
  createVerifier,
  createVerifierPool,
  keyDidResolver,
  keyDidSigner,
  randomSeed,
  resolverRegistry,
  type KeyType,
  type KilnVerifier,
  type KilnVerifierPool,
  type VerifierInit,
  type VerifierPoolInit
} from '@kiln/signing'
import type { DagJWS, DIDSigner } from '@kiln/interface'
import { cidOf, encodeHeader, expectKilnError, forgeJWS } from './fixtures/jws.js'
import { testDidMethod } from './fixtures/test-did.js'

const types: KeyType[] = ['ed25519', 'secp256k1']

function signers (type: KeyType): { alice: DIDSigner, bob: DIDSigner } {
  return { alice: keyDidSigner({ seed: randomSeed(), type }), bob: keyDidSigner({ seed: randomSeed(), type }) }
}

// Every verifier Kiln has must give the same answers and the same errors: the in-process one, and the pool with its
// checks on a worker thread or, with size 0, in-process, and the one whose Ed25519 checks run on libuv's thread pool.
const verifierKinds: Array<[string, (init?: VerifierInit) => KilnVerifier]> = [
  ['createVerifier', createVerifier],
  ['createThreadpoolVerifier', createThreadpoolVerifier],
  ['createVerifierPool with one worker', (init) => pooled({ ...init, size: 1 })],
  ['createVerifierPool of size 0', (init) => pooled({ ...init, size: 0 })]
]

const pools: KilnVerifierPool[] = []
function pooled (init: VerifierPoolInit): KilnVerifierPool {
  const pool = createVerifierPool(init)
  pools.push(pool)
  return pool
}
afterAll(async () => { await Promise.all(pools.map(async (pool) => { await pool.stop() })) })

describe.each(verifierKinds)('%s', (_kind, makeVerifier) => {
  describe.each(types)('verifyDagJWS with %s did:key signers', (type) => {
    const verifier = makeVerifier()

    it('accepts a JWS signed by one of the controllers and returns the signer and the CID', async () => {
      const { alice, bob } = signers(type)
      const cid = await cidOf('genesis')
      const verified = await verifier.verifyDagJWS(await alice.createDagJWS(cid), { controllers: [bob.did, alice.did] })
      expect(verified).toEqual({ did: alice.did, kid: alice.kid, payload: cid, signers: [{ did: alice.did, kid: alice.kid }] })
    })

    it('rejects a tampered payload with InvalidSignatureError', async () => {
      const { alice } = signers(type)
      const jws = await alice.createDagJWS(await cidOf('pay 1'))
      const forged = await cidOf('pay 1000')
      const tampered = { ...jws, payload: base64url.baseEncode(forged.bytes), link: forged }
      const err = await expectKilnError(verifier.verifyDagJWS(tampered, { controllers: [alice.did] }), 'InvalidSignatureError')
      expect(err.message).toContain(alice.kid)
    })

    it('rejects a swapped signature with InvalidSignatureError', async () => {
      const { alice } = signers(type)
      const jws = await alice.createDagJWS(await cidOf('one'))
      const other = await alice.createDagJWS(await cidOf('two'))
      const swapped: DagJWS = { ...jws, signatures: [{ protected: jws.signatures[0]!.protected, signature: other.signatures[0]!.signature }] }
      await expectKilnError(verifier.verifyDagJWS(swapped, { controllers: [alice.did] }), 'InvalidSignatureError')
    })

    it('rejects a kid of another DID than the controllers with UnauthorizedSignerError naming it', async () => {
      const { alice, bob } = signers(type)
      const jws = await bob.createDagJWS(await cidOf('takeover'))
      const err = await expectKilnError(verifier.verifyDagJWS(jws, { controllers: [alice.did] }), 'UnauthorizedSignerError')
      expect(err.message).toContain(bob.did)
      expect((err as Error & { details: Record<string, unknown> }).details).toMatchObject({ did: bob.did, kid: bob.kid })
    })

    it('rejects a header claiming a controller kid but signed by another key with InvalidSignatureError', async () => {
      const { alice, bob } = signers(type)
      const jws = await forgeJWS({ alg: alice.alg, kid: alice.kid }, await cidOf('impersonation'), bob.sign)
      await expectKilnError(verifier.verifyDagJWS(jws, { controllers: [alice.did] }), 'InvalidSignatureError')
    })

    it('rejects a kid naming a key the DID does not have with DIDResolutionError', async () => {
      const { alice } = signers(type)
      const kid = `${alice.did}#other-key`
      const jws = await forgeJWS({ alg: alice.alg, kid }, await cidOf('x'), alice.sign)
      const err = await expectKilnError(verifier.verifyDagJWS(jws), 'DIDResolutionError')
      expect(err.message).toContain(kid)
    })

    it('accepts a kid that carries a query, as DID URLs with ?versionId do', async () => {
      const { alice } = signers(type)
      const kid = `${alice.did}?versionId=0#${alice.did.slice('did:key:'.length)}`
      const cid = await cidOf('versioned')
      const jws = await forgeJWS({ alg: alice.alg, kid }, cid, alice.sign)
      expect(await verifier.verifyDagJWS(jws, { controllers: [alice.did] })).toMatchObject({ did: alice.did, kid, payload: cid, signers: [{ did: alice.did, kid }] })
    })

    it('rejects a header whose alg is not the key type with InvalidSignatureError', async () => {
      const { alice } = signers(type)
      const alg = alice.alg === 'EdDSA' ? 'ES256K' : 'EdDSA'
      const jws = await forgeJWS({ alg, kid: alice.kid }, await cidOf('alg'), alice.sign)
      await expectKilnError(verifier.verifyDagJWS(jws), 'InvalidSignatureError')
    })
  })

  describe('verifyDagJWS with DIDs no resolver handles', () => {
    const verifier = makeVerifier()
    const signer = keyDidSigner({ seed: randomSeed() })

    it.each(['did:web:example.com', 'did:pkh:eip155:1:0xb9c5714089478a327f09197987f16f9e5d936e8a', 'did:3:kjzl6cwe1jw145'])(
      'rejects a kid of %s with UnsupportedDIDMethodError naming the DID', async (did) => {
        const jws = await forgeJWS({ alg: 'EdDSA', kid: `${did}#key-1` }, await cidOf('web'), signer.sign)
        const err = await expectKilnError(verifier.verifyDagJWS(jws, { controllers: [did] }), 'UnsupportedDIDMethodError')
        expect(err.message).toContain(did)
        await expectKilnError(verifier.verifyDagJWS(jws), 'UnsupportedDIDMethodError')
      })
  })

  describe('verifyDagJWS with malformed input', () => {
    const verifier = makeVerifier()
    const alice = keyDidSigner({ seed: randomSeed() })

    async function signed (): Promise<DagJWS> {
      return await alice.createDagJWS(await cidOf('malformed'))
    }

    it('rejects a JWS without signatures, or with more than 16, with InvalidSignatureError', async () => {
      const jws = await signed()
      await expectKilnError(verifier.verifyDagJWS({ ...jws, signatures: [] }), 'InvalidSignatureError')
      await expectKilnError(verifier.verifyDagJWS({ ...jws, signatures: Array.from({ length: 17 }, () => jws.signatures[0]!) }), 'InvalidSignatureError')
      await expectKilnError(verifier.verifyDagJWS({ payload: jws.payload } as DagJWS), 'InvalidSignatureError')
      await expectKilnError(verifier.verifyDagJWS(null as unknown as DagJWS), 'InvalidSignatureError')
    })

    it('rejects a protected header that is not base64url, not JSON, or not an object with InvalidSignatureError', async () => {
      const jws = await signed()
      const signature = jws.signatures[0]!.signature
      for (const header of ['e30=', 'not*base64', base64url.baseEncode(new TextEncoder().encode('{"alg":')), encodeHeader([1]), encodeHeader('EdDSA')]) {
        await expectKilnError(verifier.verifyDagJWS({ ...jws, signatures: [{ protected: header, signature }] }), 'InvalidSignatureError')
      }
    })

    it('rejects a header without alg or kid, or with an alg Kiln does not verify, with InvalidSignatureError', async () => {
      const cid = await cidOf('headers')
      for (const header of [{ kid: alice.kid }, { alg: 'EdDSA' }, { alg: 'none', kid: alice.kid }, { alg: 'HS256', kid: alice.kid }, { alg: 'EdDSA', kid: 7 }]) {
        const jws = await forgeJWS(header, cid, alice.sign)
        await expectKilnError(verifier.verifyDagJWS(jws), 'InvalidSignatureError')
      }
    })

    it('rejects a kid without a #fragment with InvalidSignatureError naming it', async () => {
      const jws = await forgeJWS({ alg: 'EdDSA', kid: alice.did }, await cidOf('fragment'), alice.sign)
      const err = await expectKilnError(verifier.verifyDagJWS(jws), 'InvalidSignatureError')
      expect(err.message).toContain(alice.did)
    })

    it('rejects a kid whose DID is malformed with DIDResolutionError naming it', async () => {
      for (const did of ['notadid', 'did:KEY:z6Mk', 'did:key:', 'did::abc', 'did:key:abc:']) {
        const jws = await forgeJWS({ alg: 'EdDSA', kid: `${did}#key` }, await cidOf('did'), alice.sign)
        const err = await expectKilnError(verifier.verifyDagJWS(jws), 'DIDResolutionError')
        expect(err.message).toContain(did)
      }
    })

    it('rejects a did:key that does not decode to a usable key with DIDResolutionError', async () => {
      const p256 = 'did:key:zDnaeUKTWUXc1HDpGfKbEK31nKLN19yX5aunFd7VK1CUMeyJu'
      const truncated = alice.did.slice(0, -4)
      const badPoint = `did:key:z${base58btc.baseEncode(new Uint8Array([0xe7, 0x01, 0x02, ...new Uint8Array(32).fill(0xff)]))}`
      for (const did of [p256, truncated, 'did:key:z0OIl', 'did:key:f00', badPoint]) {
        const jws = await forgeJWS({ alg: 'EdDSA', kid: `${did}#${did.slice(8)}` }, await cidOf('bad key'), alice.sign)
        const err = await expectKilnError(verifier.verifyDagJWS(jws), 'DIDResolutionError')
        expect(err.message).toContain(did)
      }
    })

    it('rejects a payload that is not a CID, or a link that is not its payload, with InvalidSignatureError', async () => {
      const jws = await signed()
      const notCid = base64url.baseEncode(new TextEncoder().encode('{"hello":"world"}'))
      await expectKilnError(verifier.verifyDagJWS({ ...jws, payload: notCid, link: undefined }), 'InvalidSignatureError')
      await expectKilnError(verifier.verifyDagJWS({ ...jws, link: await cidOf('other') }), 'InvalidSignatureError')
    })

    it('accepts a JWS without link, taking the CID from the payload', async () => {
      const jws = await signed()
      const { link: _link, ...withoutLink } = jws
      expect((await verifier.verifyDagJWS(withoutLink)).payload.equals(jws.link)).toBe(true)
    })

    it('rejects base64url with padding or non-canonical trailing bits with InvalidSignatureError', async () => {
      const jws = await signed()
      const sig = jws.signatures[0]!
      // 64 signature bytes are 86 characters whose last one carries 2 unused bits: flipping one keeps the bytes.
      const last = sig.signature.slice(-1)
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      const sibling = alphabet[alphabet.indexOf(last) ^ 1]!
      const variants: DagJWS[] = [
        { ...jws, signatures: [{ ...sig, signature: `${sig.signature}==` }] },
        { ...jws, signatures: [{ ...sig, signature: `${sig.signature.slice(0, -1)}${sibling}` }] },
        { ...jws, payload: `${jws.payload}=` }
      ]
      for (const variant of variants) await expectKilnError(verifier.verifyDagJWS(variant), 'InvalidSignatureError')
    })

    it('gives up with AbortError when the signal has fired', async () => {
      const controller = new AbortController()
      controller.abort()
      await expectKilnError(verifier.verifyDagJWS(await signed(), { signal: controller.signal }), 'AbortError')
    })
  })

  describe('ES256K signatures with high S', () => {
    it('are accepted, as did-jwt (Ceramic) accepts them, though Kiln never writes one', async () => {
      const alice = keyDidSigner({ seed: randomSeed(), type: 'secp256k1' })
      const jws = await alice.createDagJWS(await cidOf('malleable'))
      const low = secp256k1.Signature.fromBytes(base64url.baseDecode(jws.signatures[0]!.signature), 'compact')
      const high = new secp256k1.Signature(low.r, secp256k1.Point.Fn.ORDER - low.s)
      expect(high.hasHighS()).toBe(true)
      const variant = { ...jws, signatures: [{ ...jws.signatures[0]!, signature: base64url.baseEncode(high.toBytes('compact')) }] }
      expect((await makeVerifier().verifyDagJWS(variant)).did).toBe(alice.did)
    })
  })

  describe('resolver registry', () => {
    it('verifies a JWS of a plugged-in DID method', async () => {
      const method = testDidMethod()
      const verifier = makeVerifier({ resolvers: [method.resolver] })
      const carol = method.signer('carol')
      const cid = await cidOf('plugged in')
      expect(await verifier.verifyDagJWS(await carol.createDagJWS(cid), { controllers: ['did:test:carol'] }))
        .toMatchObject({ did: 'did:test:carol', kid: 'did:test:carol#signing', payload: cid })
      const dave = method.signer('dave')
      await expectKilnError(verifier.verifyDagJWS(await dave.createDagJWS(cid), { controllers: [carol.did] }), 'UnauthorizedSignerError')
      await expectKilnError(verifier.verifyDagJWS(await forgeJWS({ alg: 'EdDSA', kid: carol.kid }, cid, dave.sign)), 'InvalidSignatureError')
    })

    it('keeps did:key built in next to plugged-in methods', async () => {
      const verifier = makeVerifier({ resolvers: [testDidMethod().resolver] })
      const alice = keyDidSigner({ seed: randomSeed() })
      expect((await verifier.verifyDagJWS(await alice.createDagJWS(await cidOf('both')))).did).toBe(alice.did)
    })

    it('turns a resolver failure into DIDResolutionError naming the DID', async () => {
      const method = testDidMethod()
      const verifier = makeVerifier({ resolvers: [method.resolver] })
      const jws = await forgeJWS({ alg: 'EdDSA', kid: 'did:test:nobody#signing' }, await cidOf('ghost'), method.signer('x').sign)
      const err = await expectKilnError(verifier.verifyDagJWS(jws), 'DIDResolutionError')
      expect(err.message).toContain('did:test:nobody')
    })

    it('rejects a second resolver for the same method with DuplicateRegistrationError', async () => {
      const err = await expectKilnError(
        Promise.resolve().then(() => makeVerifier({ resolvers: [testDidMethod().resolver, testDidMethod().resolver] })),
        'DuplicateRegistrationError'
      )
      expect(err.message).toContain('test')
      await expectKilnError(Promise.resolve().then(() => resolverRegistry([keyDidResolver(), keyDidResolver()])), 'DuplicateRegistrationError')
    })

    it('lets a resolver for did:key replace the built-in one', async () => {
      const builtIn = keyDidResolver()
      let calls = 0
      const counting = { method: 'key', resolve: async (did: string) => { calls++; return await builtIn.resolve(did) } }
      const alice = keyDidSigner({ seed: randomSeed() })
      await makeVerifier({ resolvers: [counting] }).verifyDagJWS(await alice.createDagJWS(await cidOf('replaced')))
      expect(calls).toBe(1)
    })

    it('lists its methods and names them when a method is missing', async () => {
      const registry = resolverRegistry([keyDidResolver(), testDidMethod().resolver])
      expect(registry.methods).toEqual(['key', 'test'])
      const err = await expectKilnError(registry.resolve('did:web:example.com'), 'UnsupportedDIDMethodError')
      expect(err.message).toContain('key, test')
    })

    it('does not resolve a signer that the controllers already exclude', async () => {
      const method = testDidMethod()
      const verifier = makeVerifier({ resolvers: [method.resolver] })
      const jws = await method.signer('mallory').createDagJWS(await cidOf('spam'))
      await expectKilnError(verifier.verifyDagJWS(jws, { controllers: ['did:test:alice'] }), 'UnauthorizedSignerError')
      expect(method.resolver.calls).toBe(0)
    })
  })
})

describe('keyDidResolver', () => {
  it.each(types)('resolves a %s did:key to its one verification key', async (type) => {
    const alice = keyDidSigner({ seed: randomSeed(), type })
    const keys = await keyDidResolver().resolve(alice.did)
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatchObject({ id: alice.kid, controller: alice.did, alg: alice.alg })
    expect(keys[0]!.publicKey).toHaveLength(type === 'ed25519' ? 32 : 33)
  })

  it('serves repeated resolutions from its cache without sharing the returned list', async () => {
    const resolver = keyDidResolver({ cacheSize: 2 })
    const dids = [0, 1, 2].map(() => keyDidSigner({ seed: randomSeed() }).did)
    const first = await resolver.resolve(dids[0]!)
    first.pop()
    for (const did of [...dids, ...dids]) expect(await resolver.resolve(did)).toHaveLength(1)
    expect(await resolver.resolve(dids[0]!)).toHaveLength(1)
  })

  it('rejects a DID of another method with DIDResolutionError', async () => {
    await expectKilnError(keyDidResolver().resolve('did:web:example.com'), 'DIDResolutionError')
  })
})
