// Unpadded base64url in Node: Buffer's native codec. The browser build resolves `#platform/base64url` to
// base64url.browser.ts.

/** Unpadded base64url. */
export function toBase64url (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/**
 * Decodes base64url leniently (Node's decoder skips characters outside the alphabet); the caller checks the
 * canonical re-encoding, which refuses everything this let through.
 */
export function fromBase64urlLenient (encoded: string): Uint8Array {
  const bytes = Buffer.from(encoded, 'base64url')
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
