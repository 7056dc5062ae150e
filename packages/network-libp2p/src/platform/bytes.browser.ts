import { sha256 as nobleSha256 } from '@noble/hashes/sha2'

/** SHA-256 of `bytes`, in JavaScript (WebCrypto's digest is asynchronous, and sync keys are hashed synchronously). */
export function sha256 (bytes: Uint8Array): Uint8Array {
  return nobleSha256(bytes)
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lower-case hex of `bytes`. */
export function toHex (bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += HEX[byte]
  return out
}
