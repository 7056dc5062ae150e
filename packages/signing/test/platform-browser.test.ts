import { ed25519 } from '@noble/curves/ed25519'
import { fc } from '@kiln/interface-tests/fuzz'
import { InvalidSignatureError } from '@kiln/interface'
import { describe, expect, it } from 'vitest'
import * as browserEd from '../dist/platform/ed25519.browser.js'
import * as nodeEd from '../dist/platform/ed25519.node.js'
import { createVerifierPool as browserPool } from '../dist/platform/verifier-pool.browser.js'
import { keyDidSigner } from '@kiln/signing'

// The browser build's platform modules (chosen by the `browser` condition of package.json's `imports`) against
// Node's. Node 20 has WebCrypto Ed25519 too, so the browser module runs here as it does in a page; the page itself
// is tested in packages/browser/test/browser.test.ts.

const seeds = fc.uint8Array({ minLength: 32, maxLength: 32 })
const messages = fc.uint8Array({ maxLength: 200 })

describe('the browser Ed25519 module agrees with node:crypto', () => {
  it('signs the same bytes (Ed25519 is deterministic) and accepts what node:crypto accepts', async () => {
    await fc.assert(fc.asyncProperty(seeds, messages, fc.nat(63), fc.integer({ min: 1, max: 255 }), async (seed, message, at, flip) => {
      const signature = await browserEd.ed25519Signer(seed)(message)
      expect(signature).toEqual(nodeEd.ed25519Signer(seed)(message))
      const publicKey = ed25519.getPublicKey(seed)
      expect(await browserEd.ed25519Verify(publicKey, message, signature)).toBe(true)
      const tampered = Uint8Array.from(signature)
      tampered[at] = tampered[at]! ^ flip
      expect(await browserEd.ed25519Verify(publicKey, message, tampered)).toBe(nodeEd.ed25519Verify(publicKey, message, tampered))
      expect(await browserEd.ed25519Verify(publicKey, message, signature.subarray(0, 63))).toBe(false)
    }), { seed: 16, numRuns: 300 })
  })

  it('refuses a public key WebCrypto cannot import as a signature that does not verify, not an exception', async () => {
    expect(await browserEd.ed25519Verify(new Uint8Array(31), new Uint8Array(1), new Uint8Array(64))).toBe(false)
  })
})

describe('the browser verifier pool', () => {
  it('checks in-process with size 0 and the same errors as the verifier', async () => {
    const pool = browserPool()
    const signer = keyDidSigner({ seed: new Uint8Array(32).fill(3) })
    const { CID } = await import('multiformats/cid')
    const payload = CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
    const jws = await signer.createDagJWS(payload)
    expect((await pool.verifyDagJWS(jws)).did).toBe(signer.did)
    const sig = jws.signatures[0]!.signature
    const tampered = { ...jws, signatures: [{ ...jws.signatures[0]!, signature: (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1) }] }
    await expect(pool.verifyDagJWS(tampered)).rejects.toBeInstanceOf(InvalidSignatureError)
    expect(pool.size).toBe(0)
    expect(pool.stats()).toEqual({ queued: 0, held: 0 })
    await pool.stop()
  })
})
