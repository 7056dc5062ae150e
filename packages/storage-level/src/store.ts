import { AbortError, BlockNotFoundError, StorageError, isKilnError } from '@kiln/interface'
import type {
  DocIndexRecord, StorageQuery, StorageQueryPage,
  AbortOptions, Blockstore, Checkpoint, CommitOptions, CommitPlace, DocHead, Logger, Storage, StorageBatch,
  StorageComponents, StorageFactory, StorageWriteStats, StoredLogEntry
} from '@kiln/interface'
import { checkPosition, decodeHeadRecord, isPosition, looksLikeDocHead, queuedBatch, unstorableWrite, type QueuedWrite } from '@kiln/codec'
import { storedIndexRecord } from '@kiln/query'
import type { CID } from 'multiformats/cid'
import { DocLocks } from './doc-locks.js'
import {
  blockKey, checkpointKey, checkpointRange, commitKey, commitRange, decodeSeq, docIdOfKey, headKey, headRange,
  indexRecordKey, logEntryKey, logRange, pinKey, pinRange, statusKey, type KeyRange
} from './key-layout.js'
import { DEFAULT_MAX_SCAN, decodeIndexRecord, indexKeysOf, indexRecordWrites, indexedKeysOf, runQuery, type IndexedKeys } from './query-index.js'
import type { Database, Operation } from './database.js'
import { openLayout } from './open-layout.js'
import {
  decodeCommitPlace, decodeLogEntry, decodeStatusRecord, encodeCommitPlace, encodeLogEntry, encodeStatusRecord
} from './values.js'

/** Failures a test can inject into a {@link levelStorage}. Not for production use. */
export interface LevelStorageFaults {
  /**
   * Asked before each write to LevelDB (a batch, a single put or delete, a step of a layout migration); when it
   * returns `true` that write is not made and fails with `StorageError`, as a disk error would fail it.
   */
  failWrite?: () => boolean
}

/**
 * What {@link abstractLevelStorage} needs: a way to open an abstract-level database with binary keys and values, and
 * the names its errors and logs use. `@kiln/storage-level` gives classic-level (LevelDB on disk),
 * `@kiln/storage-browser` browser-level (IndexedDB); the key layout, the batches and the queries are this module's.
 */
export interface AbstractLevelStorageInit {
  /** Where the database is: a directory, or an IndexedDB database name. Shown in errors and logs. */
  path: string
  /** The engine's name in errors: `LevelDB`, `IndexedDB`. */
  kind: string
  /** Opens the database (creating it when missing); rejects with a `StorageError` that says why it cannot. */
  open: () => Promise<Database>
  faults?: LevelStorageFaults
  /** The most index records one `query()` call examines (see `LevelStorageInit.maxScan`). */
  maxScan?: number
}

/** Kiln storage on any abstract-level database: the store behind `levelStorage` and `browserStorage`. */
export function abstractLevelStorage (init: AbstractLevelStorageInit): StorageFactory {
  const maxScan = init.maxScan ?? DEFAULT_MAX_SCAN
  if (!Number.isSafeInteger(maxScan) || maxScan < 1) {
    throw new StorageError(`maxScan must be a positive integer, not ${String(init.maxScan)}`, { details: { maxScan: init.maxScan } })
  }
  return (components: StorageComponents) => new LevelStorage(init, components.logger, maxScan)
}

/**
 * A queued write made ready: a put, a range of keys to delete once the stored keys in it are known, or an index
 * record whose old secondary keys are deleted once the old record is read.
 */
type PreparedWrite = Operation | { type: 'clear', range: KeyRange } | { type: 'index', docId: string, record: DocIndexRecord }

const EMPTY = new Uint8Array(0)
/** Documents whose index keys the store keeps in memory after writing them (a few hundred bytes each). */
const INDEXED_KEYS_CACHED = 10_000

class LevelStorage implements Storage {
  readonly blocks: Blockstore
  readonly #path: string
  readonly #kind: string
  readonly #openDatabase: () => Promise<Database>
  readonly #faults: LevelStorageFaults | undefined
  readonly #logger: Logger | undefined
  readonly #maxScan: number
  readonly #locks = new DocLocks()
  /** The index keys of recently written documents, least recently written first. */
  readonly #indexedKeys = new Map<string, IndexedKeys>()
  readonly #stats: StorageWriteStats = { batches: 0, syncs: 0, bytesWritten: 0 }
  #db: Database | undefined
  #starting: Promise<void> | undefined
  #stopped = false

  constructor (init: AbstractLevelStorageInit, logger: Logger | undefined, maxScan: number) {
    this.#path = init.path
    this.#kind = init.kind
    this.#openDatabase = init.open
    this.#faults = init.faults
    this.#logger = logger
    this.#maxScan = maxScan
    this.blocks = {
      get: async (cid, options) => await this.#getBlock(cid, options),
      put: async (cid, bytes, options) => await this.#putBlock(cid, bytes, options),
      has: async (cid, options) => await this.#hasBlock(cid, options),
      getMany: async (cids, options) => await this.#getBlocks(cids, options)
    }
  }

  async start (): Promise<void> {
    if (this.#db !== undefined) return
    this.#starting ??= this.#open().finally(() => { this.#starting = undefined })
    await this.#starting
  }

  async stop (): Promise<void> {
    await this.#starting?.catch(() => {})
    const db = this.#db
    if (db === undefined) return
    this.#db = undefined
    // Another process may write the store before this one opens it again.
    this.#indexedKeys.clear()
    this.#stopped = true
    try {
      await db.close()
    } catch (err) {
      throw new StorageError(`Cannot close the ${this.#kind} store at ${this.#path}: ${describe(err)}`, { cause: err, details: { operation: 'close', path: this.#path } })
    }
    this.#logger?.debug({ path: this.#path }, 'level storage closed')
  }

  async getHead (docId: string, options?: AbortOptions): Promise<DocHead | undefined> {
    const [headBytes, statusBytes] = await this.#run('read the head of', docId, options, async (db) => await db.getMany([headKey(docId), statusKey(docId)]))
    if (headBytes === undefined) return undefined
    const head = await this.#decodeHead(headBytes, `the head of ${docId}`, docId)
    if (statusBytes !== undefined) {
      const record = this.#decode(`the anchor-status record of ${docId}`, docId, () => decodeStatusRecord(statusBytes))
      // A record about an older tip says nothing about the head: the tip moved on since.
      if (record.tip.equals(head.tip)) head.anchorStatus = record.status
    }
    return head
  }

  async readLog (docId: string, range: { from?: number, to?: number } = {}, options?: AbortOptions): Promise<StoredLogEntry[]> {
    const from = range.from ?? 0
    const to = range.to
    for (const [name, value] of [['from', from], ['to', to ?? 0]] as const) {
      if (!isPosition(value)) {
        throw new StorageError(`Cannot read the log of ${docId}: ${name} ${String(value)} is not a non-negative integer`, { details: { operation: 'read the log of', key: docId, [name]: value } })
      }
    }
    if (to !== undefined && to <= from) {
      throwIfAborted(options?.signal, 'read the log of', docId)
      return []
    }
    const values = await this.#run('read the log of', docId, options, async (db) => await db.values(logRange(docId, from, to)).all())
    return values.map((bytes) => this.#decode(`a log entry of ${docId}`, docId, () => decodeLogEntry(bytes)))
  }

  async getCommitPlace (docId: string, cid: CID, options?: AbortOptions): Promise<CommitPlace | undefined> {
    const bytes = await this.#run('read the commit index of', docId, options, async (db) => await db.get(commitKey(docId, cid)))
    if (bytes === undefined) return undefined
    return this.#decode(`the commit index of ${docId}`, docId, () => decodeCommitPlace(bytes))
  }

  async getCheckpoint (docId: string, seq: number, options?: AbortOptions): Promise<Checkpoint | undefined> {
    if (!isPosition(seq)) {
      throw new StorageError(`Cannot read a checkpoint of ${docId}: position ${String(seq)} is not a non-negative integer`, { details: { operation: 'read a checkpoint of', key: docId, seq } })
    }
    // One reverse seek: the last checkpoint key at or before `seq`.
    const found = await this.#run('read a checkpoint of', docId, options, async (db) =>
      await db.iterator({ gte: checkpointRange(docId).gte, lte: checkpointKey(docId, seq), reverse: true, limit: 1 }).all())
    const [key, value] = found[0] ?? []
    if (key === undefined || value === undefined) return undefined
    return { seq: decodeSeq(key), head: await this.#decodeHead(value, `a checkpoint of ${docId}`, docId) }
  }

  listDocuments (options?: AbortOptions): AsyncIterable<string> {
    return this.#listKeys('list documents', headRange(), options)
  }

  async deleteDocument (docId: string, options?: AbortOptions): Promise<void> {
    await this.#run('delete', docId, options, async (db) => await this.#locks.run([docId], async () => {
      const keys = [headKey(docId), statusKey(docId), pinKey(docId), indexRecordKey(docId)]
      const record = await this.#readIndexRecord(db, docId)
      if (record !== undefined) keys.push(...indexKeysOf(docId, record))
      for (const range of [logRange(docId), commitRange(docId), checkpointRange(docId)]) keys.push(...await db.keys(range).all())
      throwIfAborted(options?.signal, 'delete', docId)
      await this.#write(db, keys.map((key) => ({ type: 'del' as const, key })))
      this.#indexedKeys.delete(docId)
    }))
  }

  batch (): StorageBatch {
    return queuedBatch({ indexRecord: checkedIndexRecord, commit: async (writes, options) => { await this.#commit(writes, options) } })
  }

  async pin (docId: string, options?: AbortOptions): Promise<void> {
    await this.#run('pin', docId, options, async (db) => { await this.#write(db, [{ type: 'put', key: pinKey(docId), value: EMPTY }]) })
  }

  async unpin (docId: string, options?: AbortOptions): Promise<void> {
    await this.#run('unpin', docId, options, async (db) => { await this.#write(db, [{ type: 'del', key: pinKey(docId) }]) })
  }

  async isPinned (docId: string, options?: AbortOptions): Promise<boolean> {
    return await this.#run('read the pin of', docId, options, async (db) => await db.has(pinKey(docId)))
  }

  listPins (options?: AbortOptions): AsyncIterable<string> {
    return this.#listKeys('list pins', pinRange(), options)
  }

  async query (query: StorageQuery, options?: AbortOptions): Promise<StorageQueryPage> {
    return await this.#run('run a query', '', options, async (db) => await runQuery(query, {
      db,
      maxScan: this.#maxScan,
      readRecords: async (docIds) => {
        const found = await db.getMany(docIds.map(indexRecordKey))
        return found.map((bytes, i) => bytes === undefined ? undefined : this.#decode(`the index record of ${docIds[i]!}`, docIds[i]!, () => decodeIndexRecord(bytes)))
      },
      checkAborted: () => { throwIfAborted(options?.signal, 'run a query', '') }
    }))
  }

  async getIndexRecord (docId: string, options?: AbortOptions): Promise<DocIndexRecord | undefined> {
    return await this.#run('read the index record of', docId, options, async (db) => await this.#readIndexRecord(db, docId))
  }

  writeStats (): StorageWriteStats {
    return { ...this.#stats }
  }

  async #open (): Promise<void> {
    const path = this.#path
    const db = await this.#openDatabase()
    try {
      // Migration writes go through the fault hook too, but are not counted in writeStats: they are not commits.
      await openLayout(db, { path, logger: this.#logger, write: async (operations) => { this.#faultCheck('migrate', path); await db.batch(operations) } })
    } catch (err) {
      await db.close().catch(() => {})
      if (isKilnError(err)) throw err
      throw new StorageError(`Cannot read or migrate the key layout of the ${this.#kind} store at ${path}: ${describe(err)}`, { cause: err, details: { operation: 'open', path } })
    }
    this.#db = db
    this.#stopped = false
    this.#logger?.debug({ path }, 'level storage open')
  }

  async #getBlock (cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    const bytes = await this.#run('read block', cid.toString(), options, async (db) => await db.get(blockKey(cid)))
    if (bytes === undefined) {
      throw new BlockNotFoundError(`Block ${cid.toString()} is not in the ${this.#kind} store at ${this.#path}`, { details: { cid: cid.toString() } })
    }
    // A plain Uint8Array copy: LevelDB hands back Buffers, which compare differently and may share a pool.
    return new Uint8Array(bytes)
  }

  async #getBlocks (cids: readonly CID[], options?: AbortOptions): Promise<Array<Uint8Array | undefined>> {
    if (cids.length === 0) return []
    const found = await this.#run('read blocks', `${cids.length} blocks`, options, async (db) => await db.getMany(cids.map(blockKey)))
    return found.map((bytes) => bytes === undefined ? undefined : new Uint8Array(bytes))
  }

  async #putBlock (cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    await this.#run('write block', cid.toString(), options, async (db) => { await this.#write(db, [{ type: 'put', key: blockKey(cid), value: bytes }]) })
  }

  async #hasBlock (cid: CID, options?: AbortOptions): Promise<boolean> {
    return await this.#run('check block', cid.toString(), options, async (db) => await db.has(blockKey(cid)))
  }

  async #commit (writes: QueuedWrite[], options?: CommitOptions): Promise<void> {
    const docIds = [...new Set(writes.flatMap((w) => w.kind === 'block' ? [] : [w.docId]))]
    const key = docIds.length > 0 ? `for ${docIds.join(', ')}` : `of ${writes.length} blocks`
    throwIfAborted(options?.signal, 'commit a batch', key)
    this.#database('commit a batch', key)
    // Every value is checked and encoded before the first write, so one bad value fails the batch as a whole.
    const prepared: PreparedWrite[] = []
    for (const write of writes) prepared.push(await prepare(write))
    await this.#run('commit a batch', key, options, async (db) => await this.#locks.run(docIds, async () => {
      const operations: Operation[] = []
      // The index record of each document as this batch leaves it so far (read in one go before the first write): a
      // second putIndex replaces the first.
      const indexed = await this.#readIndexedKeys(db, [...new Set(prepared.flatMap((w) => w.type === 'index' ? [w.docId] : []))])
      for (const write of prepared) {
        if (write.type === 'index') {
          const { keys, operations: writes } = indexRecordWrites(write.docId, write.record, indexed.get(write.docId))
          operations.push(...writes)
          indexed.set(write.docId, keys)
          continue
        }
        if (write.type !== 'clear') {
          operations.push(write)
          continue
        }
        // A truncation or checkpoint drop deletes what is stored in its range, and what this batch put there before
        // it (LevelDB applies a batch in order, so a put queued after it stays).
        const stored = await db.keys(write.range).all()
        const queued = operations.filter((op) => op.type === 'put' && inRange(op.key, write.range))
        for (const k of [...stored, ...queued.map((op) => op.key)]) operations.push({ type: 'del', key: k })
      }
      throwIfAborted(options?.signal, 'commit a batch', key)
      await this.#write(db, operations, { sync: options?.sync === true })
      // Only once written: a batch that fails leaves the cache as the database is.
      for (const [docId, keys] of indexed) this.#rememberIndexedKeys(docId, keys)
    }))
  }

  /**
   * The first `createdAt` and the index keys of each document's stored record, from the cache of recent writes or
   * else read in one go: a replacement deletes the keys that changed without reading the record again.
   */
  async #readIndexedKeys (db: Database, docIds: string[]): Promise<Map<string, IndexedKeys | undefined>> {
    const found = new Map<string, IndexedKeys | undefined>()
    const missing: string[] = []
    for (const docId of docIds) {
      const cached = this.#indexedKeys.get(docId)
      if (cached === undefined) missing.push(docId)
      else found.set(docId, cached)
    }
    for (const [docId, record] of await this.#readIndexRecords(db, missing)) found.set(docId, record === undefined ? undefined : indexedKeysOf(docId, record))
    return found
  }

  /** Keeps a document's index keys as the most recently used, dropping the least recently used past the bound. */
  #rememberIndexedKeys (docId: string, keys: IndexedKeys | undefined): void {
    this.#indexedKeys.delete(docId)
    if (keys === undefined) return
    this.#indexedKeys.set(docId, keys)
    if (this.#indexedKeys.size > INDEXED_KEYS_CACHED) this.#indexedKeys.delete(this.#indexedKeys.keys().next().value!)
  }

  /** Writes operations as one LevelDB batch, through the fault hook, and counts them (`commit` says it is a batch's). */
  async #write (db: Database, operations: Operation[], commit?: CommitOptions): Promise<void> {
    const sync = commit?.sync === true
    this.#faultCheck('write', this.#path)
    await writeBatch(db, operations, sync)
    if (commit !== undefined) this.#stats.batches++
    if (sync) this.#stats.syncs++
    for (const op of operations) if (op.type === 'put') this.#stats.bytesWritten += op.key.byteLength + op.value.byteLength
  }

  async #readIndexRecords (db: Database, docIds: string[]): Promise<Map<string, DocIndexRecord | undefined>> {
    const records = new Map<string, DocIndexRecord | undefined>()
    if (docIds.length === 0) return records
    const found = await db.getMany(docIds.map(indexRecordKey))
    found.forEach((bytes, i) => {
      const docId = docIds[i]!
      records.set(docId, bytes === undefined ? undefined : this.#decode(`the index record of ${docId}`, docId, () => decodeIndexRecord(bytes)))
    })
    return records
  }

  async #readIndexRecord (db: Database, docId: string): Promise<DocIndexRecord | undefined> {
    const bytes = await db.get(indexRecordKey(docId))
    return bytes === undefined ? undefined : this.#decode(`the index record of ${docId}`, docId, () => decodeIndexRecord(bytes))
  }

  #faultCheck (action: string, key: string): void {
    if (this.#faults?.failWrite?.() === true) {
      throw new StorageError(`Cannot ${action} in the ${this.#kind} store at ${this.#path}: a write failure was injected (faults.failWrite)`, {
        details: { operation: action, key, path: this.#path }
      })
    }
  }

  async * #listKeys (action: string, range: KeyRange, options?: AbortOptions): AsyncGenerator<string> {
    throwIfAborted(options?.signal, action, '')
    const iterator = this.#database(action, '').keys(range)
    try {
      while (true) {
        throwIfAborted(options?.signal, action, '')
        let key: Uint8Array | undefined
        try {
          key = await iterator.next()
        } catch (err) {
          throw this.#failure(action, '', err)
        }
        if (key === undefined) return
        let docId: string
        try {
          docId = docIdOfKey(key)
        } catch (err) {
          throw this.#corrupt('a document ID key', '', err)
        }
        yield docId
      }
    } finally {
      await iterator.close().catch(() => {})
    }
  }

  async #decodeHead (bytes: Uint8Array, what: string, docId: string): Promise<DocHead> {
    let head: unknown
    try {
      head = await decodeHeadRecord(bytes)
    } catch (err) {
      throw this.#corrupt(what, docId, err)
    }
    if (!looksLikeDocHead(head)) throw this.#corrupt(what, docId, 'it is not a document head')
    return head
  }

  #decode<T> (what: string, docId: string, decode: () => T): T {
    try {
      return decode()
    } catch (err) {
      throw this.#corrupt(what, docId, err)
    }
  }

  /** Runs one backend operation: aborted → AbortError, not open → StorageError, any other failure → StorageError. */
  async #run<T> (action: string, key: string, options: AbortOptions | undefined, fn: (db: Database) => Promise<T>): Promise<T> {
    throwIfAborted(options?.signal, action, key)
    const db = this.#database(action, key)
    try {
      return await fn(db)
    } catch (err) {
      if (isKilnError(err)) throw err
      throw this.#failure(action, key, err)
    }
  }

  #database (action: string, key: string): Database {
    if (this.#db !== undefined) return this.#db
    const why = this.#stopped ? 'it was stopped' : 'it is not started; call start() first'
    throw new StorageError(`Cannot ${action}${key === '' ? '' : ` ${key}`}: the ${this.#kind} store at ${this.#path} is closed (${why})`, {
      details: { operation: action, key, path: this.#path }
    })
  }

  #failure (action: string, key: string, err: unknown): StorageError {
    return new StorageError(`Cannot ${action}${key === '' ? '' : ` ${key}`} in the ${this.#kind} store at ${this.#path}: ${describe(err)}`, {
      cause: err, details: { operation: action, key, path: this.#path }
    })
  }

  #corrupt (what: string, key: string, err: unknown): StorageError {
    const reason = typeof err === 'string' ? err : describe(err)
    return new StorageError(`The ${this.#kind} store at ${this.#path} holds a corrupt value for ${what}: ${reason}`, {
      cause: typeof err === 'string' ? undefined : err, details: { operation: 'read', key, path: this.#path }
    })
  }
}

/** Checks and encodes one queued write; a value it cannot store is a StorageError that fails the whole batch. */
async function prepare (write: QueuedWrite): Promise<PreparedWrite> {
  try {
    switch (write.kind) {
      case 'block':
        return { type: 'put', key: blockKey(write.cid), value: write.bytes }
      case 'head':
        return { type: 'put', key: headKey(write.docId), value: await write.encoded }
      case 'entry':
        checkPosition(write.seq)
        return { type: 'put', key: logEntryKey(write.docId, write.seq), value: encodeLogEntry(write.entry) }
      case 'truncate':
        checkPosition(write.seq)
        return { type: 'clear', range: logRange(write.docId, write.seq) }
      case 'index':
        return { type: 'put', key: commitKey(write.docId, write.cid), value: encodeCommitPlace(write.place) }
      case 'checkpoint':
        checkPosition(write.seq)
        return { type: 'put', key: checkpointKey(write.docId, write.seq), value: await write.encoded }
      case 'drop':
        checkPosition(write.seq)
        return { type: 'clear', range: checkpointRange(write.docId, write.seq) }
      case 'status':
        return { type: 'put', key: statusKey(write.docId), value: encodeStatusRecord(write.record) }
      case 'pin':
        return { type: 'put', key: pinKey(write.docId), value: EMPTY }
      case 'docIndex':
        if (write.record instanceof Error) throw write.record
        return { type: 'index', docId: write.docId, record: write.record }
    }
  } catch (err) {
    throw unstorableWrite(write, err, describe(err))
  }
}

/** The stored copy of an index record, or why it cannot be stored. */
function checkedIndexRecord (record: DocIndexRecord): DocIndexRecord | Error {
  try {
    return storedIndexRecord(record)
  } catch (err) {
    return err instanceof Error ? err : new TypeError(String(err))
  }
}

function inRange (key: Uint8Array, range: KeyRange): boolean {
  return compareBytes(key, range.gte) >= 0 && compareBytes(key, range.lt) < 0
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0)
  return a.byteLength - b.byteLength
}

function throwIfAborted (signal: AbortSignal | undefined, action: string, key: string): void {
  if (signal?.aborted === true) {
    throw new AbortError(`Gave up: ${action}${key === '' ? '' : ` ${key}`} was aborted`, { cause: signal.reason, details: { operation: action, key } })
  }
}

/** True when `err` or one of its causes has the error code `code`. */
export function hasCode (err: unknown, code: string): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as Error & { code?: unknown }).code === code) return true
  }
  return false
}

// The message of an error and of its causes: level wraps the useful part ("IO error: …") in a generic outer error.
export function describe (err: unknown): string {
  const messages: string[] = []
  for (let e: unknown = err; e !== undefined && messages.length < 4; e = e instanceof Error ? e.cause : undefined) {
    messages.push(e instanceof Error ? e.message : String(e))
  }
  return messages.join(': ')
}

/**
 * One LevelDB batch of already encoded keys and values. abstract-level's public `batch()` clones, validates and
 * re-encodes every operation for hooks, events and sublevels, none of which this store uses, and that costs more
 * main-thread time than handing the batch to LevelDB. classic-level's own `_batch` (which the public method ends in,
 * with the same operation shape, and browser-level's likewise) takes them as they are. `sync` is classic-level's;
 * other engines ignore it. The public method is used whenever the database is not open.
 */
async function writeBatch (db: Database, operations: Operation[], sync: boolean): Promise<void> {
  // Nothing to write (a truncation of an empty range): the public method does nothing either, and browser-level's
  // `_batch` cannot take an empty list.
  if (operations.length === 0) return
  const direct = (db as unknown as { _batch?: (ops: Operation[], options: { sync: boolean }) => Promise<void> })._batch
  if (db.status === 'open' && typeof direct === 'function') await direct.call(db, operations, { sync })
  else await db.batch(operations, { sync } as Record<string, unknown>)
}
