// Byte helpers without Buffer, for the browser build (chosen by the `browser` condition of package.json's `imports`);
// the same functions as bytes.node.ts. The decoders are strict where Node's are lenient: a string outside the
// alphabet decodes to no bytes, which the callers' canonical re-encoding check then refuses, as it refuses what
// Node's decoders skipped.

const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function valuesOf (alphabet: string): Int16Array {
  const values = new Int16Array(128).fill(-1)
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i
  return values
}
const STANDARD_VALUES = valuesOf(STANDARD)
const URL_SAFE_VALUES = valuesOf(URL_SAFE)

function encode (bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '')
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '')
  }
  return out
}

function decode (encoded: string, values: Int16Array): Uint8Array {
  let end = encoded.length
  while (end > 0 && encoded.charCodeAt(end - 1) === 61) end--
  if (end % 4 === 1) return new Uint8Array(0)
  const out = new Uint8Array(Math.floor(end * 3 / 4))
  let bits = 0
  let value = 0
  let o = 0
  for (let i = 0; i < end; i++) {
    const code = encoded.charCodeAt(i)
    const v = code < 128 ? values[code]! : -1
    if (v < 0) return new Uint8Array(0)
    value = ((value << 6) | v) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (value >> bits) & 0xff
    }
  }
  return out.subarray(0, o)
}

/** Padded RFC 4648 base64. */
export function toBase64 (bytes: Uint8Array): string {
  return encode(bytes, STANDARD, true)
}

/** Decodes base64, padded or not; anything else gives no bytes (callers re-encode to insist on the canonical form). */
export function fromBase64Lenient (encoded: string): Uint8Array {
  return decode(encoded, STANDARD_VALUES)
}

/** Unpadded base64url. */
export function toBase64url (bytes: Uint8Array): string {
  return encode(bytes, URL_SAFE, false)
}

/** Decodes unpadded base64url; anything else gives no bytes (callers re-encode to insist on the canonical form). */
export function fromBase64urlLenient (encoded: string): Uint8Array {
  if (encoded.includes('=')) return new Uint8Array(0)
  return decode(encoded, URL_SAFE_VALUES)
}

/** True when `needle` occurs in `haystack`. */
export function includesBytes (haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return true
  const first = needle[0]!
  const last = haystack.length - needle.length
  for (let i = haystack.indexOf(first); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1
    while (j < needle.length && haystack[i + j] === needle[j]) j++
    if (j === needle.length) return true
  }
  return false
}

const encoder = new TextEncoder()

/** The length of `text` in UTF-8 bytes. */
export function utf8ByteLength (text: string): number {
  return encoder.encode(text).length
}

/** One character per byte: a string that compares equal exactly when the bytes do. */
export function latin1String (bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192))
  return out
}
