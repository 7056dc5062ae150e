import { afterAll, describe, expect, it } from 'vitest'
import { base64url } from 'multiformats/bases/base64'
import {
  MAX_JWS_SIGNATURES, addSignature, createThreadpoolVerifier, createVerifier, createVerifierPool, decodeDagJWS, keyDidSigner,
  randomSeed, signDagJWSWithAll, type KilnVerifier, type KilnVerifierPool
} from '@kiln/signing'
import type { DagJWS } from '@kiln/interface'
import { cidOf, expectKilnError } from './fixtures/jws.js'

const pools: KilnVerifierPool[] = []
afterAll(async () => { await Promise.all(pools.map(async (pool) => { await pool.stop() })) })

const verifierKinds: Array<[string, () => KilnVerifier]> = [
  ['createVerifier', () => createVerifier()],
  ['createThreadpoolVerifier', () => createThreadpoolVerifier()],
  ['createVerifierPool with one worker', () => { const pool = createVerifierPool({ size: 1 }); pools.push(pool); return pool }]
]

const alice = keyDidSigner({ seed: randomSeed() })
const bob = keyDidSigner({ seed: randomSeed(), type: 'secp256k1' })
const carol = keyDidSigner({ seed: randomSeed() })

/** The JWS with signature `index` replaced by one whose last character is changed. */
function tampered (jws: DagJWS, index: number): DagJWS {
  const signatures = jws.signatures.map((entry, i) => {
    if (i !== index) return { ...entry }
    const bytes = base64url.baseDecode(entry.signature)
    bytes[0] = bytes[0]! ^ 0x01
    return { ...entry, signature: base64url.baseEncode(bytes) }
  })
  return { ...jws, signatures }
}

describe('addSignature and signDagJWSWithAll', () => {
  it('appends a signature over the same payload, leaving the JWS given unchanged', async () => {
    const cid = await cidOf('co-signed')
    const one = await alice.createDagJWS(cid)
    const two = await addSignature(one, bob)
    expect(one.signatures).toHaveLength(1)
    expect(two.signatures).toHaveLength(2)
    expect(two.payload).toBe(one.payload)
    expect(two.signatures[0]).toEqual(one.signatures[0])
    expect(decodeDagJWS(two).signatures.map((s) => s.kid)).toEqual([alice.kid, bob.kid])
  })

  it('signs with several signers at once, in order', async () => {
    const jws = await signDagJWSWithAll([alice, bob, carol], await cidOf('three'))
    expect(decodeDagJWS(jws).signatures.map((s) => s.kid)).toEqual([alice.kid, bob.kid, carol.kid])
  })

  it(`refuses a ${MAX_JWS_SIGNATURES + 1}th signature, and no signers at all, with InvalidSignatureError`, async () => {
    const full = await signDagJWSWithAll(Array.from({ length: MAX_JWS_SIGNATURES }, () => alice), await cidOf('full'))
    await expectKilnError(addSignature(full, bob), 'InvalidSignatureError')
    await expectKilnError(signDagJWSWithAll(Array.from({ length: MAX_JWS_SIGNATURES + 1 }, () => alice), await cidOf('over')), 'InvalidSignatureError')
    await expectKilnError(signDagJWSWithAll([], await cidOf('none')), 'InvalidSignatureError')
  })
})

describe.each(verifierKinds)('%s with several signatures', (_kind, makeVerifier) => {
  const verifier = makeVerifier()

  it('verifies every signature and lists every signer, in order; did and kid are the first', async () => {
    const cid = await cidOf('two signers')
    const verified = await verifier.verifyDagJWS(await signDagJWSWithAll([alice, bob], cid))
    expect(verified.did).toBe(alice.did)
    expect(verified.kid).toBe(alice.kid)
    expect(verified.payload.equals(cid)).toBe(true)
    expect(verified.signers).toEqual([{ did: alice.did, kid: alice.kid }, { did: bob.did, kid: bob.kid }])
  })

  it('verifies 16 signatures, and refuses 17 with InvalidSignatureError', async () => {
    const cid = await cidOf('sixteen')
    const sixteen = await signDagJWSWithAll(Array.from({ length: 16 }, (_, i) => [alice, bob, carol][i % 3]!), cid)
    expect((await verifier.verifyDagJWS(sixteen)).signers).toHaveLength(16)
    const seventeen: DagJWS = { ...sixteen, signatures: [...sixteen.signatures, sixteen.signatures[0]!] }
    await expectKilnError(verifier.verifyDagJWS(seventeen), 'InvalidSignatureError')
  })

  it('refuses the whole JWS when any one signature is tampered with', async () => {
    const jws = await signDagJWSWithAll([alice, bob, carol], await cidOf('tamper'))
    for (const index of [0, 1, 2]) {
      const err = await expectKilnError(verifier.verifyDagJWS(tampered(jws, index)), 'InvalidSignatureError')
      expect(err.message).toContain([alice, bob, carol][index]!.kid)
    }
  })

  it('refuses a signature over another payload among valid ones', async () => {
    const jws = await signDagJWSWithAll([alice, bob], await cidOf('mine'))
    const other = await carol.createDagJWS(await cidOf('theirs'))
    await expectKilnError(verifier.verifyDagJWS({ ...jws, signatures: [...jws.signatures, other.signatures[0]!] }), 'InvalidSignatureError')
  })

  it('keeps duplicate signers: counting distinct signers is a rule, not a signature check', async () => {
    const jws = await signDagJWSWithAll([alice, alice], await cidOf('twice'))
    expect((await verifier.verifyDagJWS(jws)).signers.map((s) => s.did)).toEqual([alice.did, alice.did])
  })

  it('checks `controllers` against the first signer only, and not at all with anySigner', async () => {
    const jws = await signDagJWSWithAll([alice, bob], await cidOf('controllers'))
    await verifier.verifyDagJWS(jws, { controllers: [alice.did] })
    const err = await expectKilnError(verifier.verifyDagJWS(jws, { controllers: [bob.did] }), 'UnauthorizedSignerError')
    expect(err.message).toContain(alice.did)
    expect((await verifier.verifyDagJWS(jws, { controllers: [carol.did], anySigner: true })).did).toBe(alice.did)
  })
})
