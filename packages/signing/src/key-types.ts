import { ed25519 } from '@noble/curves/ed25519'
import { secp256k1 } from '@noble/curves/secp256k1'
import { sha256 } from '@noble/hashes/sha2'
import type { SignatureAlgorithm } from '@kiln/interface'
import { ed25519Signer, ed25519Verify } from '#platform/ed25519'

/** The key types a `did:key` signer can hold. */
export type KeyType = 'ed25519' | 'secp256k1'

/** What Kiln needs to know about one key type: its JOSE alg, its multicodec and its curve operations. */
interface KeyTypeSpec {
  alg: SignatureAlgorithm
  /** Multicodec of the public key in a `did:key` (0xed ed25519-pub, 0xe7 secp256k1-pub). */
  multicodec: number
  publicKey (seed: Uint8Array): Uint8Array
  /** Prepares the private key once and returns the function that signs with it. */
  signerFor (seed: Uint8Array): (signingInput: Uint8Array) => Uint8Array | Promise<Uint8Array>
  verify (publicKey: Uint8Array, signingInput: Uint8Array, signature: Uint8Array): boolean | Promise<boolean>
  isValidPublicKey (publicKey: Uint8Array): boolean
}

const ed25519Spec: KeyTypeSpec = {
  alg: 'EdDSA',
  multicodec: 0xed,
  publicKey: (seed) => ed25519.getPublicKey(seed),
  // The curve operations come from the platform module (`#platform/ed25519`, chosen by package.json conditions):
  // OpenSSL through node:crypto in Node, WebCrypto with a @noble/curves fallback in a browser.
  signerFor: (seed) => ed25519Signer(seed),
  // RFC 8032 verification. Public keys were already checked to be valid points when the DID was resolved.
  verify: (publicKey, input, signature) => ed25519Verify(publicKey, input, signature),
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
