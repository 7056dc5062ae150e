import { CodecError, type Commit, type DagJWS, type SignedCommit } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { cidFromBytes, parseCID } from './cid.js'
import { isSignedCommit } from './commit-shape.js'
import { fromBase64Lenient, fromBase64urlLenient, toBase64, toBase64url } from '#platform/bytes'

/** A signed commit in Ceramic's JSON wire form. */
export interface SignedCommitJSON {
  jws: {
    payload: string
    signatures: Array<{ protected: string, signature: string, header?: Record<string, unknown> }>
    link?: string
  }
  linkedBlock: string
  cacaoBlock?: string
}

/** Fields of unsigned commits that hold CIDs; the JSON form carries them as strings. */
const CID_FIELDS = ['id', 'prev', 'proof'] as const

/** Encodes bytes as RFC 4648 base64 without padding, as Ceramic's HTTP API does. */
export function bytesToBase64 (bytes: Uint8Array): string {
  return unpadded(toBase64(bytes))
}

/**
 * Decodes RFC 4648 base64, padded or not; anything else (stray or url-safe characters, wrong padding, spare bits set)
 * is a `CodecError` naming `field`. Node's native decoder does the work: it skips what it cannot read, so the result is
 * encoded again and must give back the input, which makes the accepted form canonical.
 */
export function base64ToBytes (value: unknown, field = 'base64'): Uint8Array {
  if (typeof value !== 'string') throw new CodecError(`${field} must be a base64 string`, { details: { field } })
  const bytes = fromBase64Lenient(value)
  const again = toBase64(bytes)
  if (again !== value && unpadded(again) !== value) throw new CodecError(`${field} is not valid base64`, { details: { field } })
  return bytes
}

function unpadded (base64: string): string {
  let end = base64.length
  while (end > 0 && base64.charCodeAt(end - 1) === 61) end--
  return end === base64.length ? base64 : base64.slice(0, end)
}

/** Turns a commit into Ceramic's JSON wire form: `{jws, linkedBlock}` with base64 blocks, or a record with CID strings. */
export function commitToJSON (commit: Commit): Record<string, unknown> {
  if (isSignedCommit(commit)) {
    const json: SignedCommitJSON = {
      jws: {
        payload: commit.jws.payload,
        signatures: commit.jws.signatures.map((s) => ({ ...s })),
        ...(commit.jws.link === undefined ? {} : { link: commit.jws.link.toString() })
      },
      linkedBlock: bytesToBase64(commit.linkedBlock)
    }
    if (commit.cacaoBlock !== undefined) json.cacaoBlock = bytesToBase64(commit.cacaoBlock)
    return json as unknown as Record<string, unknown>
  }
  const json: Record<string, unknown> = { ...(commit as unknown as Record<string, unknown>) }
  for (const field of CID_FIELDS) {
    const cid = CID.asCID(json[field])
    if (cid !== null) json[field] = cid.toString()
  }
  assertPlainJSON(json, 'commit')
  return json
}

/** Parses Ceramic's JSON wire form of a commit back into memory form; malformed input is a `CodecError`. */
export function commitFromJSON (json: unknown): Commit {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CodecError('Commit must be a JSON object')
  }
  const value = json as Record<string, unknown>
  if ('jws' in value) return signedCommitFromJSON(value)
  const record: Record<string, unknown> = { ...value }
  for (const field of CID_FIELDS) {
    if (record[field] !== undefined) record[field] = parseCID(record[field], field)
  }
  return record as unknown as Commit
}

function signedCommitFromJSON (value: Record<string, unknown>): SignedCommit {
  const jws = value.jws
  if (typeof jws !== 'object' || jws === null) throw new CodecError('jws must be an object')
  const { payload, signatures, link } = jws as Record<string, unknown>
  if (typeof payload !== 'string' || !isBase64url(payload)) throw new CodecError('jws.payload must be a base64url string')
  if (!Array.isArray(signatures) || signatures.length === 0) throw new CodecError('jws.signatures must be a non-empty list')
  const parsedSignatures = signatures.map((s: unknown, i) => {
    const sig = s as Record<string, unknown> | null
    if (sig === null || typeof sig !== 'object' || typeof sig.protected !== 'string' || typeof sig.signature !== 'string' ||
        !isBase64url(sig.protected) || !isBase64url(sig.signature)) {
      throw new CodecError(`jws.signatures[${i}] must have base64url \`protected\` and \`signature\``)
    }
    const header = sig.header
    if (header !== undefined && (typeof header !== 'object' || header === null)) throw new CodecError(`jws.signatures[${i}].header must be an object`)
    return header === undefined
      ? { protected: sig.protected, signature: sig.signature }
      : { protected: sig.protected, signature: sig.signature, header: header as Record<string, unknown> }
  })
  const payloadCid = payloadLink(payload)
  // Clients send the link in the CID's own string form: comparing strings spares parsing it.
  if (link !== undefined && link !== payloadCid.toString() && !parseCID(link, 'jws.link').equals(payloadCid)) {
    throw new CodecError('jws.link does not match the CID in jws.payload', { details: { link: String(link) } })
  }
  const result: SignedCommit = {
    jws: { payload, signatures: parsedSignatures, link: payloadCid } satisfies DagJWS,
    linkedBlock: base64ToBytes(value.linkedBlock, 'linkedBlock')
  }
  if (value.cacaoBlock !== undefined) result.cacaoBlock = base64ToBytes(value.cacaoBlock, 'cacaoBlock')
  return result
}

function payloadLink (payload: string): CID {
  // The caller checked the alphabet; a round trip through Node's decoder refuses spare bits and a stray length.
  const bytes = fromBase64urlLenient(payload)
  if (toBase64url(bytes) !== payload) throw new CodecError('jws.payload is not valid base64url')
  try {
    return cidFromBytes(bytes, 'jws.payload')
  } catch (err) {
    throw new CodecError(`jws.payload is not the bytes of a CID: ${(err as Error).message}`, { cause: err, details: { payload } })
  }
}

function isBase64url (value: string): boolean {
  return /^[A-Za-z0-9_-]*$/.test(value)
}

function assertPlainJSON (value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CodecError(`${path} is not a finite number`)
    return
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => { assertPlainJSON(v, `${path}[${i}]`) })
    return
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) assertPlainJSON(v, `${path}.${k}`)
    return
  }
  throw new CodecError(`${path} has no JSON wire form (${typeof value === 'object' ? 'binary or CID value' : typeof value})`)
}
