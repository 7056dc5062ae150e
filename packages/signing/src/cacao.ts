import { decodeRecord, encodeRecord } from '@kiln/codec'
import { InvalidCapabilityError, type Block, type DIDSigner } from '@kiln/interface'
import { secp256k1 } from '@noble/curves/secp256k1'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils'
import { CID } from 'multiformats/cid'
import { signDagJWS } from './dag-jws.js'
import { checksumAddress, ethereumAddressOfKey, ethereumMessageHash } from './ethereum.js'
import { parseKid } from './did-url.js'

/** What a Sign-In with Ethereum (EIP-4361) CACAO grants: its fields are the SIWE message's. */
export interface CacaoPayload {
  /** The site that asked for the session (the SIWE domain). */
  domain: string
  /** Who grants: `did:pkh:eip155:<chainId>:<address>`. */
  iss: string
  /** Who is granted: the session key's DID (the SIWE URI). */
  aud: string
  version: string
  nonce: string
  /** Issued at, RFC 3339. */
  iat: string
  /** Not before, RFC 3339. */
  nbf?: string
  /** Expires at, RFC 3339. */
  exp?: string
  statement?: string
  requestId?: string
  /** What the session may write: `ceramic://*` or `ceramic://<DocID>`. */
  resources?: string[]
}

/** A CACAO (chain-agnostic object capability) as did-session makes them for Ethereum accounts: SIWE, signed with EIP-191. */
export interface Cacao {
  h: { t: 'eip4361' }
  p: CacaoPayload
  /** The `personal_sign` signature of the SIWE message, `0x` ‖ r ‖ s ‖ v in hex. */
  s: { t: 'eip191', s: string }
}

/** What a verified CACAO established: who granted it, on which chain. */
export interface VerifiedCacao {
  /** The issuer, `did:pkh:eip155:<chainId>:<address>`, as the CACAO writes it. */
  did: string
  chainId: string
  /** The address the signature recovers, lower case. */
  address: string
}

/** Options of {@link verifyCacao}. */
export interface VerifyCacaoOptions {
  /** The time (ms since the epoch) at which the CACAO must be valid. Default: `Date.now()`. */
  now?: number
  /** Clock tolerance for `iat`, `nbf` and `exp`, in ms. Default {@link CACAO_CLOCK_SKEW_MS}. */
  skewMs?: number
}

/** How far clocks may disagree when a CACAO's times are judged: five minutes, Ceramic's tolerance. */
export const CACAO_CLOCK_SKEW_MS = 5 * 60 * 1000

const PKH_EIP155 = /^did:pkh:eip155:([0-9]{1,32}):(0x[0-9a-fA-F]{40})$/
const HEX_SIGNATURE = /^0x[0-9a-fA-F]{130}$/
const CAP_PREFIX = 'ipfs://'
const OPTIONAL_STRINGS = ['nbf', 'exp', 'statement', 'requestId'] as const
const REQUIRED_STRINGS = ['domain', 'iss', 'aud', 'version', 'nonce', 'iat'] as const
const TIMES = ['iat', 'nbf', 'exp'] as const
/** A CACAO block bigger than this is refused before it is decoded: a real one is well under 2 KiB. */
export const MAX_CACAO_BYTES = 16 * 1024

function refuse (reason: string, message: string, details: Record<string, unknown> = {}): InvalidCapabilityError {
  return new InvalidCapabilityError(`CACAO ${reason}: ${message}`, { details: { reason, ...details } })
}

/** Checks that a decoded value has the shape of a SIWE CACAO; throws `InvalidCapabilityError` (`format`) otherwise. */
export function asCacao (value: unknown): Cacao {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && CID.asCID(v) === null
  if (!isMap(value) || !isMap(value.h) || !isMap(value.p) || !isMap(value.s)) throw refuse('format', 'expected { h, p, s } maps')
  if (value.h.t !== 'eip4361') throw refuse('format', `header type ${JSON.stringify(value.h.t)} is not eip4361 (Sign-In with Ethereum)`)
  if (value.s.t !== 'eip191' || typeof value.s.s !== 'string') throw refuse('format', 'signature must be { t: "eip191", s: "0x…" }')
  const p = value.p
  for (const field of REQUIRED_STRINGS) {
    if (typeof p[field] !== 'string') throw refuse('format', `payload field ${field} must be a string`, { field })
  }
  for (const field of OPTIONAL_STRINGS) {
    if (p[field] !== undefined && typeof p[field] !== 'string') throw refuse('format', `payload field ${field} must be a string`, { field })
  }
  if (p.resources !== undefined && (!Array.isArray(p.resources) || !p.resources.every((r) => typeof r === 'string'))) {
    throw refuse('format', 'payload field resources must be a list of strings', { field: 'resources' })
  }
  for (const field of TIMES) {
    if (p[field] !== undefined && Number.isNaN(Date.parse(p[field] as string))) {
      throw refuse('format', `payload field ${field} ${JSON.stringify(p[field])} is not an RFC 3339 time`, { field })
    }
  }
  const payload: CacaoPayload = { domain: p.domain as string, iss: p.iss as string, aud: p.aud as string, version: p.version as string, nonce: p.nonce as string, iat: p.iat as string }
  for (const field of OPTIONAL_STRINGS) if (p[field] !== undefined) payload[field] = p[field] as string
  if (p.resources !== undefined) payload.resources = [...p.resources as string[]]
  return { h: { t: 'eip4361' }, p: payload, s: { t: 'eip191', s: value.s.s } }
}

/** Decodes a CACAO dag-cbor block (checked against `cid` when given); throws `InvalidCapabilityError` when malformed. */
export async function decodeCacao (bytes: Uint8Array, cid?: CID): Promise<Cacao> {
  if (!(bytes instanceof Uint8Array)) throw refuse('format', 'a CACAO block must be bytes')
  if (bytes.byteLength > MAX_CACAO_BYTES) throw refuse('format', `block of ${bytes.byteLength} bytes is over ${MAX_CACAO_BYTES}`)
  let value: unknown
  try {
    value = await decodeRecord(bytes, cid)
  } catch (cause) {
    throw new InvalidCapabilityError(`CACAO format: the block is not canonical dag-cbor${cid === undefined ? '' : ` hashing to ${cid.toString()}`}: ${(cause as Error).message}`, {
      cause, details: { reason: 'format' }
    })
  }
  return asCacao(value)
}

/** Encodes a CACAO as the dag-cbor block whose CID a session signature's `cap` names. */
export async function encodeCacao (cacao: Cacao): Promise<Block> {
  const checked = asCacao(cacao)
  return await encodeRecord(checked)
}

/** The `cap` value naming a CACAO block in a JWS protected header: `ipfs://<CID>`. */
export function capabilityURI (cid: CID): string {
  return `${CAP_PREFIX}${cid.toString()}`
}

/** The CID a `cap` value names; throws `InvalidCapabilityError` (`format`) when it is not `ipfs://<CID>`. */
export function parseCapabilityURI (cap: string): CID {
  if (typeof cap !== 'string' || !cap.startsWith(CAP_PREFIX)) throw refuse('format', `cap ${JSON.stringify(cap)} is not ipfs://<CID>`)
  try {
    return CID.parse(cap.slice(CAP_PREFIX.length))
  } catch (cause) {
    throw new InvalidCapabilityError(`CACAO format: cap ${JSON.stringify(cap.slice(0, 120))} does not name a CID`, { cause, details: { reason: 'format' } })
  }
}

/** The chain id and address of a `did:pkh:eip155:…` issuer; throws `InvalidCapabilityError` (`issuer`) for any other. */
export function parsePkhIssuer (iss: string): { chainId: string, address: string } {
  const match = PKH_EIP155.exec(iss)
  if (match === null) throw refuse('issuer', `issuer ${JSON.stringify(iss.slice(0, 120))} is not did:pkh:eip155:<chainId>:<0x address>`, { iss: iss.slice(0, 120) })
  return { chainId: match[1]!, address: match[2]! }
}

/**
 * The EIP-4361 message a CACAO's signature covers, built from its payload as the specification's grammar lays it
 * out; the address is written EIP-55 checksummed (or, with `address`, as given).
 */
export function siweMessage (payload: CacaoPayload, address?: string): string {
  const issuer = parsePkhIssuer(payload.iss)
  const lines = [
    `${payload.domain} wants you to sign in with your Ethereum account:`,
    address ?? checksumAddress(issuer.address),
    '',
    // An absent statement leaves its line out; the blank line after it stays.
    ...(payload.statement === undefined ? [] : [payload.statement]),
    '',
    `URI: ${payload.aud}`,
    `Version: ${payload.version}`,
    `Chain ID: ${issuer.chainId}`,
    `Nonce: ${payload.nonce}`,
    `Issued At: ${payload.iat}`
  ]
  if (payload.exp !== undefined) lines.push(`Expiration Time: ${payload.exp}`)
  if (payload.nbf !== undefined) lines.push(`Not Before: ${payload.nbf}`)
  if (payload.requestId !== undefined) lines.push(`Request ID: ${payload.requestId}`)
  if (payload.resources !== undefined) lines.push('Resources:', ...payload.resources.map((r) => `- ${r}`))
  return lines.join('\n')
}

/** The address whose key made a `personal_sign` signature over `message`, or undefined when none can be recovered. */
function recoverAddress (message: string, signature: Uint8Array): string | undefined {
  const v = signature[64]!
  if (![0, 1, 27, 28].includes(v)) return undefined
  try {
    const sig = secp256k1.Signature.fromCompact(signature.subarray(0, 64))
    // Wallets sign with low s (EIP-2): a high s is a second encoding of the same signature, refused.
    if (sig.hasHighS()) return undefined
    return ethereumAddressOfKey(sig.addRecoveryBit(v % 27).recoverPublicKey(ethereumMessageHash(message)).toRawBytes(true))
  } catch {
    return undefined
  }
}

/**
 * Verifies a CACAO on its own: the EIP-191 signature of its SIWE message recovers the issuer's address, and at `now`
 * it is issued, valid and not expired (each within the clock skew). Throws `InvalidCapabilityError` naming what failed
 * (`format`, `issuer`, `signature`, `not-yet-valid`, `expired`).
 */
export function verifyCacao (input: Cacao, options: VerifyCacaoOptions = {}): VerifiedCacao {
  const cacao = asCacao(input)
  const { chainId, address } = parsePkhIssuer(cacao.p.iss)
  if (!HEX_SIGNATURE.test(cacao.s.s)) throw refuse('signature', 'the EIP-191 signature must be 0x and 130 hex digits (r ‖ s ‖ v)')
  const signature = hexToBytes(cacao.s.s.slice(2))
  const wanted = address.toLowerCase()
  // The message names the address checksummed (EIP-4361); a CACAO whose issuer writes it otherwise may have been
  // signed over the address as written, so that message is tried second.
  let recovered = recoverAddress(siweMessage(cacao.p), signature)
  if (recovered !== wanted && address !== checksumAddress(address)) recovered = recoverAddress(siweMessage(cacao.p, address), signature)
  if (recovered !== wanted) {
    throw refuse('signature', `the EIP-191 signature does not recover the issuer ${cacao.p.iss}`, { iss: cacao.p.iss, ...(recovered === undefined ? {} : { recovered }) })
  }
  const now = options.now ?? Date.now()
  const skew = options.skewMs ?? CACAO_CLOCK_SKEW_MS
  const at = new Date(now).toISOString()
  if (Date.parse(cacao.p.iat) > now + skew) throw refuse('not-yet-valid', `issued at ${cacao.p.iat}, after ${at}`, { iat: cacao.p.iat, at })
  if (cacao.p.nbf !== undefined && Date.parse(cacao.p.nbf) > now + skew) throw refuse('not-yet-valid', `not valid before ${cacao.p.nbf}, after ${at}`, { nbf: cacao.p.nbf, at })
  if (cacao.p.exp !== undefined && Date.parse(cacao.p.exp) + skew < now) throw refuse('expired', `expired at ${cacao.p.exp}, before ${at}`, { exp: cacao.p.exp, at })
  return { did: cacao.p.iss, chainId, address: wanted }
}

/** What a CACAO must grant for a commit: to whom, and on which document. */
export interface CacaoGrant {
  /** The DID of the session key that signed the JWS. */
  audience: string
  /** The DocID the commit writes to; undefined for a genesis, whose DocID does not exist before it is signed. */
  docId?: string
}

/**
 * Checks that a CACAO grants what a commit uses: its audience is the session DID that signed, and its resources cover
 * the document (`ceramic://*`, or `ceramic://<DocID>`; a genesis only by `ceramic://*`). Throws
 * `InvalidCapabilityError` (`audience`, `resource`).
 */
export function checkCacaoGrant (cacao: Cacao, grant: CacaoGrant): void {
  if (cacao.p.aud !== grant.audience) {
    throw refuse('audience', `granted to ${cacao.p.aud}, but the JWS is signed by ${grant.audience}`, { aud: cacao.p.aud, signer: grant.audience })
  }
  const resources = cacao.p.resources ?? []
  const covers = resources.includes('ceramic://*') || (grant.docId !== undefined && resources.includes(`ceramic://${grant.docId}`))
  if (!covers) {
    const what = grant.docId === undefined ? 'a new document (only ceramic://* can grant a genesis)' : grant.docId
    throw refuse('resource', `its resources ${JSON.stringify(resources)} do not cover ${what}`, { resources, ...(grant.docId === undefined ? {} : { docId: grant.docId }) })
  }
}

/** Options of {@link signCacao}: what a wallet is asked to sign when a did-session starts. */
export interface SignCacaoInit {
  /** The Ethereum account's 32-byte private key. */
  privateKey: Uint8Array
  /** EIP-155 chain id; default 1. */
  chainId?: number | string
  /** The session key's DID: the CACAO's audience. */
  sessionDid: string
  /** Default `['ceramic://*']`. */
  resources?: string[]
  /** Default: one day after `issuedAt`. */
  expiresAt?: Date
  /** Default: now. */
  issuedAt?: Date
  notBefore?: Date
  /** Default `kiln.local`. */
  domain?: string
  /** Default: a random one. */
  nonce?: string
  statement?: string
}

/** The `did:pkh:eip155` DID of an Ethereum private key, with its address checksummed. */
export function pkhDidOfKey (privateKey: Uint8Array, chainId: number | string = 1): string {
  return `did:pkh:eip155:${String(chainId)}:${checksumAddress(ethereumAddressOfKey(secp256k1.getPublicKey(privateKey, true)))}`
}

/**
 * Makes a real SIWE CACAO: builds the EIP-4361 message granting `sessionDid` the resources, and signs it with the
 * Ethereum key as `personal_sign` does (EIP-191). For tests and tools; a wallet does this in a browser.
 */
export async function signCacao (init: SignCacaoInit): Promise<Cacao> {
  const issuedAt = init.issuedAt ?? new Date()
  const payload: CacaoPayload = {
    domain: init.domain ?? 'kiln.local',
    iss: pkhDidOfKey(init.privateKey, init.chainId ?? 1),
    aud: init.sessionDid,
    version: '1',
    nonce: init.nonce ?? bytesToHex(secp256k1.utils.randomPrivateKey()).slice(0, 16),
    iat: issuedAt.toISOString(),
    exp: (init.expiresAt ?? new Date(issuedAt.getTime() + 24 * 3600 * 1000)).toISOString(),
    resources: [...(init.resources ?? ['ceramic://*'])]
  }
  if (init.notBefore !== undefined) payload.nbf = init.notBefore.toISOString()
  if (init.statement !== undefined) payload.statement = init.statement
  const signature = secp256k1.sign(ethereumMessageHash(siweMessage(payload)), init.privateKey, { lowS: true })
  const bytes = new Uint8Array(65)
  bytes.set(signature.toCompactRawBytes())
  bytes[64] = 27 + signature.recovery
  return { h: { t: 'eip4361' }, p: payload, s: { t: 'eip191', s: '0x' + bytesToHex(bytes) } }
}

/** A signer acting for a did:pkh account through a session key and the CACAO that grants it. */
export interface CacaoSessionSigner extends DIDSigner {
  /** `ipfs://<CID>` of the CACAO block, written in every JWS protected header this signer makes. */
  readonly cap: string
  readonly cacao: Cacao
  /** The CACAO as the dag-cbor block a commit carries (`cacaoBlock` in the wire form). */
  readonly cacaoBlock: Block
  /** The session key's DID (the CACAO's audience). */
  readonly sessionDid: string
}

/**
 * A `DIDSigner` whose DID is the CACAO's did:pkh issuer and whose signatures are the session key's, each JWS naming
 * the CACAO in its protected header (`cap`). Throws `InvalidCapabilityError` when the CACAO is not for this session.
 */
export async function cacaoSessionSigner (cacao: Cacao, session: Pick<DIDSigner, 'did' | 'kid' | 'alg' | 'sign'>): Promise<CacaoSessionSigner> {
  const block = await encodeCacao(cacao)
  parsePkhIssuer(cacao.p.iss)
  if (parseKid(session.kid).did !== cacao.p.aud) {
    throw refuse('audience', `granted to ${cacao.p.aud}, not to the session key ${session.kid}`, { aud: cacao.p.aud })
  }
  const cap = capabilityURI(block.cid)
  const { alg, kid } = session
  const sign = async (input: Uint8Array): Promise<Uint8Array> => await session.sign(input)
  return Object.freeze({
    did: cacao.p.iss,
    kid,
    alg,
    sign,
    cap,
    cacao,
    cacaoBlock: block,
    sessionDid: session.did,
    createDagJWS: async (payload: CID) => await signDagJWS({ alg, kid, sign, cap }, payload)
  })
}
