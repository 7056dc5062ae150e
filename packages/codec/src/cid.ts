import { CodecError } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { identity } from 'multiformats/hashes/identity'

/** Parses a CID from its string form, or passes a CID through; anything else is a `CodecError` naming `field`. */
export function parseCID (value: unknown, field = 'cid'): CID {
  const asCid = CID.asCID(value)
  if (asCid !== null) return asCid
  if (typeof value !== 'string' || value.length === 0) {
    throw new CodecError(`${field} must be a CID string, got ${describe(value)}`, { details: { field, value: describe(value) } })
  }
  try {
    return CID.parse(value)
  } catch (err) {
    throw new CodecError(`${field} is not a valid CID: ${value}`, { cause: err, details: { field, value } })
  }
}

/** Decodes a CID from its binary form, rejecting trailing bytes. */
export function cidFromBytes (bytes: Uint8Array, field = 'cid'): CID {
  try {
    const [cid, rest] = CID.decodeFirst(bytes)
    if (rest.length > 0) throw new CodecError(`${field} has ${rest.length} trailing bytes`)
    return cid
  } catch (err) {
    if (err instanceof CodecError) throw err
    throw new CodecError(`${field} is not a valid binary CID`, { cause: err, details: { field } })
  }
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
