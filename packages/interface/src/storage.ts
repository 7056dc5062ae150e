import type { Blockstore } from './anchor.js'
import type { AbortOptions, Logger, Startable } from './lifecycle.js'
import type { DocIndexRecord, QueryableStorage } from './query.js'
import type { AnchorStatus, DocHead, LogEntryType } from './state.js'
import type { CID } from 'multiformats/cid'

/**
 * One entry of a document's log index as stored: written once, when the commit joins the log. Only an anchor entry
 * carries a time; every other entry's anchor time is that of the first anchor after it, derived when the log is read.
 */
export interface StoredLogEntry {
  cid: CID
  type: LogEntryType
  /** Unix seconds the chain gives an anchor commit; absent on genesis and signed entries. */
  timestamp?: number
}

/** Where a commit known for a document sits: on its log at `seq`, or stored but off the log (a losing branch). */
export interface CommitPlace {
  /** Position on the log (genesis is 0); absent for a commit stored but not on the log. */
  seq?: number
}

/** A document's head as it was at one position of its log: where a load at an older CommitID starts replaying. */
export interface Checkpoint {
  /** Position on the log of the commit the head is at (`head.tip`). */
  seq: number
  head: DocHead
}

/** The tip's anchor status as a small record of its own, so a status change never rewrites the head. */
export interface AnchorStatusRecord {
  /** The tip the status is about; it applies only while `tip` is still the head's tip. */
  tip: CID
  status: AnchorStatus
}

/** Options of {@link StorageBatch.commit}. */
export interface CommitOptions extends AbortOptions {
  /** Flush the batch to stable storage (fsync) before resolving; backends with nothing to sync ignore it. */
  sync?: boolean
}

/** What a backend has written since it started: for tests and benchmarks of write costs. */
export interface StorageWriteStats {
  /** Batches committed. */
  batches: number
  /** Batches committed with `sync: true` (each one a flush to stable storage). */
  syncs: number
  /** Bytes of keys and values put, over every batch and single write. */
  bytesWritten: number
}

/**
 * The writes of one or more commits, applied all together or not at all. Calls only queue; `commit()` writes. A batch
 * whose `commit()` rejects (with `StorageError`) has written nothing. Every write is small and independent of the
 * length of a document's log: the head, one log entry, one index entry, at times one checkpoint.
 */
export interface StorageBatch {
  putBlock(cid: CID, bytes: Uint8Array): StorageBatch
  /** Replaces the head of `docId`. Heads hold CIDs and JSON only and never `undefined` values. */
  putHead(docId: string, head: DocHead): StorageBatch
  /**
   * Writes entry `seq` of the log of `docId`. Entries are appended in order and written once; only a branch switch
   * (another branch wins the conflict rule) writes positions again, from the fork on.
   */
  putLogEntry(docId: string, seq: number, entry: StoredLogEntry): StorageBatch
  /** Drops the log entries of `docId` from position `seq` on (a branch switch to a shorter branch). */
  truncateLog(docId: string, seq: number): StorageBatch
  /** Records where commit `cid` of `docId` sits: its log position, or off the log. */
  indexCommit(docId: string, cid: CID, place: CommitPlace): StorageBatch
  /** Stores the head of `docId` as it was at log position `checkpoint.seq`. */
  putCheckpoint(docId: string, checkpoint: Checkpoint): StorageBatch
  /** Drops the checkpoints of `docId` from position `seq` on (their heads belong to a branch that lost). */
  dropCheckpoints(docId: string, seq: number): StorageBatch
  /** Records the anchor status of the tip of `docId`. */
  putAnchorStatus(docId: string, record: AnchorStatusRecord): StorageBatch
  /**
   * Replaces the query index record of `docId` (its metadata, content, links and times), in the same batch as its
   * head, so queries and backlinks never disagree with the state. The first `createdAt` given for a document is kept.
   */
  putIndex(docId: string, record: DocIndexRecord): StorageBatch
  /** Pins `docId` with the rest of the batch (a new document and its pin land together or not at all). */
  pin(docId: string): StorageBatch
  commit(options?: CommitOptions): Promise<void>
}

/**
 * A storage backend: blocks, document heads, the per-document log index and commit index, checkpoints, anchor-status
 * records and pins. No read touches more than it names: reading a head never reads its log.
 */
export interface Storage extends Startable, QueryableStorage {
  readonly blocks: Blockstore
  /**
   * The head of a document, with the anchor status of its own record when that record is about the head's tip;
   * `undefined` for an unknown document.
   */
  getHead(docId: string, options?: AbortOptions): Promise<DocHead | undefined>
  /** Log entries of a document from position `from` (default 0) up to, not including, `to` (default: the end). */
  readLog(docId: string, range?: { from?: number, to?: number }, options?: AbortOptions): Promise<StoredLogEntry[]>
  /** Where commit `cid` of `docId` sits; `undefined` when it is not a commit stored for that document. */
  getCommitPlace(docId: string, cid: CID, options?: AbortOptions): Promise<CommitPlace | undefined>
  /** The checkpoint of `docId` at the greatest position not above `seq`, if any. */
  getCheckpoint(docId: string, seq: number, options?: AbortOptions): Promise<Checkpoint | undefined>
  /** Every document with a stored head. */
  listDocuments(options?: AbortOptions): AsyncIterable<string>
  /** Removes a document's head, log, commit index, checkpoints, status record, index record and pin (not its blocks). */
  deleteDocument(docId: string, options?: AbortOptions): Promise<void>
  batch(): StorageBatch
  pin(docId: string, options?: AbortOptions): Promise<void>
  unpin(docId: string, options?: AbortOptions): Promise<void>
  isPinned(docId: string, options?: AbortOptions): Promise<boolean>
  listPins(options?: AbortOptions): AsyncIterable<string>
  /** What this backend has written since it started. */
  writeStats(): StorageWriteStats
}

/** What the node gives a storage factory. */
export interface StorageComponents {
  logger?: Logger
}

/** A storage plugin: `levelStorage(init)` returns one of these. */
export type StorageFactory = (components: StorageComponents) => Storage
