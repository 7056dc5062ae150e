import { CodecError } from '@kiln/interface'
import { base32 } from 'multiformats/bases/base32'
import { base58btc } from 'multiformats/bases/base58'
import { varint } from 'multiformats'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { identity } from 'multiformats/hashes/identity'

/**
 * Parses a CID from its string form (base32, base58btc, or a CIDv0), written as its base writes it, or passes a CID
 * through; anything else is a `CodecError` naming `field`.
 */
export function parseCID (value: unknown, field = 'cid'): CID {
  const asCid = CID.asCID(value)
  if (asCid !== null) return asCid
  if (typeof value !== 'string' || value.length === 0) {
    throw new CodecError(`${field} must be a CID string, got ${describe(value)}`, { details: { field, value: describe(value) } })
  }
  let cid: CID
  try {
    // rebuilt from its bytes: a CID multiformats parses prints as the string it came from, however spelled
    cid = CID.decode(CID.parse(value).bytes)
  } catch (err) {
    throw new CodecError(`${field} is not a valid CID: ${value}`, { cause: err, details: { field, value } })
  }
  // multiformats' base58btc reads a character above U+00FF as some digit instead of refusing it, and its base32 skips
  // trailing '=': the bytes are encoded again in the input's base and must give back the input
  const spelled = value[0] === 'Q' ? base58btc.encode(cid.bytes).slice(1) : value[0] === base58btc.prefix ? base58btc.encode(cid.bytes) : base32.encode(cid.bytes)
  if (spelled !== value) {
    throw new CodecError(`${field} is not a valid CID: ${value} is not the canonical spelling in its base (${spelled})`, { details: { field, value } })
  }
  return cid
}

/**
 * Decodes a CID from its binary form, the canonical one only: multiformats also reads padded varints, and a CIDv0
 * written with a version and codec, as some other CID's bytes. Trailing bytes are refused.
 */
export function cidFromBytes (bytes: Uint8Array, field = 'cid'): CID {
  let cid: CID
  let rest: Uint8Array
  try {
    [cid, rest] = CID.decodeFirst(bytes)
  } catch (err) {
    throw new CodecError(`${field} is not a valid binary CID`, { cause: err, details: { field } })
  }
  if (rest.length > 0) throw new CodecError(`${field} has ${rest.length} trailing bytes`, { details: { field } })
  const mh = cid.multihash
  const canonical = equalBytes(cid.bytes, bytes) && (cid.version !== 0 || mh.size === 32) &&
    varint.encodingLength(mh.code) + varint.encodingLength(mh.size) + mh.size === mh.bytes.length
  if (!canonical) throw new CodecError(`${field} is not a CID in canonical binary form (${cid.toString()} is written otherwise)`, { details: { field, cid: cid.toString() } })
  return cid
}

/** Checks that `bytes` hash to `cid` (sha2-256 or identity multihash); throws `CodecError` when they do not. */
export async function verifyBlock (cid: CID, bytes: Uint8Array): Promise<void> {
  let digest: Uint8Array
  if (cid.multihash.code === sha256.code) {
    digest = (await sha256.digest(bytes)).digest
  } else if (cid.multihash.code === identity.code) {
    digest = identity.digest(bytes).digest
  } else {
    throw new CodecError(`Unsupported multihash 0x${cid.multihash.code.toString(16)} in ${cid.toString()}`, { details: { cid: cid.toString() } })
  }
  if (!equalBytes(digest, cid.multihash.digest)) {
    throw new CodecError(`Block bytes do not match their CID ${cid.toString()}`, { details: { cid: cid.toString() } })
  }
}

/** Byte-wise equality of two arrays. */
export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'string') return JSON.stringify(value)
  if (value instanceof Uint8Array) return `${value.length} bytes`
  return typeof value
}
