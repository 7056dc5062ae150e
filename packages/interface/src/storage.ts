import type { Blockstore } from './anchor.js'
import type { AbortOptions, Logger, Startable } from './lifecycle.js'
import type { DocState } from './state.js'
import type { CID } from 'multiformats/cid'

/** The writes of one commit, applied all together or not at all. */
export interface StorageBatch {
  putBlock(cid: CID, bytes: Uint8Array): StorageBatch
  putState(docId: string, state: DocState): StorageBatch
  /** Records that `cid` belongs to the log of `docId`. */
  indexCommit(docId: string, cid: CID): StorageBatch
  commit(options?: AbortOptions): Promise<void>
}

/** A storage backend: blocks, document states, pins and the per-document log index. */
export interface Storage extends Startable {
  readonly blocks: Blockstore
  getState(docId: string, options?: AbortOptions): Promise<DocState | undefined>
  /** The CIDs indexed for a document, in the order written. */
  listCommits(docId: string, options?: AbortOptions): Promise<CID[]>
  batch(): StorageBatch
  pin(docId: string, options?: AbortOptions): Promise<void>
  unpin(docId: string, options?: AbortOptions): Promise<void>
  isPinned(docId: string, options?: AbortOptions): Promise<boolean>
  listPins(options?: AbortOptions): AsyncIterable<string>
}

/** What the node gives a storage factory. */
export interface StorageComponents {
  logger?: Logger
}

/** A storage plugin: `levelStorage(init)` returns one of these. */
export type StorageFactory = (components: StorageComponents) => Storage
