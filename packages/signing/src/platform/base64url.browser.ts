// Unpadded base64url without Buffer, for the browser build (chosen by the `browser` condition of package.json's
// `imports`). Strict where Node's decoder is lenient: a character outside the alphabet gives an empty result, which
// the caller's canonical re-encoding check then refuses, as it refuses what Node's decoder skipped.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const VALUES = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i

/** Unpadded base64url. */
export function toBase64url (bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!
  }
  return out
}

/** Decodes unpadded base64url; returns empty bytes for a string that is not base64url (the caller refuses it). */
export function fromBase64urlLenient (encoded: string): Uint8Array {
  if (encoded.length % 4 === 1) return new Uint8Array(0)
  const out = new Uint8Array(Math.floor(encoded.length * 3 / 4))
  let bits = 0
  let value = 0
  let o = 0
  for (let i = 0; i < encoded.length; i++) {
    const code = encoded.charCodeAt(i)
    const v = code < 128 ? VALUES[code]! : -1
    if (v < 0) return new Uint8Array(0)
    value = (value << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (value >> bits) & 0xff
    }
  }
  return out.subarray(0, o)
}
