import { sha256 as nobleSha256 } from '@noble/hashes/sha2'
import { bytesToHex } from '@noble/hashes/utils'

/** SHA-256 of `bytes`, in JavaScript (WebCrypto's digest is asynchronous, and sync keys are hashed synchronously). */
export function sha256 (bytes: Uint8Array): Uint8Array {
  return nobleSha256(bytes)
}

/** Lower-case hex of `bytes`. */
export const toHex: (bytes: Uint8Array) => string = bytesToHex
