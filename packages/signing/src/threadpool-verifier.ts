import type { SignatureAlgorithm } from '@kiln/interface'
import { verifyEd25519OffThread } from '#platform/ed25519'
import { verifySignature } from './key-types.js'
import { verifierWithCheck, type KilnVerifier, type VerifierInit } from './verifier.js'

/**
 * Creates a verifier whose Ed25519 checks run in OpenSSL on libuv's thread pool (Node's `UV_THREADPOOL_SIZE`, 4 by
 * default): the calling thread decodes, resolves the DID and queues the check (about a tenth of a verification's
 * cost), and concurrent checks spread over the machine's cores. secp256k1 (pure JavaScript) is checked on the calling
 * thread. Same results and errors as `createVerifier`.
 */
export function createThreadpoolVerifier (init: VerifierInit = {}): KilnVerifier {
  return verifierWithCheck(init, async (alg: SignatureAlgorithm, publicKey, signingInput, signature) =>
    alg === 'EdDSA'
      ? await verifyEd25519OffThread(publicKey, signingInput, signature)
      : await verifySignature(alg, publicKey, signingInput, signature))
}
