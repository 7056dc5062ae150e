// CIDs as the page needs them: version 1 in base32 (Kiln's form for every block of an anchor), to and from bytes, and
// the check that a block's bytes hash to its CID with SHA-256 (WebCrypto's, or the page's own without it).
import { sha256 } from './sha256.js'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const SHA2_256 = 0x12

/** Bytes as RFC 4648 base32, lower case, no padding. */
export function toBase32 (bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let buffer = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(buffer >> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31]
  return out
}

/** RFC 4648 base32 (lower case, no padding) as bytes, or undefined when it is not. */
export function fromBase32 (text: string): Uint8Array | undefined {
  const out: number[] = []
  let bits = 0
  let buffer = 0
  for (const char of text) {
    const value = ALPHABET.indexOf(char)
    if (value === -1) return undefined
    buffer = ((buffer << 5) | value) & 0xffff
    bits += 5
    if (bits >= 8) {
      out.push((buffer >> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return new Uint8Array(out)
}

/** A CID's binary form as its string (multibase `b`, base32). */
export function cidToString (bytes: Uint8Array): string {
  return `b${toBase32(bytes)}`
}

/** A CID string's binary form, or undefined when it is not a base32 CIDv1. */
export function cidFromString (text: string): Uint8Array | undefined {
  if (!text.startsWith('b')) return undefined
  return fromBase32(text.slice(1))
}

function varint (bytes: Uint8Array, at: number): [value: number, next: number] | undefined {
  let value = 0
  for (let shift = 0, i = at; i < bytes.length && shift < 28; shift += 7, i++) {
    const byte = bytes[i]!
    value |= (byte & 0x7f) << shift
    if ((byte & 0x80) === 0) return [value >>> 0, i + 1]
  }
  return undefined
}

/** A binary CIDv1's parts, or why it is not one. */
export function parseCid (bytes: Uint8Array): { version: number, codec: number, hash: number, digest: Uint8Array } | { reason: string } {
  const version = varint(bytes, 0)
  if (version === undefined || version[0] !== 1) return { reason: 'not a version 1 CID' }
  const codec = varint(bytes, version[1])
  const hash = codec === undefined ? undefined : varint(bytes, codec[1])
  const size = hash === undefined ? undefined : varint(bytes, hash[1])
  if (codec === undefined || hash === undefined || size === undefined) return { reason: 'a truncated CID' }
  if (size[1] + size[0] !== bytes.length) return { reason: 'a CID whose digest length does not match' }
  return { version: 1, codec: codec[0], hash: hash[0], digest: bytes.subarray(size[1]) }
}

/** Whether `block` hashes (SHA-256) to the digest of `cid`; the reason when not. */
export async function checkBlockHash (cid: string, block: Uint8Array): Promise<string | undefined> {
  const bytes = cidFromString(cid)
  if (bytes === undefined) return `${cid} is not a base32 CIDv1`
  const parts = parseCid(bytes)
  if ('reason' in parts) return `${cid} is ${parts.reason}`
  if (parts.hash !== SHA2_256) return `${cid} uses hash 0x${parts.hash.toString(16)}, not sha2-256`
  // Browsers give WebCrypto only to secure contexts (loopback or HTTPS): elsewhere the page hashes by itself.
  const digest = globalThis.crypto?.subtle === undefined ? sha256(block) : new Uint8Array(await crypto.subtle.digest('SHA-256', Uint8Array.from(block)))
  if (digest.length !== parts.digest.length || digest.some((byte, i) => byte !== parts.digest[i])) {
    return `the bytes of block ${cid} do not hash to its CID`
  }
  return undefined
}
