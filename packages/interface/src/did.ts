import type { AbortOptions } from './lifecycle.js'
import type { DagJWS } from './commits.js'
import type { CID } from 'multiformats/cid'

/** JOSE algorithms Kiln signs and verifies with. */
export type SignatureAlgorithm = 'EdDSA' | 'ES256K'

/** A key that can sign on behalf of a DID. `kid` is the full key id (`did:key:z…#z…`). */
export interface DIDSigner {
  readonly did: string
  readonly kid: string
  readonly alg: SignatureAlgorithm
  /** Signs the JWS signing input (`protected.payload` as ASCII bytes) and returns the raw signature. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>
  /** Signs a CID as a DAG-JWS whose payload is the CID's bytes. */
  createDagJWS(payload: CID): Promise<DagJWS>
}

/** A public key a DID document lists for verification. */
export interface VerificationKey {
  /** Full key id, `did#fragment`. */
  id: string
  /** The DID the key belongs to. */
  controller: string
  alg: SignatureAlgorithm
  /** Raw key bytes: 32 for Ed25519, a SEC1 point (33-byte compressed in `did:key`) for secp256k1. */
  publicKey: Uint8Array
}

/** Turns DIDs of one method into their verification keys. */
export interface DIDResolver {
  /** The method name, e.g. `key` for `did:key:…`. */
  readonly method: string
  /** Lists the keys of `did` (a bare DID: no path, query or fragment); throws `DIDResolutionError` when it cannot. */
  resolve(did: string, options?: AbortOptions): Promise<VerificationKey[]>
}

/** One verified signature of a DAG-JWS. */
export interface VerifiedSigner {
  /** The DID whose key signed (for a CACAO signature, the session DID; the capability names on whose behalf). */
  did: string
  /** The key id from the protected header. */
  kid: string
  /**
   * The capability the signature acts under, from its protected header's `cap` (`ipfs://<CACAO CID>`): the verifier
   * checked the signature only; whoever holds the CACAO block checks the capability.
   */
  capability?: string
}

/** What a successful verification established. */
export interface VerifiedSignature {
  /** The DID whose key made the first signature. */
  did: string
  /** The key id from the first signature's protected header. */
  kid: string
  /** The CID the JWS payload names. */
  payload: CID
  /** Every signature, in order (the first is `did`/`kid`); each verified. Duplicates are kept, not refused. */
  signers: VerifiedSigner[]
}

/** Options of {@link SignatureVerifier.verifyDagJWS}. */
export interface VerifyOptions extends AbortOptions {
  /**
   * DIDs allowed to have signed; the first signer must be one of them (the others are verified, not checked against
   * the list). Omit to accept any resolvable signer.
   */
  controllers?: readonly string[]
  /** Skip the controller check even when `controllers` is given: the caller decides who may sign. */
  anySigner?: boolean
}

/** Verifies DAG-JWS envelopes by resolving the signer's DID. */
export interface SignatureVerifier {
  verifyDagJWS(jws: DagJWS, options?: VerifyOptions): Promise<VerifiedSignature>
}
