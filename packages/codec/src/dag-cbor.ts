import { CodecError, type Block } from '@kiln/interface'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { verifyBlock } from './cid.js'

/** Multicodec code of dag-cbor (unsigned records, Merkle nodes, proofs). */
export const DAG_CBOR = dagCbor.code

/** Encodes an unsigned record as a dag-cbor block with a sha2-256 CID. Values IPLD cannot hold are a `CodecError`. */
export async function encodeRecord (record: unknown): Promise<Block> {
  let bytes: Uint8Array
  try {
    bytes = dagCbor.encode(record)
  } catch (err) {
    throw new CodecError(`Record cannot be encoded as dag-cbor: ${(err as Error).message}`, { cause: err })
  }
  const digest = await sha256.digest(bytes)
  return { cid: CID.createV1(DAG_CBOR, digest), bytes }
}

/** Decodes a dag-cbor block; when `cid` is given, the bytes must hash to it and it must be a dag-cbor CID. */
export async function decodeRecord<T = unknown> (bytes: Uint8Array, cid?: CID): Promise<T> {
  if (cid !== undefined) {
    if (cid.code !== DAG_CBOR) {
      throw new CodecError(`${cid.toString()} is not a dag-cbor CID (codec 0x${cid.code.toString(16)})`, { details: { cid: cid.toString() } })
    }
    await verifyBlock(cid, bytes)
  }
  try {
    return dagCbor.decode<T>(bytes)
  } catch (err) {
    throw new CodecError(`Bytes are not valid dag-cbor: ${(err as Error).message}`, { cause: err, details: cid === undefined ? {} : { cid: cid.toString() } })
  }
}
