import type { Blockstore } from './anchor.js'
import type { AbortOptions, Logger, Startable } from './lifecycle.js'
import type { DocState } from './state.js'
import type { CID } from 'multiformats/cid'

/**
 * The writes of one commit, applied all together or not at all. Calls only queue; `commit()` writes. A batch whose
 * `commit()` rejects (with `StorageError`) has written nothing.
 */
export interface StorageBatch {
  putBlock(cid: CID, bytes: Uint8Array): StorageBatch
  /** Replaces the stored state of `docId`. States hold CIDs and JSON only and never `undefined` values. */
  putState(docId: string, state: DocState): StorageBatch
  /** Appends `cid` to the log index of `docId` (once: indexing a CID already indexed for it is a no-op). */
  indexCommit(docId: string, cid: CID): StorageBatch
  /** Pins `docId` with the rest of the batch (a new document and its pin land together or not at all). */
  pin(docId: string): StorageBatch
  commit(options?: AbortOptions): Promise<void>
}

/** A storage backend: blocks, document states, pins and the per-document log index. */
export interface Storage extends Startable {
  readonly blocks: Blockstore
  getState(docId: string, options?: AbortOptions): Promise<DocState | undefined>
  /** The CIDs indexed for a document, in the order they were first indexed; `[]` for an unknown document. */
  listCommits(docId: string, options?: AbortOptions): Promise<CID[]>
  /** Every document with a stored state. */
  listDocuments(options?: AbortOptions): AsyncIterable<string>
  /** Removes a document's state, log index and pin (not its blocks, which other documents may share). */
  deleteDocument(docId: string, options?: AbortOptions): Promise<void>
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
