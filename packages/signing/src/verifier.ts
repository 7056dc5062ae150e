import {
  AbortError,
  DIDResolutionError,
  InvalidSignatureError,
  UnauthorizedSignerError,
  type DagJWS,
  type SignatureAlgorithm,
  type DIDResolver,
  type SignatureVerifier,
  type VerifiedSignature,
  type VerifiedSigner,
  type VerifyOptions
} from '@kiln/interface'
import { decodeCompactJWS, decodeDagJWS } from './dag-jws.js'
import { parseKid } from './did-url.js'
import { keyDidResolver } from './key-did-resolver.js'
import { verifySignature } from './key-types.js'
import { resolverRegistry } from './resolver-registry.js'

/** Options of {@link createVerifier}. */
export interface VerifierInit {
  /**
   * Resolvers for DID methods besides `did:key`, which is built in. One for `key` replaces the built-in resolver;
   * two for the same method throw `DuplicateRegistrationError`.
   */
  resolvers?: DIDResolver[]
}

/** What a verified compact JWS established: its signer and its JSON payload. */
export interface VerifiedCompactJWS {
  did: string
  kid: string
  payload: unknown
}

/** A verifier of DAG-JWS commits, and of compact JWS with a JSON payload (admin requests). */
export interface KilnVerifier extends SignatureVerifier {
  /** Verifies a compact JWS `protected.payload.signature` whose payload is JSON, against the allowed `controllers`. */
  verifyCompactJWS(jws: string, options?: VerifyOptions): Promise<VerifiedCompactJWS>
}

/** True when `signature` is a valid signature of `signingInput` by `publicKey` under `alg`; rejects when it cannot tell. */
export type SignatureCheck = (alg: SignatureAlgorithm, publicKey: Uint8Array, signingInput: Uint8Array, signature: Uint8Array, signal?: AbortSignal) => Promise<boolean>

/** Creates a verifier of DAG-JWS envelopes that resolves signers through a registry of DID resolvers. */
export function createVerifier (init: VerifierInit = {}): KilnVerifier {
  return verifierWithCheck(init, verifySignature)
}

/**
 * A verifier whose last step, the curve arithmetic, is `checkSignature`: everything before it (decoding, the
 * controller check, DID resolution, the key and alg match) runs here, so every error is thrown by this one function.
 */
export function verifierWithCheck (init: VerifierInit, checkSignature: SignatureCheck): KilnVerifier {
  const given = init.resolvers ?? []
  const registry = resolverRegistry(given.some((r) => r.method === 'key') ? given : [keyDidResolver(), ...given])

  async function verifyDagJWS (jws: DagJWS, options: VerifyOptions = {}): Promise<VerifiedSignature> {
    throwIfAborted(options.signal)
    const decoded = decodeDagJWS(jws)
    const what = decoded.payload.toString()
    // The first signer's right to sign is checked before anything is resolved (as for one signature); the others
    // are only verified. All signatures are checked at once, and any one failing refuses the whole JWS.
    const [first, ...rest] = decoded.signatures
    const firstDid = verifyDecoded(first!, what, options)
    const others = rest.map(async (signature) => await verifyDecoded(signature, what, { signal: options.signal }))
    const dids = await Promise.all([firstDid, ...others])
    const signers: VerifiedSigner[] = decoded.signatures.map((signature, i) => ({
      did: dids[i]!,
      kid: signature.kid,
      ...(signature.cap === undefined ? {} : { capability: signature.cap })
    }))
    return { did: dids[0]!, kid: decoded.kid, payload: decoded.payload, signers }
  }

  async function verifyCompactJWS (jws: string, options: VerifyOptions = {}): Promise<VerifiedCompactJWS> {
    throwIfAborted(options.signal)
    const decoded = decodeCompactJWS(jws)
    const did = await verifyDecoded(decoded, 'a JSON payload', options)
    return { did, kid: decoded.kid, payload: decoded.payload }
  }

  /** Checks the signer is allowed, resolves its key and verifies the signature; returns the signer's DID. */
  async function verifyDecoded (decoded: { alg: SignatureAlgorithm, kid: string, signingInput: Uint8Array, signature: Uint8Array }, what: string, options: VerifyOptions): Promise<string> {
    const { alg, kid, signingInput, signature } = decoded
    const { did, fragment } = parseKid(kid)
    // Checked before resolving: cheaper, and a stranger's DID is never looked up on a document it cannot sign.
    const { controllers } = options
    if (options.anySigner !== true && controllers !== undefined && !controllers.includes(did)) {
      throw new UnauthorizedSignerError(`${did} (kid ${kid}) is not an allowed signer; controllers: ${controllers.join(', ') || 'none'}`, {
        details: { did, kid, controllers: [...controllers] }
      })
    }
    const keys = await registry.resolve(did, { signal: options.signal })
    throwIfAborted(options.signal)
    const keyId = `${did}#${fragment}`
    const key = keys.find((k) => k.id === keyId)
    if (key === undefined) {
      throw new DIDResolutionError(`${did} has no key ${keyId} (kid ${kid})`, { details: { did, kid } })
    }
    if (key.alg !== alg) {
      throw new InvalidSignatureError(`JWS alg ${alg} does not match key ${keyId}, which signs with ${key.alg}`, {
        details: { kid, alg }
      })
    }
    if (!await checkSignature(alg, key.publicKey, signingInput, signature, options.signal)) {
      throw new InvalidSignatureError(`signature over ${what} does not verify against ${kid}`, {
        details: { kid, payload: what }
      })
    }
    return did
  }

  return Object.freeze({ verifyDagJWS, verifyCompactJWS })
}

function throwIfAborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw verificationAborted(signal)
}

/** The error a verification given up through `signal` rejects with. */
export function verificationAborted (signal: AbortSignal): AbortError {
  return new AbortError('signature verification aborted', { cause: signal.reason })
}
