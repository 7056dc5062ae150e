import {
  AbortError,
  DIDResolutionError,
  InvalidSignatureError,
  UnauthorizedSignerError,
  type DagJWS,
  type DIDResolver,
  type SignatureVerifier,
  type VerifiedSignature,
  type VerifyOptions
} from '@kiln/interface'
import { decodeDagJWS } from './dag-jws.js'
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

/** Creates a verifier of DAG-JWS envelopes that resolves signers through a registry of DID resolvers. */
export function createVerifier (init: VerifierInit = {}): SignatureVerifier {
  const given = init.resolvers ?? []
  const registry = resolverRegistry(given.some((r) => r.method === 'key') ? given : [keyDidResolver(), ...given])

  async function verifyDagJWS (jws: DagJWS, options: VerifyOptions = {}): Promise<VerifiedSignature> {
    throwIfAborted(options.signal)
    const { alg, kid, payload, signingInput, signature } = decodeDagJWS(jws)
    const { did, fragment } = parseKid(kid)
    // Checked before resolving: cheaper, and a stranger's DID is never looked up on a document it cannot sign.
    const { controllers } = options
    if (controllers !== undefined && !controllers.includes(did)) {
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
    if (!await verifySignature(alg, key.publicKey, signingInput, signature)) {
      throw new InvalidSignatureError(`signature over ${payload.toString()} does not verify against ${kid}`, {
        details: { kid, payload: payload.toString() }
      })
    }
    return { did, kid, payload }
  }

  return Object.freeze({ verifyDagJWS })
}

function throwIfAborted (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AbortError('signature verification aborted', { cause: signal.reason })
}
