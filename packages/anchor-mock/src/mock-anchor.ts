import { createHash } from 'node:crypto'
import { UnsupportedChainError, type AnchorComponents, type AnchorProofVerifier } from '@kiln/interface'
import { keyDidSigner, randomSeed } from '@kiln/signing'
import { InvalidMockAnchorOptionError } from './errors.js'
import { MockChainService, type MockAnchorService } from './service.js'
import { MOCK_CHAIN_ID, MOCK_NAMESPACE, mockChainVerifier } from './verifier.js'

/** Options of {@link mockAnchor}. */
export interface MockAnchorInit {
  /** How often pending requests are mined as one batch, in milliseconds; 1000 by default. Ignored with `anchorOnRequest`. */
  intervalMs?: number
  /** Mine each request as soon as it arrives, as its own one-leaf batch, instead of on the interval. */
  anchorOnRequest?: boolean
  /** The chain's CAIP-2 id, in the `inmemory` namespace; `inmemory:12345` by default. */
  chainId?: string
  /**
   * 32 bytes the chain's signing key is made from. Anchors verify only with the same seed: a node that restarts, or
   * another node that must accept these anchors, passes the same one. Random by default, good for one process only.
   */
  seed?: Uint8Array
  /**
   * The chain's clock, in milliseconds since the epoch (default `Date.now`): a block's time is its reading, never
   * earlier than the block before. Tests of time windows in rules set it.
   */
  now?: () => number
}

/** What `mockAnchor(init)(components)` gives: the chain's service and a verifier of its anchors. */
export interface MockAnchorPlugin {
  service: MockAnchorService
  verifier: AnchorProofVerifier
}

const CAIP2 = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/

/**
 * The seed of the mock chain every node of the network `network` shares, so that their anchors verify on each other:
 * sha2-256 of `kiln/mock-chain/v1/<network>`. **Insecure, for development only**: anyone who knows the network's name
 * can sign mock anchors for it. A network that needs anchors it can trust anchors on a real chain.
 */
export function mockChainSeedOf (network: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`kiln/mock-chain/v1/${network}`, 'utf8').digest())
}

/**
 * An in-process chain: batches anchor requests into Merkle trees every `intervalMs` (or at once) and mines each root
 * as a block signed by the chain's own `did:key`, which the verifier checks; see the package README.
 */
export function mockAnchor (init: MockAnchorInit = {}): (components: AnchorComponents) => MockAnchorPlugin {
  const chainId = init.chainId ?? MOCK_CHAIN_ID
  if (!CAIP2.test(chainId) || !chainId.startsWith(`${MOCK_NAMESPACE}:`)) {
    throw new UnsupportedChainError(`a mock chain's id must be a CAIP-2 id in the ${MOCK_NAMESPACE} namespace, like ${MOCK_CHAIN_ID}; got ${JSON.stringify(chainId)}`, {
      details: { chainId }
    })
  }
  const intervalMs = init.intervalMs ?? 1000
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new InvalidMockAnchorOptionError(`intervalMs must be a positive number of milliseconds, got ${String(intervalMs)}`, {
      details: { intervalMs: String(intervalMs) }
    })
  }
  // Made once, so every plugin built by this factory is the same chain.
  const chain = keyDidSigner({ seed: init.seed ?? randomSeed() })
  return (components) => ({
    service: new MockChainService({ chainId, chain, intervalMs, anchorOnRequest: init.anchorOnRequest === true, logger: components.logger, now: init.now ?? Date.now }),
    verifier: mockChainVerifier({ chainDid: chain.did, chainId })
  })
}
