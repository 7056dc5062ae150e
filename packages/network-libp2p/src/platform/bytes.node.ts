import { hash } from 'node:crypto'

/** SHA-256 of `bytes`, by OpenSSL. */
export function sha256 (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha256', bytes, 'buffer'))
}

/** Lower-case hex of `bytes`. */
export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
