// Ed25519 in Node: signing and verification run in OpenSSL (node:crypto), about 20 times the rate of the pure-JS
// curve on Node 20 (see `npm run bench`), which is what bounds a node's ingest rate. Keys are wrapped in their
// PKCS#8 / SPKI DER prefixes, nothing more. The browser build resolves `#platform/ed25519` to ed25519.browser.ts.
import { createPrivateKey, createPublicKey, sign as opensslSign, verify as opensslVerify, type KeyObject } from 'node:crypto'

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const publicKeyObjects = new Map<string, KeyObject>()
const PUBLIC_KEY_CACHE = 1024

function ed25519PublicKeyObject (publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('hex')
  let key = publicKeyObjects.get(id)
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' })
    if (publicKeyObjects.size >= PUBLIC_KEY_CACHE) publicKeyObjects.delete(publicKeyObjects.keys().next().value!)
    publicKeyObjects.set(id, key)
  }
  return key
}

/** Prepares the private key once and returns the function that signs with it. */
export function ed25519Signer (seed: Uint8Array): (input: Uint8Array) => Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  return (input) => new Uint8Array(opensslSign(null, input, key))
}

/**
 * RFC 8032 verification in OpenSSL, synchronous: a verifier pool's workers call it in a loop over a batch. Concurrent
 * commits spread over the machine's cores through that pool (verifier-pool.ts), not through libuv's thread pool.
 */
export function ed25519Verify (publicKey: Uint8Array, input: Uint8Array, signature: Uint8Array): boolean {
  return signature.length === 64 && opensslVerify(null, input, ed25519PublicKeyObject(publicKey), signature)
}

/**
 * Ed25519 verification in OpenSSL on libuv's thread pool (the callback form of `crypto.verify`): the calling thread
 * only queues it, so concurrent verifications run on the pool's threads, beside the caller.
 */
export async function verifyEd25519OffThread (publicKey: Uint8Array, signingInput: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (signature.length !== 64) return false
  let key: KeyObject
  try {
    key = ed25519PublicKeyObject(publicKey)
  } catch {
    return false
  }
  return await new Promise((resolve) => {
    opensslVerify(null, signingInput, key, signature, (err, ok) => { resolve(err === null && ok) })
  })
}
