import { StorageError } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import type { AnchorStatusRecord, CommitOptions, CommitPlace, DocHead, DocIndexRecord, StorageBatch, StoredLogEntry } from '@kiln/interface'
import { encodeHeadRecord } from './head.js'

/**
 * One write of a storage batch as queued, before `commit()`: what every storage engine records the same way and then
 * turns into its own operations (LevelDB puts and range deletes, SQL statements). Values are copied (or, for heads,
 * encoded) when queued, so changing an object after the call changes nothing queued; a value that cannot be stored
 * waits as its error for `commit()`, which fails the whole batch with it.
 */
export type QueuedWrite =
  | { kind: 'block', cid: CID, bytes: Uint8Array }
  | { kind: 'head', docId: string, encoded: Promise<Uint8Array> }
  | { kind: 'entry', docId: string, seq: number, entry: StoredLogEntry }
  | { kind: 'truncate', docId: string, seq: number }
  | { kind: 'index', docId: string, cid: CID, place: CommitPlace }
  | { kind: 'checkpoint', docId: string, seq: number, encoded: Promise<Uint8Array> }
  | { kind: 'drop', docId: string, seq: number }
  | { kind: 'status', docId: string, record: AnchorStatusRecord }
  | { kind: 'docIndex', docId: string, record: DocIndexRecord | Error }
  | { kind: 'pin', docId: string }

/** How an engine takes a batch: the stored form of an index record (or why it cannot be stored), and the commit. */
export interface QueuedBatchInit {
  /** The record as the engine stores it, copied; an Error when it cannot be stored. */
  indexRecord: (record: DocIndexRecord) => DocIndexRecord | Error
  /** Writes the queued writes as one atomic unit; called with a copy of the queue at each `commit()`. */
  commit: (writes: QueuedWrite[], options?: CommitOptions) => Promise<void>
}

/** A {@link StorageBatch} that queues its writes and hands them to `init.commit` on `commit()`. */
export function queuedBatch (init: QueuedBatchInit): StorageBatch {
  const writes: QueuedWrite[] = []
  const batch: StorageBatch = {
    putBlock: (cid, bytes) => {
      // Copied now: the caller may reuse its array before commit().
      writes.push({ kind: 'block', cid, bytes: bytes.slice() })
      return batch
    },
    putHead: (docId, head) => {
      writes.push({ kind: 'head', docId, encoded: encodeHeadNow(head) })
      return batch
    },
    putLogEntry: (docId, seq, entry) => {
      writes.push({ kind: 'entry', docId, seq, entry: { ...entry } })
      return batch
    },
    truncateLog: (docId, seq) => {
      writes.push({ kind: 'truncate', docId, seq })
      return batch
    },
    indexCommit: (docId, cid, place) => {
      writes.push({ kind: 'index', docId, cid, place: { ...place } })
      return batch
    },
    putCheckpoint: (docId, checkpoint) => {
      writes.push({ kind: 'checkpoint', docId, seq: checkpoint?.seq, encoded: encodeHeadNow(checkpoint?.head) })
      return batch
    },
    dropCheckpoints: (docId, seq) => {
      writes.push({ kind: 'drop', docId, seq })
      return batch
    },
    putAnchorStatus: (docId, record) => {
      writes.push({ kind: 'status', docId, record: { ...record } })
      return batch
    },
    putIndex: (docId, record) => {
      writes.push({ kind: 'docIndex', docId, record: init.indexRecord(record) })
      return batch
    },
    pin: (docId) => {
      writes.push({ kind: 'pin', docId })
      return batch
    },
    commit: async (options) => { await init.commit(writes.slice(), options) }
  }
  return batch
}

/**
 * Checks a head and starts encoding it now. `encodeHeadRecord` encodes before its first await, so the bytes are those
 * of the head as it is at this call: changing the object afterwards changes nothing queued. A failure waits for
 * `commit()`, which rejects the whole batch with it.
 */
export function encodeHeadNow (head: DocHead | undefined): Promise<Uint8Array> {
  const encoded = looksLikeDocHead(head)
    ? encodeHeadRecord(head)
    : Promise.reject(new TypeError('it is not a document head (it needs type, metadata, genesis, tip and logLength)'))
  encoded.catch(() => {})
  return encoded
}

/** Whether `value` can be a log position: a non-negative safe integer. */
export function isPosition (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** Throws a RangeError when `seq` is not a log position. */
export function checkPosition (seq: unknown): void {
  if (!isPosition(seq)) throw new RangeError(`position ${String(seq)} is not a non-negative integer`)
}

/** Whether a decoded value has the fields every head has (a corrupt or foreign value does not). */
export function looksLikeDocHead (value: unknown): value is DocHead {
  if (value === null || typeof value !== 'object') return false
  const head = value as Partial<DocHead>
  return typeof head.type === 'number' && head.metadata !== null && typeof head.metadata === 'object' &&
    CID.asCID(head.genesis) !== null && CID.asCID(head.tip) !== null && isPosition(head.logLength)
}

/**
 * The `StorageError` of a queued write that cannot be stored: it names the write and why (`reason`), and says the batch
 * was not written.
 */
export function unstorableWrite (write: QueuedWrite, cause: unknown, reason: string): StorageError {
  const what = write.kind === 'block' ? `block ${write.cid.toString()}` : `the ${WHAT[write.kind]} of ${write.docId}`
  return new StorageError(`Cannot store ${what}: ${reason}; nothing of the batch was written`, {
    cause, details: { operation: 'commit', key: write.kind === 'block' ? write.cid.toString() : write.docId }
  })
}

const WHAT: Record<Exclude<QueuedWrite['kind'], 'block'>, string> = {
  head: 'head',
  entry: 'log entry',
  truncate: 'log truncation',
  index: 'commit index entry',
  checkpoint: 'checkpoint',
  drop: 'checkpoint drop',
  status: 'anchor-status record',
  docIndex: 'query index record',
  pin: 'pin'
}
