import { CodecError, type Block, type DagJWS } from '@kiln/interface'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagJose from 'dag-jose'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { cidFromBytes, verifyBlock } from './cid.js'
import { checkReencodes } from './dag-cbor.js'
import { fromBase64urlLenient, toBase64url } from '#platform/bytes'

/** Multicodec code of dag-jose (signed records). */
export const DAG_JOSE = dagJose.code

/**
 * Decodes canonical unpadded base64url with Node's native decoder (a portable one in the browser build); anything else (padding, stray characters, spare
 * bits) is a `CodecError`, so one JWS string has exactly one block.
 */
function fromBase64url (encoded: unknown, field: string): Uint8Array {
  if (typeof encoded !== 'string') throw new CodecError(`JWS ${field} must be a base64url string`)
  const bytes = fromBase64urlLenient(encoded)
  if (toBase64url(bytes) !== encoded) throw new CodecError(`JWS ${field} is not canonical unpadded base64url`)
  return bytes
}


/**
 * Encodes a general-form DAG-JWS as a dag-jose block with a sha2-256 CID. The block is dag-jose's encoded form
 * (`{payload, signatures: [{protected, signature, header?}]}` with bytes), built here with Node's base64 rather than
 * through `dag-jose`'s JS decoder, which dominated the cost of ingesting a commit; the tests check the bytes are the
 * same as `dag-jose`'s.
 */
export async function encodeJWS (jws: DagJWS): Promise<Block> {
  if (!Array.isArray(jws.signatures) || jws.signatures.length === 0) throw new CodecError('JWS has no signatures')
  const payload = fromBase64url(jws.payload, 'payload')
  // what decodeJWS reads back: a payload that is a CID's canonical bytes
  cidFromBytes(payload, 'JWS payload')
  const encoded = {
    payload,
    signatures: jws.signatures.map((s, i) => {
      const signature: Record<string, unknown> = { signature: fromBase64url(s.signature, `signatures[${i}].signature`) }
      // what decodeJWS reads back: a protected header, and an unprotected one only as a map
      if (s.header !== undefined) {
        if (s.header === null || typeof s.header !== 'object' || Array.isArray(s.header)) throw new CodecError(`JWS signatures[${i}].header is not a map`)
        signature.header = s.header
      }
      if (s.protected === undefined || s.protected === '') throw new CodecError(`JWS signatures[${i}] has no protected header`)
      signature.protected = fromBase64url(s.protected, `signatures[${i}].protected`)
      return signature
    })
  }
  let bytes: Uint8Array
  try {
    const out = dagCbor.encode(encoded)
    bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  } catch (err) {
    throw new CodecError(`JWS cannot be encoded as dag-jose: ${(err as Error).message}`, { cause: err })
  }
  const digest = await sha256.digest(bytes)
  return { cid: CID.createV1(DAG_JOSE, digest), bytes }
}

/**
 * Decodes a dag-jose block into a general-form DAG-JWS whose payload is a CID (`link`). Encrypted (JWE) blocks and JWS
 * with a JSON payload are rejected: every Kiln signature is over a CID. When `cid` is given the bytes must hash to it
 * and be the envelope's one canonical encoding.
 */
export async function decodeJWS (bytes: Uint8Array, cid?: CID): Promise<DagJWS & { link: CID }> {
  if (cid !== undefined) {
    if (cid.code !== DAG_JOSE) {
      throw new CodecError(`${cid.toString()} is not a dag-jose CID (codec 0x${cid.code.toString(16)})`, { details: { cid: cid.toString() } })
    }
    await verifyBlock(cid, bytes)
  }
  let decoded: unknown
  try {
    decoded = dagCbor.decode(bytes)
  } catch (err) {
    throw new CodecError(`Bytes are not a valid dag-jose block: ${(err as Error).message}`, { cause: err })
  }
  // one signed commit, one envelope: another encoding of it would be another commit with the same signature
  checkReencodes(decoded, bytes, cid !== undefined, cid === undefined ? 'dag-jose block' : `Block ${cid.toString()}`, cid === undefined ? {} : { cid: cid.toString() })
  const jws = decoded as { payload?: unknown, signatures?: unknown } | null
  if (jws === null || typeof jws !== 'object' || !(jws.payload instanceof Uint8Array) || !Array.isArray(jws.signatures)) {
    throw new CodecError('dag-jose block is not a signed JWS')
  }
  if (jws.signatures.length === 0) throw new CodecError('dag-jose block is not a signed JWS')
  // the canonical bytes only, so that the payload signed is the link's own bytes
  const link = cidFromBytes(jws.payload, 'JWS payload')
  const signatures = jws.signatures.map((raw: unknown) => {
    const s = raw as { protected?: unknown, signature?: unknown, header?: unknown } | null
    if (s === null || typeof s !== 'object' || !(s.signature instanceof Uint8Array)) throw new CodecError('JWS signature is malformed')
    if (!(s.protected instanceof Uint8Array)) throw new CodecError('JWS signature has no protected header')
    const signature: DagJWS['signatures'][number] = { protected: toBase64url(s.protected), signature: toBase64url(s.signature) }
    if (s.header !== undefined) {
      if (s.header === null || typeof s.header !== 'object' || Array.isArray(s.header)) throw new CodecError('JWS unprotected header is not a map')
      signature.header = s.header as Record<string, unknown>
    }
    return signature
  })
  return { payload: toBase64url(jws.payload), signatures, link }
}
