/**
 * An in-process chain for Kiln's tests and development: batches anchor requests into Merkle trees, mines each root as
 * a block signed by the chain's own key, and verifies those anchors — across restarts, given the same seed.
 * @packageDocumentation
 */
export { mockAnchor, mockChainSeedOf, type MockAnchorInit, type MockAnchorPlugin } from './mock-anchor.js'
export type { MockAnchorService } from './service.js'
export { mockChainVerifier, MOCK_CHAIN_ID, MOCK_NAMESPACE, type MockChainVerifierInit } from './verifier.js'
export { MOCK_TX_TYPE, type MockTransaction } from './transaction.js'
export { InvalidMockAnchorOptionError, InvalidAnchorRequestError } from './errors.js'
