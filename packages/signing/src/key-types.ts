import { createPrivateKey, createPublicKey, sign as opensslSign, verify as opensslVerify, type KeyObject } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519'
import { secp256k1 } from '@noble/curves/secp256k1'
import { sha256 } from '@noble/hashes/sha2'
import type { SignatureAlgorithm } from '@kiln/interface'

/** The key types a `did:key` signer can hold. */
export type KeyType = 'ed25519' | 'secp256k1'

/** What Kiln needs to know about one key type: its JOSE alg, its multicodec and its curve operations. */
interface KeyTypeSpec {
  alg: SignatureAlgorithm
  /** Multicodec of the public key in a `did:key` (0xed ed25519-pub, 0xe7 secp256k1-pub). */
  multicodec: number
  publicKey (seed: Uint8Array): Uint8Array
  /** Prepares the private key once and returns the function that signs with it. */
  signerFor (seed: Uint8Array): (signingInput: Uint8Array) => Uint8Array
  verify (publicKey: Uint8Array, signingInput: Uint8Array, signature: Uint8Array): boolean | Promise<boolean>
  isValidPublicKey (publicKey: Uint8Array): boolean
}

// Ed25519 signing and verification run in OpenSSL (node:crypto): about 20 times the rate of the pure-JS curve on
// Node 20 (see `npm run bench`), which is what bounds a node's ingest rate. Keys are wrapped in their PKCS#8 / SPKI
// DER prefixes, nothing more.
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

const ed25519Spec: KeyTypeSpec = {
  alg: 'EdDSA',
  multicodec: 0xed,
  publicKey: (seed) => ed25519.getPublicKey(seed),
  signerFor: (seed) => {
    const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
    return (input) => new Uint8Array(opensslSign(null, input, key))
  },
  // RFC 8032 verification (OpenSSL). Public keys were already checked to be valid points when the DID was resolved.
  // The synchronous form: a verifier pool's workers call it in a loop over a batch. Concurrent commits spread over
  // the machine's cores through that pool (verifier-pool.ts), not through libuv's thread pool.
  verify: (publicKey, input, signature) => signature.length === 64 && opensslVerify(null, input, ed25519PublicKeyObject(publicKey), signature),
  isValidPublicKey: (publicKey) => publicKey.length === 32 && ed25519.utils.isValidPublicKey(publicKey)
}

const secp256k1Spec: KeyTypeSpec = {
  alg: 'ES256K',
  multicodec: 0xe7,
  publicKey: (seed) => secp256k1.getPublicKey(seed, true),
  // As did-jwt: ECDSA over sha256 of the signing input, 64-byte r‖s, low S.
  signerFor: (seed) => (input) => secp256k1.sign(sha256(input), seed, { lowS: true }).toBytes('compact'),
  verify: (publicKey, input, signature) => {
    if (signature.length !== 64) return false
    try {
      // did-jwt normalises S before verifying, so Ceramic accepts high-S signatures; Kiln must accept what it accepts.
      return secp256k1.verify(signature, sha256(input), publicKey, { lowS: false, format: 'compact' })
    } catch {
      return false
    }
  },
  isValidPublicKey: (publicKey) => {
    try {
      secp256k1.Point.fromBytes(publicKey)
      return true
    } catch {
      return false
    }
  }
}

/** Every key type by name. */
export const keyTypes: Readonly<Record<KeyType, KeyTypeSpec>> = Object.freeze({
  ed25519: ed25519Spec,
  secp256k1: secp256k1Spec
})

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

/** The key type that signs with a JOSE alg. */
export function keyTypeOfAlg (alg: SignatureAlgorithm): KeyTypeSpec {
  return alg === 'EdDSA' ? ed25519Spec : secp256k1Spec
}

/** True when `signature` is a valid signature of `signingInput` by `publicKey` under `alg`. */
export async function verifySignature (alg: SignatureAlgorithm, publicKey: Uint8Array, signingInput: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    return await keyTypeOfAlg(alg).verify(publicKey, signingInput, signature)
  } catch {
    return false
  }
}
