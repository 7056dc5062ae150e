import { CodecError, type Block, type DagJWS } from '@kiln/interface'
import * as dagJose from 'dag-jose'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { verifyBlock } from './cid.js'

/** Multicodec code of dag-jose (signed records). */
export const DAG_JOSE = dagJose.code

/** Encodes a general-form DAG-JWS as a dag-jose block with a sha2-256 CID. */
export async function encodeJWS (jws: DagJWS): Promise<Block> {
  if (!Array.isArray(jws.signatures) || jws.signatures.length === 0) throw new CodecError('JWS has no signatures')
  let bytes: Uint8Array
  try {
    bytes = dagJose.encode({ payload: jws.payload, signatures: jws.signatures })
  } catch (err) {
    throw new CodecError(`JWS cannot be encoded as dag-jose: ${(err as Error).message}`, { cause: err })
  }
  const digest = await sha256.digest(bytes)
  return { cid: CID.createV1(DAG_JOSE, digest), bytes }
}

/**
 * Decodes a dag-jose block into a general-form DAG-JWS whose payload is a CID (`link`). Encrypted (JWE) blocks and JWS
 * with a JSON payload are rejected: every Kiln signature is over a CID. When `cid` is given the bytes must hash to it.
 */
export async function decodeJWS (bytes: Uint8Array, cid?: CID): Promise<DagJWS & { link: CID }> {
  if (cid !== undefined) {
    if (cid.code !== DAG_JOSE) {
      throw new CodecError(`${cid.toString()} is not a dag-jose CID (codec 0x${cid.code.toString(16)})`, { details: { cid: cid.toString() } })
    }
    await verifyBlock(cid, bytes)
  }
  let decoded: ReturnType<typeof dagJose.decode>
  try {
    decoded = dagJose.decode(bytes)
  } catch (err) {
    throw new CodecError(`Bytes are not a valid dag-jose block: ${(err as Error).message}`, { cause: err })
  }
  if (!('signatures' in decoded) || decoded.signatures.length === 0) {
    throw new CodecError('dag-jose block is not a signed JWS')
  }
  const link = CID.asCID(decoded.link)
  if (link === null) throw new CodecError('JWS payload is not a CID')
  const signatures = decoded.signatures.map((s) => {
    if (typeof s.protected !== 'string') throw new CodecError('JWS signature has no protected header')
    return s.header === undefined
      ? { protected: s.protected, signature: s.signature }
      : { protected: s.protected, signature: s.signature, header: s.header }
  })
  return { payload: decoded.payload, signatures, link }
}
