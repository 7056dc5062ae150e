import {
  AnchorStatus, DocumentNotFoundError, LogEntryType,
  type AbortOptions, type DocHead, type DocState, type LogEntry, type Storage, type StoredLogEntry
} from '@kiln/interface'
import { LRUCache } from 'lru-cache'

/**
 * A document as the node holds it: the head storage keeps, and the log with every entry's anchor time derived. The
 * log array is never changed once built: a new commit makes a new record with a new array, so a state handed out
 * earlier keeps its log.
 */
export interface DocRecord {
  head: DocHead
  log: readonly LogEntry[]
}

/** The state the API returns: the head's fields and the log. */
export function stateOf (record: DocRecord): DocState {
  const { head } = record
  const state: DocState = {
    type: head.type,
    content: head.content,
    metadata: head.metadata,
    signature: head.signature,
    anchorStatus: head.anchorStatus,
    log: record.log as LogEntry[]
  }
  if (head.anchorProof !== undefined) state.anchorProof = head.anchorProof
  // Without the state kept to restore if a deadline is missed: that is the node's, not the reader's.
  if (head.provisional !== undefined) state.provisional = head.provisional.map(({ commit, conditions }) => ({ commit, conditions }))
  if (head.voided !== undefined) state.voided = head.voided
  return state
}

/**
 * Log entries with anchor times: each entry takes the time of the first anchor at or after it, within `entries` (so
 * the log of a state at an older commit shows only the anchors that state had).
 */
export function withAnchorTimes (entries: readonly StoredLogEntry[]): LogEntry[] {
  const log: LogEntry[] = new Array(entries.length)
  let time: number | undefined
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!
    if (entry.type === LogEntryType.ANCHOR && entry.timestamp !== undefined) time = entry.timestamp
    log[i] = time === undefined ? { cid: entry.cid, type: entry.type } : { cid: entry.cid, type: entry.type, timestamp: time }
  }
  return log
}

/** What a log entry is stored as: anchor entries keep their time, the others derive theirs. */
export function storedEntry (entry: LogEntry): StoredLogEntry {
  return entry.type === LogEntryType.ANCHOR && entry.timestamp !== undefined
    ? { cid: entry.cid, type: entry.type, timestamp: entry.timestamp }
    : { cid: entry.cid, type: entry.type }
}

/** The anchor status a state at a commit has, from its log alone: anchored when its last entry is an anchor. */
export function historicalStatus (log: readonly LogEntry[]): AnchorStatus {
  return log[log.length - 1]?.type === LogEntryType.ANCHOR ? AnchorStatus.ANCHORED : AnchorStatus.NOT_REQUESTED
}

/**
 * The node's documents: a cache of records in front of storage. A record read from storage is cached only if no
 * write or eviction happened while it was read, so a slow read can never put back an older record, or a document
 * `gc` has just removed.
 */
export class Documents {
  readonly #storage: Storage
  readonly #cache: LRUCache<string, DocRecord>
  /** Bumped by every change of a cached record; a read that saw it change does not fill the cache. */
  #epoch = 0

  /** Holds at most `cacheSize` documents, and at most `cacheEntries` log entries over all of them. */
  constructor (storage: Storage, cacheSize: number, cacheEntries: number) {
    this.#storage = storage
    // A record too large for the whole budget is simply not cached: it is read from storage each time.
    this.#cache = new LRUCache({ max: cacheSize, maxSize: cacheEntries, sizeCalculation: (record) => record.log.length + 1 })
  }

  /** The record of a document, or `undefined` when it is not stored. */
  async find (docId: string, options: AbortOptions = {}): Promise<DocRecord | undefined> {
    const cached = this.#cache.get(docId)
    if (cached !== undefined) return cached
    const epoch = this.#epoch
    const head = await this.#storage.getHead(docId, options)
    if (head === undefined) return undefined
    const log = withAnchorTimes(await this.#storage.readLog(docId, { to: head.logLength }, options))
    const record = { head, log }
    if (this.#epoch === epoch) this.#cache.set(docId, record)
    return record
  }

  /** The record of a document; `DocumentNotFoundError` when it is not stored. */
  async get (docId: string, options: AbortOptions = {}): Promise<DocRecord> {
    const record = await this.find(docId, options)
    if (record === undefined) throw new DocumentNotFoundError(`Document ${docId} is not on this node`, { details: { docId } })
    return record
  }

  /** The cached record of a document, or else its head alone from storage (no log read); `undefined` when not stored. */
  async findHead (docId: string, options: AbortOptions = {}): Promise<DocRecord | { head: DocHead, log?: undefined } | undefined> {
    const cached = this.#cache.get(docId)
    if (cached !== undefined) return cached
    const head = await this.#storage.getHead(docId, options)
    return head === undefined ? undefined : { head }
  }

  /** Caches the record a durable write produced. */
  set (docId: string, record: DocRecord): void {
    this.#epoch++
    this.#cache.set(docId, record)
  }

  /** Forgets a document (after it was deleted from storage). */
  forget (docId: string): void {
    this.#epoch++
    this.#cache.delete(docId)
  }
}
