import { CodecError, type Block } from '@kiln/interface'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { includesBytes } from '#platform/bytes'
import { equalBytes, verifyBlock } from './cid.js'

/** Multicodec code of dag-cbor (unsigned records, Merkle nodes, proofs). */
export const DAG_CBOR = dagCbor.code

/** The CBOR text string `__proto__` (0x69: text of 9 bytes), a map key no JavaScript object holds as its own. */
const PROTO_KEY = Uint8Array.from([0x69, 0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f])

function holdsProtoKey (bytes: Uint8Array): boolean {
  return includesBytes(bytes, PROTO_KEY)
}

/**
 * Checks that `value`, decoded from `bytes`, encodes back to exactly `bytes`: always for a block named by its CID
 * (`named`), and for any other record when it may hold a `__proto__` key. Decoding is lossy where encoding is not:
 * invalid UTF-8 becomes U+FFFD, maps keep any key order, a non-minimal float is read as a number, and a `__proto__`
 * key sets the object's prototype instead of becoming a key. A record that does not encode back has a second block
 * (and CID) that Kiln would read as the same record, or reads as something other implementations do not.
 */
export function checkReencodes (value: unknown, bytes: Uint8Array, named: boolean, what: string, details: Record<string, unknown>): void {
  if (!named && !holdsProtoKey(bytes)) return
  let again: Uint8Array
  try {
    again = dagCbor.encode(value)
  } catch (err) {
    throw new CodecError(`${what} is not canonical dag-cbor: what it decodes to cannot be encoded (${(err as Error).message})`, { cause: err, details })
  }
  if (!equalBytes(again, bytes)) {
    const reason = holdsProtoKey(bytes) ? 'it holds a map key "__proto__"' : 'its record encodes to other bytes (key order, UTF-8, integer or float width)'
    throw new CodecError(`${what} is not canonical dag-cbor: ${reason}`, { details })
  }
}

/**
 * Encodes an unsigned record as a dag-cbor block with a sha2-256 CID. Values IPLD cannot hold are a `CodecError`, and
 * so is a map key `__proto__`: no decoder gives it back as a key.
 */
export async function encodeRecord (record: unknown): Promise<Block> {
  let bytes: Uint8Array
  try {
    bytes = dagCbor.encode(record)
  } catch (err) {
    throw new CodecError(`Record cannot be encoded as dag-cbor: ${(err as Error).message}`, { cause: err })
  }
  if (holdsProtoKey(bytes)) checkReencodes(dagCbor.decode(bytes), bytes, false, 'Record', {})
  const digest = await sha256.digest(bytes)
  return { cid: CID.createV1(DAG_CBOR, digest), bytes }
}

/**
 * Decodes a dag-cbor block; when `cid` is given, the bytes must hash to it, it must be a dag-cbor CID and the bytes
 * must be the record's one canonical encoding. A map key `__proto__` is refused in any case.
 */
export async function decodeRecord<T = unknown> (bytes: Uint8Array, cid?: CID): Promise<T> {
  const details = cid === undefined ? {} : { cid: cid.toString() }
  if (cid !== undefined) {
    if (cid.code !== DAG_CBOR) {
      throw new CodecError(`${cid.toString()} is not a dag-cbor CID (codec 0x${cid.code.toString(16)})`, { details })
    }
    await verifyBlock(cid, bytes)
  }
  let value: T
  try {
    value = dagCbor.decode<T>(bytes)
  } catch (err) {
    throw new CodecError(`Bytes are not valid dag-cbor: ${(err as Error).message}`, { cause: err, details })
  }
  checkReencodes(value, bytes, cid !== undefined, cid === undefined ? 'Record' : `Block ${cid.toString()}`, details)
  return value
}
