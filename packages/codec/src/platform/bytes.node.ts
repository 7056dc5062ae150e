// Byte helpers in Node: Buffer's native codecs and search. The browser build resolves `#platform/bytes` (package.json
// `imports`, `browser` condition) to bytes.browser.ts, which has the same functions without Buffer.

function bufferOf (bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Padded RFC 4648 base64. */
export function toBase64 (bytes: Uint8Array): string {
  return bufferOf(bytes).toString('base64')
}

/** Decodes base64 leniently (skipping what it cannot read): callers re-encode to insist on the canonical form. */
export function fromBase64Lenient (encoded: string): Uint8Array {
  const bytes = Buffer.from(encoded, 'base64')
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Unpadded base64url. */
export function toBase64url (bytes: Uint8Array): string {
  return bufferOf(bytes).toString('base64url')
}

/** Decodes base64url leniently: callers re-encode to insist on the canonical form. */
export function fromBase64urlLenient (encoded: string): Uint8Array {
  const bytes = Buffer.from(encoded, 'base64url')
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** True when `needle` occurs in `haystack`. */
export function includesBytes (haystack: Uint8Array, needle: Uint8Array): boolean {
  return bufferOf(haystack).indexOf(needle) !== -1
}

/** The length of `text` in UTF-8 bytes. */
export function utf8ByteLength (text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** One character per byte: a string that compares equal exactly when the bytes do. */
export function latin1String (bytes: Uint8Array): string {
  return bufferOf(bytes).toString('latin1')
}
