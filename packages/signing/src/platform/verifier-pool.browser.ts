// The verifier pool in a browser: no worker threads, so the pool verifies in the page (WebCrypto runs Ed25519
// natively and off the JavaScript thread's critical path), with the same exported name and interface as in Node.
import type { KilnVerifierPool, VerifierPoolInit } from '../verifier-pool.js'
import { createVerifier } from '../verifier.js'

/** A verifier pool of size 0: every signature is checked in the page. `stop()` has nothing to stop. */
export function createVerifierPool (init: VerifierPoolInit = {}): KilnVerifierPool {
  const verifier = createVerifier(init)
  return Object.freeze({
    ...verifier,
    size: 0,
    stats: () => ({ queued: 0, held: 0 }),
    stop: async () => {}
  })
}
