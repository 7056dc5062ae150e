/**
 * Compliance suites for Kiln's plugin contracts. Each suite is a function that defines vitest tests for any
 * implementation a `setup` hands it; an implementation is done when its suite passes.
 * @packageDocumentation
 */
export { signerTests, type SignerTestContext, type SignerTestOptions } from './signer.js'
export * from './store.js'
export * from './query.js'
export * from './anchor.js'
export * from './doctype.js'
export * from './fixtures.js'
export * from './fuzz.js'
export * from './network.js'
