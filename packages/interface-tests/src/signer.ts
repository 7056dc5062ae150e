import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { base64url } from 'multiformats/bases/base64'
import type { DagJWS, DIDSigner, SignatureVerifier } from '@kiln/interface'

/** What the signer suite's `setup` returns: the signer under test, a second signer of another DID, a verifier of both. */
export interface SignerTestContext {
  signer: DIDSigner
  /** Signs for a different DID than `signer`. */
  otherSigner: DIDSigner
  /** Must resolve the DIDs of both signers. */
  verifier: SignatureVerifier
}

/** Options of {@link signerTests}. `setup` runs before every test and must return the same DIDs each time. */
export interface SignerTestOptions {
  setup (): SignerTestContext | Promise<SignerTestContext>
  teardown? (context: SignerTestContext): void | Promise<void>
}

const DAG_CBOR = 0x71
const utf8 = new TextEncoder()

/** Defines the compliance tests every `DIDSigner` + `SignatureVerifier` pair must pass. */
export function signerTests (options: SignerTestOptions): void {
  describe('DIDSigner compliance', () => {
    let context: SignerTestContext
    let signer: DIDSigner
    let otherSigner: DIDSigner
    let verifier: SignatureVerifier

    beforeEach(async () => {
      context = await options.setup()
      ;({ signer, otherSigner, verifier } = context)
    })

    afterEach(async () => {
      await options.teardown?.(context)
    })

    it('signs a CID that the verifier accepts, naming the signer and the CID', async () => {
      const cid = await cidOf('hello')
      const verified = await verifier.verifyDagJWS(await signer.createDagJWS(cid))
      expect(verified.did).toBe(signer.did)
      expect(verified.kid).toBe(signer.kid)
      expect(verified.payload.equals(cid)).toBe(true)
    })

    it('accepts a signer that is one of the controllers', async () => {
      const jws = await signer.createDagJWS(await cidOf('controlled'))
      const verified = await verifier.verifyDagJWS(jws, { controllers: [otherSigner.did, signer.did] })
      expect(verified.did).toBe(signer.did)
    })

    it('links the JWS to the CID and carries the CID bytes as base64url payload', async () => {
      const cid = await cidOf('link')
      const jws = await signer.createDagJWS(cid)
      expect(jws.link?.equals(cid)).toBe(true)
      expect(jws.payload).toBe(base64url.baseEncode(cid.bytes))
      expect(jws.signatures).toHaveLength(1)
    })

    it('writes a protected header of exactly {alg, kid}, with kid naming a key of the signer DID', async () => {
      const jws = await signer.createDagJWS(await cidOf('header'))
      const header = JSON.parse(new TextDecoder().decode(base64url.baseDecode(jws.signatures[0]?.protected ?? '')))
      expect(header).toEqual({ alg: signer.alg, kid: signer.kid })
      expect(signer.kid.startsWith(`${signer.did}#`)).toBe(true)
      expect(['EdDSA', 'ES256K']).toContain(signer.alg)
    })

    it('has the same DID every time it is set up', async () => {
      const again = await options.setup()
      try {
        expect(again.signer.did).toBe(signer.did)
        expect(again.signer.kid).toBe(signer.kid)
        expect(again.otherSigner.did).not.toBe(signer.did)
      } finally {
        await options.teardown?.(again)
      }
    })

    it('rejects a tampered payload with InvalidSignatureError', async () => {
      const jws = await signer.createDagJWS(await cidOf('original'))
      const forged = await cidOf('forged')
      const tampered: DagJWS = { ...jws, payload: base64url.baseEncode(forged.bytes), link: forged }
      await expectRejection(verifier.verifyDagJWS(tampered), 'InvalidSignatureError')
    })

    it('rejects a JWS whose link is not the CID its payload names', async () => {
      const jws = await signer.createDagJWS(await cidOf('payload'))
      await expectRejection(verifier.verifyDagJWS({ ...jws, link: await cidOf('elsewhere') }), 'InvalidSignatureError')
    })

    it('rejects a signature swapped in from another JWS of the same signer', async () => {
      const jws = await signer.createDagJWS(await cidOf('first'))
      const other = await signer.createDagJWS(await cidOf('second'))
      await expectRejection(verifier.verifyDagJWS(withSignature(jws, other)), 'InvalidSignatureError')
    })

    it('rejects a signature swapped in from another signer', async () => {
      const cid = await cidOf('same content')
      const jws = await signer.createDagJWS(cid)
      const other = await otherSigner.createDagJWS(cid)
      await expectRejection(verifier.verifyDagJWS(withSignature(jws, other)), 'InvalidSignatureError')
    })

    it('rejects a header that claims the signer kid but was signed by another key', async () => {
      const cid = await cidOf('impostor')
      const header = base64url.baseEncode(utf8.encode(JSON.stringify({ alg: signer.alg, kid: signer.kid })))
      const payload = base64url.baseEncode(cid.bytes)
      const signature = await otherSigner.sign(utf8.encode(`${header}.${payload}`))
      const forged: DagJWS = { payload, signatures: [{ protected: header, signature: base64url.baseEncode(signature) }], link: cid }
      await expectRejection(verifier.verifyDagJWS(forged, { controllers: [signer.did] }), 'InvalidSignatureError')
    })

    it('rejects a validly signed JWS whose signer is not one of the controllers, naming the signer', async () => {
      const jws = await otherSigner.createDagJWS(await cidOf('not yours'))
      const err = await expectRejection(verifier.verifyDagJWS(jws, { controllers: [signer.did] }), 'UnauthorizedSignerError')
      expect(err.message).toContain(otherSigner.did)
    })

    it('rejects every signer when the controllers list is empty', async () => {
      const jws = await signer.createDagJWS(await cidOf('nobody'))
      await expectRejection(verifier.verifyDagJWS(jws, { controllers: [] }), 'UnauthorizedSignerError')
    })

    it('rejects a JWS without signatures', async () => {
      const jws = await signer.createDagJWS(await cidOf('unsigned'))
      await expectRejection(verifier.verifyDagJWS({ ...jws, signatures: [] }), 'InvalidSignatureError')
    })

    it('rejects a protected header that is not base64url JSON', async () => {
      const jws = await signer.createDagJWS(await cidOf('bad header'))
      const signature = jws.signatures[0]?.signature ?? ''
      for (const header of ['not base64url!', base64url.baseEncode(utf8.encode('{"alg": "EdDSA"'))]) {
        await expectRejection(verifier.verifyDagJWS({ ...jws, signatures: [{ protected: header, signature }] }), 'InvalidSignatureError')
      }
    })

    it('signs different CIDs with different signatures, each verifying only for its own CID', async () => {
      const a = await signer.createDagJWS(await cidOf('a'))
      const b = await signer.createDagJWS(await cidOf('b'))
      expect(a.signatures[0]?.signature).not.toBe(b.signatures[0]?.signature)
      expect((await verifier.verifyDagJWS(a)).payload.equals(a.link)).toBe(true)
      expect((await verifier.verifyDagJWS(b)).payload.equals(b.link)).toBe(true)
    })
  })
}

async function cidOf (text: string): Promise<CID> {
  return CID.create(1, DAG_CBOR, await sha256.digest(utf8.encode(text)))
}

function withSignature (jws: DagJWS, from: DagJWS): DagJWS {
  const [own] = jws.signatures
  const [theirs] = from.signatures
  return { ...jws, signatures: [{ protected: own?.protected ?? '', signature: theirs?.signature ?? '' }] }
}

async function expectRejection (promise: Promise<unknown>, name: string): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, `expected a rejection with ${name}`).toBeInstanceOf(Error)
  expect((err as Error).name).toBe(name)
  return err as Error
}
