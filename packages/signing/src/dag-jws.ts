import { CodecError, InvalidSignatureError, type DagJWS, type DIDSigner, type SignatureAlgorithm } from '@kiln/interface'
import { CID } from 'multiformats/cid'

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/** What a DAG-JWS says once decoded, before anything about it is trusted. */
export interface DecodedDagJWS {
  alg: SignatureAlgorithm
  kid: string
  /** The CID the payload names. */
  payload: CID
  /** The bytes the signature covers: ASCII of `protected.payload`. */
  signingInput: Uint8Array
  signature: Uint8Array
}

/** Signs `cid` as a general-form DAG-JWS with protected header `{alg, kid}`; any `DIDSigner` can delegate to it. */
export async function signDagJWS (signer: Pick<DIDSigner, 'alg' | 'kid' | 'sign'>, cid: CID): Promise<DagJWS> {
  const link = CID.asCID(cid)
  if (link === null) throw new CodecError(`cannot sign ${String(cid)}: not a CID`)
  // Keys in sorted order, as dids writes them (it stable-stringifies), so both produce the same header bytes.
  const header = encodeBase64url(utf8Encoder.encode(JSON.stringify({ alg: signer.alg, kid: signer.kid })))
  const payload = encodeBase64url(link.bytes)
  const signature = await signer.sign(utf8Encoder.encode(`${header}.${payload}`))
  return { payload, signatures: [{ protected: header, signature: encodeBase64url(signature) }], link }
}

/** Signs a JSON payload as a compact JWS `protected.payload.signature` with protected header `{alg, kid}`. */
export async function signCompactJWS (signer: Pick<DIDSigner, 'alg' | 'kid' | 'sign'>, payload: unknown): Promise<string> {
  const header = encodeBase64url(utf8Encoder.encode(JSON.stringify({ alg: signer.alg, kid: signer.kid })))
  const body = encodeBase64url(utf8Encoder.encode(JSON.stringify(payload)))
  const signature = await signer.sign(utf8Encoder.encode(`${header}.${body}`))
  return `${header}.${body}.${encodeBase64url(signature)}`
}

/** Decodes a compact JWS with a JSON payload without verifying it; throws `InvalidSignatureError` when malformed. */
export function decodeCompactJWS (jws: string): { alg: SignatureAlgorithm, kid: string, payload: unknown, signingInput: Uint8Array, signature: Uint8Array } {
  if (typeof jws !== 'string') throw new InvalidSignatureError('a compact JWS must be a string')
  const parts = jws.split('.')
  if (parts.length !== 3) throw new InvalidSignatureError(`a compact JWS has three parts, this one ${parts.length}`)
  const [protectedHeader, body, signature] = parts as [string, string, string]
  const header = decodeHeader(protectedHeader)
  let payload: unknown
  try {
    payload = JSON.parse(utf8Decoder.decode(decodeBase64url(body, 'payload')))
  } catch (cause) {
    if (cause instanceof InvalidSignatureError) throw cause
    throw new InvalidSignatureError('JWS payload is not JSON', { cause })
  }
  return { ...header, payload, signingInput: utf8Encoder.encode(`${protectedHeader}.${body}`), signature: decodeBase64url(signature, 'signature') }
}

/** Decodes a DAG-JWS without verifying it; throws `InvalidSignatureError` naming the part that is malformed. */
export function decodeDagJWS (jws: DagJWS): DecodedDagJWS {
  if (jws === null || typeof jws !== 'object' || typeof jws.payload !== 'string' || !Array.isArray(jws.signatures)) {
    throw new InvalidSignatureError('malformed JWS: expected { payload: string, signatures: [...] }')
  }
  if (jws.signatures.length !== 1) {
    throw new InvalidSignatureError(`JWS has ${jws.signatures.length} signatures: a Kiln record carries exactly one`, {
      details: { signatures: jws.signatures.length }
    })
  }
  const entry = jws.signatures[0]
  if (entry === null || typeof entry !== 'object' || typeof entry.protected !== 'string' || typeof entry.signature !== 'string') {
    throw new InvalidSignatureError('malformed JWS signature: expected { protected: string, signature: string }')
  }
  const header = decodeHeader(entry.protected)
  const payload = decodePayload(jws.payload)
  if (jws.link !== undefined) {
    const link = CID.asCID(jws.link)
    if (link === null || !link.equals(payload)) {
      throw new InvalidSignatureError(`JWS link ${String(jws.link)} does not match its payload ${payload.toString()}`, {
        details: { link: String(jws.link), payload: payload.toString() }
      })
    }
  }
  return {
    ...header,
    payload,
    signingInput: utf8Encoder.encode(`${entry.protected}.${jws.payload}`),
    signature: decodeBase64url(entry.signature, 'signature')
  }
}

function decodeHeader (encoded: string): { alg: SignatureAlgorithm, kid: string } {
  let header: unknown
  try {
    header = JSON.parse(utf8Decoder.decode(decodeBase64url(encoded, 'protected header')))
  } catch (cause) {
    if (cause instanceof InvalidSignatureError) throw cause
    throw new InvalidSignatureError(`JWS protected header ${JSON.stringify(encoded)} is not JSON`, { cause })
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new InvalidSignatureError('JWS protected header is not a JSON object')
  }
  const { alg, kid } = header as Record<string, unknown>
  if (alg !== 'EdDSA' && alg !== 'ES256K') {
    throw new InvalidSignatureError(`unsupported JWS alg ${JSON.stringify(alg)}: Kiln verifies EdDSA and ES256K`, { details: { alg } })
  }
  if (typeof kid !== 'string') throw new InvalidSignatureError('JWS protected header has no string kid')
  return { alg, kid }
}

function decodePayload (encoded: string): CID {
  const bytes = decodeBase64url(encoded, 'payload')
  try {
    return CID.decode(bytes)
  } catch (cause) {
    throw new InvalidSignatureError(`JWS payload ${JSON.stringify(encoded)} is not the bytes of a CID`, { cause })
  }
}

/** Unpadded base64url, with Node's native encoder. */
function encodeBase64url (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/**
 * Decodes unpadded base64url, accepting only its canonical form: dag-jose stores the decoded bytes, so a signature
 * over any other spelling of the same bytes would stop verifying once the envelope is stored and read back.
 */
function decodeBase64url (encoded: string, what: string): Uint8Array {
  // Node's decoder (native, and lenient: it skips characters outside the alphabet) followed by the canonical
  // re-encoding check, which refuses everything the lenient decoder let through.
  const bytes = Buffer.from(encoded, 'base64url')
  if (bytes.toString('base64url') !== encoded) {
    throw new InvalidSignatureError(`JWS ${what} is not canonical unpadded base64url: ${JSON.stringify(encoded.slice(0, 80))}`)
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
