import type { Block } from './commits.js'
import type { AbortOptions, Logger, Startable } from './lifecycle.js'
import type { DocHead } from './state.js'
import type { Storage } from './storage.js'
import type { CID } from 'multiformats/cid'

/** A document the node has just written durably (a commit, or a change of its tip's anchor status). */
export interface WrittenDocument {
  docId: string
  /** The head as written: its tip, log length and anchor status. */
  head: DocHead
}

/** What the node gives a write observer: reads of its own storage, and the blocks each held commit needs. */
export interface WriteObserverComponents {
  logger?: Logger
  /** The node's storage, read only: heads, logs, the documents it holds and its pins. */
  storage: Pick<Storage, 'getHead' | 'readLog' | 'listDocuments' | 'isPinned'>
  /**
   * The blocks a held commit needs to verify offline: its own (a signed commit's envelope and payload), and an anchor
   * commit's proof, Merkle nodes and chain data. `BlockNotFoundError` when the node lacks one.
   */
  blocksOf(commit: CID, options?: AbortOptions): Promise<Block[]>
}

/**
 * A plugin told of every durable write, in the pipeline's after-write stage (a mirror, an exporter): `written` must
 * return at once and never throw, as it runs after the write is acknowledged and must not delay or undo it. The
 * node starts observers after its storage and stops them before it.
 */
export interface WriteObserver extends Startable {
  written(doc: WrittenDocument): void
}

/** A write observer plugin: `warehouseMirror(init)` returns one of these. */
export type WriteObserverFactory = (components: WriteObserverComponents) => WriteObserver
