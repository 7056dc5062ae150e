import { DIDResolutionError, type DIDResolver, type SignatureAlgorithm, type VerificationKey } from '@kiln/interface'
import { getResolver } from 'key-did-resolver'
import { base58btc } from 'multiformats/bases/base58'
import { parseDID } from './did-url.js'
import { keyTypeOfAlg } from './key-types.js'

/** Options of {@link keyDidResolver}. */
export interface KeyDidResolverInit {
  /** How many resolved DIDs to keep; the least recently used is dropped first. Default 1000, 0 disables. */
  cacheSize?: number
}

type KeyDriver = NonNullable<ReturnType<typeof getResolver>['key']>
type DIDDocument = NonNullable<Awaited<ReturnType<KeyDriver>>['didDocument']>
type VerificationMethod = NonNullable<DIDDocument['verificationMethod']>[number]

// The verification-method types key-did-resolver writes for the key types Kiln verifies; others (P-256…) are skipped.
const algOfMethodType: Readonly<Record<string, SignatureAlgorithm>> = Object.freeze({
  Ed25519VerificationKey2018: 'EdDSA',
  Secp256k1VerificationKey2018: 'ES256K'
})

/** Resolves `did:key` DIDs (Ed25519, secp256k1) with Ceramic's key-did-resolver, caching the keys per DID. */
export function keyDidResolver (init: KeyDidResolverInit = {}): DIDResolver {
  const cacheSize = init.cacheSize ?? 1000
  const driver = getResolver().key as KeyDriver
  // A did:key document is a pure function of the DID string, so a cached entry never goes stale.
  const cache = new Map<string, readonly VerificationKey[]>()

  async function resolveKeys (did: string): Promise<readonly VerificationKey[]> {
    const { method, id } = parseDID(did)
    if (method !== 'key') throw new DIDResolutionError(`${did} is not a did:key`, { details: { did } })
    // The driver reads only `parsed.id` and never recurses into the resolver it is handed.
    const result = await driver(did, { did, didUrl: did, method, id }, undefined as unknown as Parameters<KeyDriver>[2], {})
    const doc = result.didDocument
    if (doc === null || doc.id !== did) {
      const reason = result.didResolutionMetadata.message ?? result.didResolutionMetadata.error ?? 'no document'
      throw new DIDResolutionError(`cannot resolve ${did}: ${String(reason)}`, { details: { did } })
    }
    const keys = (doc.verificationMethod ?? []).flatMap((method) => toVerificationKey(did, method))
    if (keys.length === 0) {
      throw new DIDResolutionError(`${did} has no Ed25519 or secp256k1 key: Kiln cannot verify its signatures`, { details: { did } })
    }
    return Object.freeze(keys)
  }

  return Object.freeze({
    method: 'key',
    async resolve (did: string): Promise<VerificationKey[]> {
      let keys = cache.get(did)
      if (keys !== undefined) {
        cache.delete(did)
      } else {
        keys = await resolveKeys(did)
      }
      if (cacheSize > 0) {
        cache.set(did, keys)
        if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string)
      }
      return [...keys]
    }
  })
}

function toVerificationKey (did: string, method: VerificationMethod): VerificationKey[] {
  const alg = Object.hasOwn(algOfMethodType, method.type) ? algOfMethodType[method.type] : undefined
  if (alg === undefined || typeof method.publicKeyBase58 !== 'string') return []
  let publicKey: Uint8Array | undefined
  try {
    publicKey = base58btc.baseDecode(method.publicKeyBase58)
  } catch {
    publicKey = undefined
  }
  if (publicKey === undefined || !keyTypeOfAlg(alg).isValidPublicKey(publicKey)) {
    throw new DIDResolutionError(`${did} holds an invalid ${method.type} public key`, { details: { did } })
  }
  return [Object.freeze({ id: method.id, controller: method.controller, alg, publicKey })]
}
