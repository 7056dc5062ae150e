import {
  DIDResolutionError,
  DuplicateRegistrationError,
  isKilnError,
  UnsupportedDIDMethodError,
  type AbortOptions,
  type DIDResolver,
  type VerificationKey
} from '@kiln/interface'
import { parseDID } from './did-url.js'

/** DID resolvers by method: resolves any DID whose method one of them handles. */
export interface ResolverRegistry {
  /** The methods registered, in registration order. */
  readonly methods: readonly string[]
  /** Resolves `did` with its method's resolver; `UnsupportedDIDMethodError` when there is none. */
  resolve (did: string, options?: AbortOptions): Promise<VerificationKey[]>
}

/** Builds a registry from resolvers; two for the same method throw `DuplicateRegistrationError`. */
export function resolverRegistry (resolvers: Iterable<DIDResolver>): ResolverRegistry {
  const byMethod = new Map<string, DIDResolver>()
  for (const resolver of resolvers) {
    if (byMethod.has(resolver.method)) {
      throw new DuplicateRegistrationError(`a resolver for DID method "${resolver.method}" is already registered`, {
        details: { method: resolver.method }
      })
    }
    byMethod.set(resolver.method, resolver)
  }
  const methods = Object.freeze([...byMethod.keys()])

  return Object.freeze({
    methods,
    async resolve (did: string, options: AbortOptions = {}): Promise<VerificationKey[]> {
      const { method } = parseDID(did)
      const resolver = byMethod.get(method)
      if (resolver === undefined) {
        throw new UnsupportedDIDMethodError(`no resolver for DID method "${method}" (${did}); registered: ${methods.join(', ') || 'none'}`, {
          details: { did, method }
        })
      }
      let keys: VerificationKey[]
      try {
        keys = await resolver.resolve(did, options)
      } catch (cause) {
        if (isKilnError(cause)) throw cause
        throw new DIDResolutionError(`could not resolve ${did}: ${cause instanceof Error ? cause.message : String(cause)}`, {
          cause,
          details: { did }
        })
      }
      if (!Array.isArray(keys)) throw new DIDResolutionError(`the "${method}" resolver returned no key list for ${did}`, { details: { did } })
      return keys
    }
  })
}
