import { createVerifier, decodeCompactJWS, keyDidSigner, signCompactJWS } from '@kiln/signing'
import { describe, expect, it } from 'vitest'

const admin = keyDidSigner({ seed: new Uint8Array(32).fill(0xad) })
const other = keyDidSigner({ seed: new Uint8Array(32).fill(0x0e), type: 'secp256k1' })

describe('compact JWS over JSON', () => {
  it('signs and verifies a JSON payload for an allowed DID', async () => {
    for (const signer of [admin, other]) {
      const jws = await signCompactJWS(signer, { code: 'abc', requestPath: '/api/v0/admin/pins' })
      expect(jws.split('.')).toHaveLength(3)
      const verified = await createVerifier().verifyCompactJWS(jws, { controllers: [signer.did] })
      expect(verified.did).toBe(signer.did)
      expect(verified.payload).toEqual({ code: 'abc', requestPath: '/api/v0/admin/pins' })
    }
  })

  it('rejects a DID that is not allowed, a tampered payload, and malformed input', async () => {
    const verifier = createVerifier()
    const jws = await signCompactJWS(admin, { code: 'abc' })
    await expect(verifier.verifyCompactJWS(jws, { controllers: [other.did] })).rejects.toMatchObject({ name: 'UnauthorizedSignerError' })
    const [h, , s] = jws.split('.')
    const forged = `${h}.${Buffer.from(JSON.stringify({ code: 'xyz' })).toString('base64url')}.${s}`
    await expect(verifier.verifyCompactJWS(forged)).rejects.toMatchObject({ name: 'InvalidSignatureError' })
    for (const bad of ['', 'a.b', 'a.b.c.d', `${h}.bm90IGpzb24.${s}`]) {
      await expect(verifier.verifyCompactJWS(bad)).rejects.toMatchObject({ name: 'InvalidSignatureError' })
    }
    expect(decodeCompactJWS(jws).payload).toEqual({ code: 'abc' })
  })
})
