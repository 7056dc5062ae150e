/**
 * The contracts of Kiln: commit and state types, the plugin contracts (doctype, anchor service and proof verifier,
 * storage, network, DID signer and verifier) and the named error classes. Every other package depends on this one;
 * it depends on nothing of Kiln's.
 * @packageDocumentation
 */
export * from './errors.js'
export type * from './commits.js'
export * from './state.js'
export type * from './lifecycle.js'
export type * from './did.js'
export type * from './doctype.js'
export type * from './anchor.js'
export type * from './storage.js'
export * from './query.js'
export type * from './network.js'
export type * from './api.js'
export type * from './observer.js'
export type * from './hooks.js'
