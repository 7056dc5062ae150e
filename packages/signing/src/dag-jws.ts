import { CodecError, InvalidSignatureError, type DagJWS, type DIDSigner, type SignatureAlgorithm } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { fromBase64urlLenient, toBase64url } from '@kiln/codec'

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/** The most signatures one DAG-JWS may carry: enough for any multi-signature rule, few enough to bound the work. */
export const MAX_JWS_SIGNATURES = 16

/** One signature of a DAG-JWS, decoded, before anything about it is trusted. */
export interface DecodedSignature {
  alg: SignatureAlgorithm
  kid: string
  /** The capability the signature acts under (`ipfs://<CACAO CID>`), when its protected header names one. */
  cap?: string
  /** The bytes the signature covers: ASCII of `protected.payload`. */
  signingInput: Uint8Array
  signature: Uint8Array
}

/** What a DAG-JWS says once decoded, before anything about it is trusted. */
export interface DecodedDagJWS extends DecodedSignature {
  /** The CID the payload names. */
  payload: CID
  /** Every signature, in order; the fields above repeat the first one. */
  signatures: DecodedSignature[]
}

/** A signer of DAG-JWS, optionally acting under a capability (a CACAO) that its protected header names. */
export type JWSSigner = Pick<DIDSigner, 'alg' | 'kid' | 'sign'> & { readonly cap?: string }

/**
 * Signs `cid` as a general-form DAG-JWS with protected header `{alg, kid}` (`{alg, cap, kid}` for a signer acting
 * under a capability); any `DIDSigner` can delegate to it.
 */
export async function signDagJWS (signer: JWSSigner, cid: CID): Promise<DagJWS> {
  const link = CID.asCID(cid)
  if (link === null) throw new CodecError(`cannot sign ${String(cid)}: not a CID`)
  const payload = encodeBase64url(link.bytes)
  return { payload, signatures: [await signatureEntry(signer, payload)], link }
}

/**
 * Appends one more signature, by `signer`, over the payload of an existing DAG-JWS; the JWS given is not changed.
 * Throws `InvalidSignatureError` when the JWS is malformed or would carry more than {@link MAX_JWS_SIGNATURES}.
 */
export async function addSignature (jws: DagJWS, signer: JWSSigner | DIDSigner): Promise<DagJWS> {
  const decoded = decodeDagJWS(jws)
  if (decoded.signatures.length >= MAX_JWS_SIGNATURES) throw tooManySignatures(decoded.signatures.length + 1)
  const entry = await signatureEntry(jwsSignerOf(signer), jws.payload)
  return { payload: jws.payload, signatures: [...jws.signatures.map((s) => ({ ...s })), entry], link: decoded.payload }
}

/** Signs `cid` with every signer, in order, as one DAG-JWS (1 to {@link MAX_JWS_SIGNATURES} signers). */
export async function signDagJWSWithAll (signers: ReadonlyArray<JWSSigner | DIDSigner>, cid: CID): Promise<DagJWS> {
  if (signers.length === 0) throw new InvalidSignatureError('signDagJWSWithAll needs at least one signer')
  if (signers.length > MAX_JWS_SIGNATURES) throw tooManySignatures(signers.length)
  let jws = await signDagJWS(jwsSignerOf(signers[0]!), cid)
  for (const signer of signers.slice(1)) jws = await addSignature(jws, signer)
  return jws
}

/** The JWS-signing view of a signer: a CACAO session signer carries its `cap`, a plain one has none. */
function jwsSignerOf (signer: JWSSigner | DIDSigner): JWSSigner {
  const cap = (signer as { cap?: unknown }).cap
  return { alg: signer.alg, kid: signer.kid, sign: async (input) => await signer.sign(input), ...(typeof cap === 'string' ? { cap } : {}) }
}

async function signatureEntry (signer: JWSSigner, payload: string): Promise<{ protected: string, signature: string }> {
  // Keys in sorted order, as dids writes them (it stable-stringifies), so both produce the same header bytes.
  const fields = signer.cap === undefined ? { alg: signer.alg, kid: signer.kid } : { alg: signer.alg, cap: signer.cap, kid: signer.kid }
  const header = encodeBase64url(utf8Encoder.encode(JSON.stringify(fields)))
  const signature = await signer.sign(utf8Encoder.encode(`${header}.${payload}`))
  return { protected: header, signature: encodeBase64url(signature) }
}

function tooManySignatures (count: number): InvalidSignatureError {
  return new InvalidSignatureError(`JWS has ${count} signatures: a Kiln commit carries 1 to ${MAX_JWS_SIGNATURES}`, {
    details: { signatures: count, max: MAX_JWS_SIGNATURES }
  })
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
  if (jws.signatures.length === 0 || jws.signatures.length > MAX_JWS_SIGNATURES) throw tooManySignatures(jws.signatures.length)
  const signatures = jws.signatures.map((entry): DecodedSignature => {
    if (entry === null || typeof entry !== 'object' || typeof entry.protected !== 'string' || typeof entry.signature !== 'string') {
      throw new InvalidSignatureError('malformed JWS signature: expected { protected: string, signature: string }')
    }
    return {
      ...decodeHeader(entry.protected),
      signingInput: utf8Encoder.encode(`${entry.protected}.${jws.payload}`),
      signature: decodeBase64url(entry.signature, 'signature')
    }
  })
  const payload = decodePayload(jws.payload)
  if (jws.link !== undefined) {
    const link = CID.asCID(jws.link)
    if (link === null || !link.equals(payload)) {
      throw new InvalidSignatureError(`JWS link ${String(jws.link)} does not match its payload ${payload.toString()}`, {
        details: { link: String(jws.link), payload: payload.toString() }
      })
    }
  }
  return { ...signatures[0]!, payload, signatures }
}

function decodeHeader (encoded: string): { alg: SignatureAlgorithm, kid: string, cap?: string } {
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
  const { alg, kid, cap } = header as Record<string, unknown>
  if (alg !== 'EdDSA' && alg !== 'ES256K') {
    throw new InvalidSignatureError(`unsupported JWS alg ${JSON.stringify(alg)}: Kiln verifies EdDSA and ES256K`, { details: { alg } })
  }
  if (typeof kid !== 'string') throw new InvalidSignatureError('JWS protected header has no string kid')
  if (cap !== undefined && typeof cap !== 'string') throw new InvalidSignatureError('JWS protected header cap is not a string')
  return cap === undefined ? { alg, kid } : { alg, kid, cap }
}

function decodePayload (encoded: string): CID {
  const bytes = decodeBase64url(encoded, 'payload')
  try {
    return CID.decode(bytes)
  } catch (cause) {
    throw new InvalidSignatureError(`JWS payload ${JSON.stringify(encoded)} is not the bytes of a CID`, { cause })
  }
}

/** Unpadded base64url: Node's native encoder, or a portable one in the browser build (`@kiln/codec`'s `#platform/bytes`). */
function encodeBase64url (bytes: Uint8Array): string {
  return toBase64url(bytes)
}

/**
 * Decodes unpadded base64url, accepting only its canonical form: dag-jose stores the decoded bytes, so a signature
 * over any other spelling of the same bytes would stop verifying once the envelope is stored and read back.
 */
function decodeBase64url (encoded: string, what: string): Uint8Array {
  // Node's decoder (native, and lenient: it skips characters outside the alphabet), or the browser build's, followed
  // by the canonical re-encoding check, which refuses everything the decoder let through.
  const bytes = fromBase64urlLenient(encoded)
  if (toBase64url(bytes) !== encoded) {
    throw new InvalidSignatureError(`JWS ${what} is not canonical unpadded base64url: ${JSON.stringify(encoded.slice(0, 80))}`)
  }
  return bytes
}
