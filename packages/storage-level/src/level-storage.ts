import { mkdir } from 'node:fs/promises'
import { AbortError, BlockNotFoundError, StorageError, isKilnError } from '@kiln/interface'
import type { AbortOptions, Blockstore, DocState, Logger, Storage, StorageBatch, StorageComponents, StorageFactory } from '@kiln/interface'
import { decodeRecord, encodeRecord } from '@kiln/codec'
import { ClassicLevel } from 'classic-level'
import { CID } from 'multiformats/cid'
import { DocLocks } from './doc-locks.js'
import {
  LAYOUT_KEY, LAYOUT_VERSION, blockKey, decodeSeq, docIdOfKey, logKey, logRange, nextSeqKey, encodeSeq,
  pinKey, pinRange, stateKey, stateRange
} from './key-layout.js'

/** Options of {@link levelStorage}. */
export interface LevelStorageInit {
  /** Directory of the LevelDB database; created (with its parents) on `start()` when missing. */
  path: string
}

/** Kiln storage on LevelDB (classic-level) in the directory `init.path`. */
export function levelStorage (init: LevelStorageInit): StorageFactory {
  if (typeof init?.path !== 'string' || init.path === '') {
    throw new StorageError('levelStorage needs a directory: levelStorage({ path: \'./kiln-data\' })', { details: { path: init?.path } })
  }
  return (components: StorageComponents) => new LevelStorage(init.path, components.logger)
}

type Database = ClassicLevel<Uint8Array, Uint8Array>
type Operation = { type: 'put', key: Uint8Array, value: Uint8Array } | { type: 'del', key: Uint8Array }
type QueuedWrite =
  | { kind: 'block', cid: CID, bytes: Uint8Array }
  | { kind: 'state', docId: string, state: DocState }
  | { kind: 'index', docId: string, cid: CID }
  | { kind: 'pin', docId: string }

const EMPTY = new Uint8Array(0)

class LevelStorage implements Storage {
  readonly blocks: Blockstore
  readonly #path: string
  readonly #logger: Logger | undefined
  readonly #locks = new DocLocks()
  /**
   * The next log sequence number of recently written documents. Only this process writes the database (LevelDB
   * locks it), and every change of a document's log happens under its lock, so the cached number stays right; it
   * saves a reverse seek per write, the dearest read of a commit. Bounded, oldest dropped first.
   */
  readonly #nextSeq = new Map<string, number>()
  #db: Database | undefined
  #starting: Promise<void> | undefined
  #stopped = false

  constructor (path: string, logger: Logger | undefined) {
    this.#path = path
    this.#logger = logger
    this.blocks = {
      get: async (cid, options) => await this.#getBlock(cid, options),
      put: async (cid, bytes, options) => await this.#putBlock(cid, bytes, options),
      has: async (cid, options) => await this.#hasBlock(cid, options)
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
    this.#stopped = true
    this.#nextSeq.clear()
    try {
      await db.close()
    } catch (err) {
      throw new StorageError(`Cannot close the LevelDB store at ${this.#path}: ${describe(err)}`, { cause: err, details: { operation: 'close', path: this.#path } })
    }
    this.#logger?.debug({ path: this.#path }, 'level storage closed')
  }

  async getState (docId: string, options?: AbortOptions): Promise<DocState | undefined> {
    const bytes = await this.#run('read the state of', docId, options, async (db) => await db.get(stateKey(docId)))
    if (bytes === undefined) return undefined
    let state: unknown
    try {
      state = await decodeRecord(bytes)
    } catch (err) {
      throw this.#corrupt(`the state of ${docId}`, docId, err)
    }
    if (!looksLikeDocState(state)) throw this.#corrupt(`the state of ${docId}`, docId, 'it is not a document state')
    return state
  }

  async listCommits (docId: string, options?: AbortOptions): Promise<CID[]> {
    const values = await this.#run('list the commits of', docId, options, async (db) => await db.values(logRange(docId)).all())
    // A CID indexed twice has two entries (writes do not read first); the first one gives its place in the order.
    const seen = new Set<string>()
    const cids: CID[] = []
    for (const bytes of values) {
      let cid: CID
      try {
        cid = CID.decode(new Uint8Array(bytes))
      } catch (err) {
        throw this.#corrupt(`the log index of ${docId}`, docId, err)
      }
      const key = cid.toString()
      if (!seen.has(key)) { seen.add(key); cids.push(cid) }
    }
    return cids
  }

  listDocuments (options?: AbortOptions): AsyncIterable<string> {
    return this.#listKeys('list documents', stateRange(), options)
  }

  async deleteDocument (docId: string, options?: AbortOptions): Promise<void> {
    await this.#run('delete', docId, options, async (db) => await this.#locks.run([docId], async () => {
      const keys = [
        ...await db.keys(logRange(docId)).all(),
        stateKey(docId),
        nextSeqKey(docId),
        pinKey(docId)
      ]
      throwIfAborted(options?.signal, 'delete', docId)
      await db.batch(keys.map((key) => ({ type: 'del' as const, key })))
      this.#nextSeq.delete(docId)
    }))
  }

  batch (): StorageBatch {
    const writes: QueuedWrite[] = []
    const batch: StorageBatch = {
      putBlock: (cid, bytes) => {
        // Copied now: the caller may reuse its array before commit().
        writes.push({ kind: 'block', cid, bytes: bytes.slice() })
        return batch
      },
      putState: (docId, state) => {
        writes.push({ kind: 'state', docId, state })
        return batch
      },
      indexCommit: (docId, cid) => {
        writes.push({ kind: 'index', docId, cid })
        return batch
      },
      pin: (docId) => {
        writes.push({ kind: 'pin', docId })
        return batch
      },
      commit: async (options) => { await this.#commit(writes.slice(), options) }
    }
    return batch
  }

  async pin (docId: string, options?: AbortOptions): Promise<void> {
    await this.#run('pin', docId, options, async (db) => { await db.put(pinKey(docId), EMPTY) })
  }

  async unpin (docId: string, options?: AbortOptions): Promise<void> {
    await this.#run('unpin', docId, options, async (db) => { await db.del(pinKey(docId)) })
  }

  async isPinned (docId: string, options?: AbortOptions): Promise<boolean> {
    return await this.#run('read the pin of', docId, options, async (db) => await db.has(pinKey(docId)))
  }

  listPins (options?: AbortOptions): AsyncIterable<string> {
    return this.#listKeys('list pins', pinRange(), options)
  }

  async #open (): Promise<void> {
    const path = this.#path
    try {
      await mkdir(path, { recursive: true })
    } catch (err) {
      throw new StorageError(`Cannot create the directory ${path} for LevelDB: ${describe(err)}`, { cause: err, details: { operation: 'open', path } })
    }
    const db: Database = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: true })
    try {
      await db.open()
    } catch (err) {
      const reason = hasCode(err, 'LEVEL_LOCKED')
        ? 'it is locked: another levelStorage (in this or another process) already has it open; LevelDB allows one at a time'
        : describe(err)
      throw new StorageError(`Cannot open the LevelDB store at ${path}: ${reason}`, { cause: err, details: { operation: 'open', path } })
    }
    try {
      await checkLayout(db, path)
    } catch (err) {
      await db.close().catch(() => {})
      if (isKilnError(err)) throw err
      throw new StorageError(`Cannot read the layout version of the LevelDB store at ${path}: ${describe(err)}`, { cause: err, details: { operation: 'open', path } })
    }
    this.#db = db
    this.#stopped = false
    this.#logger?.debug({ path }, 'level storage open')
  }

  async #getBlock (cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    const bytes = await this.#run('read block', cid.toString(), options, async (db) => await db.get(blockKey(cid)))
    if (bytes === undefined) {
      throw new BlockNotFoundError(`Block ${cid.toString()} is not in the LevelDB store at ${this.#path}`, { details: { cid: cid.toString() } })
    }
    // A plain Uint8Array copy: LevelDB hands back Buffers, which compare differently and may share a pool.
    return new Uint8Array(bytes)
  }

  async #putBlock (cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    await this.#run('write block', cid.toString(), options, async (db) => { await db.put(blockKey(cid), bytes) })
  }

  async #hasBlock (cid: CID, options?: AbortOptions): Promise<boolean> {
    return await this.#run('check block', cid.toString(), options, async (db) => await db.has(blockKey(cid)))
  }

  async #commit (writes: QueuedWrite[], options?: AbortOptions): Promise<void> {
    const docIds = [...new Set(writes.flatMap((w) => w.kind === 'block' ? [] : [w.docId]))]
    const key = docIds.length > 0 ? `for ${docIds.join(', ')}` : `of ${writes.length} blocks`
    throwIfAborted(options?.signal, 'commit a batch', key)
    this.#database('commit a batch', key)
    // Encode every state before the first write, so a state dag-cbor cannot hold fails the batch as a whole.
    const encoded = new Map<QueuedWrite, Uint8Array>()
    for (const write of writes) {
      if (write.kind !== 'state') continue
      try {
        encoded.set(write, (await encodeRecord(write.state)).bytes)
      } catch (err) {
        throw new StorageError(`Cannot store the state of ${write.docId}: ${describe(err)}; nothing of the batch was written`, {
          cause: err, details: { operation: 'commit', key: write.docId }
        })
      }
    }
    await this.#run('commit a batch', key, options, async (db) => await this.#locks.run(docIds, async () => {
      const operations: Operation[] = []
      const nextSeq = new Map<string, number>()
      const indexed = new Set<string>()
      for (const write of writes) {
        if (write.kind === 'block') {
          operations.push({ type: 'put', key: blockKey(write.cid), value: write.bytes })
        } else if (write.kind === 'state') {
          operations.push({ type: 'put', key: stateKey(write.docId), value: encoded.get(write) ?? EMPTY })
        } else if (write.kind === 'pin') {
          operations.push({ type: 'put', key: pinKey(write.docId), value: EMPTY })
        } else {
          // No read to find out whether the CID is already indexed: a repeat adds an entry that listCommits skips.
          // Writes stay one LevelDB round trip, which is what a commit's latency is made of.
          const id = `${write.docId}\u0000${write.cid.toString()}`
          if (indexed.has(id)) continue
          indexed.add(id)
          const seq = nextSeq.get(write.docId) ?? this.#nextSeq.get(write.docId) ?? await storedNextSeq(db, write.docId)
          nextSeq.set(write.docId, seq + 1)
          operations.push({ type: 'put', key: logKey(write.docId, seq), value: write.cid.bytes })
        }
      }
      for (const [docId, seq] of nextSeq) operations.push({ type: 'put', key: nextSeqKey(docId), value: encodeSeq(seq) })
      throwIfAborted(options?.signal, 'commit a batch', key)
      await db.batch(operations)
      for (const [docId, seq] of nextSeq) {
        this.#nextSeq.delete(docId)
        this.#nextSeq.set(docId, seq)
        if (this.#nextSeq.size > SEQ_CACHE_SIZE) this.#nextSeq.delete(this.#nextSeq.keys().next().value!)
      }
    }))
  }

  async * #listKeys (action: string, range: { gte: Uint8Array, lt: Uint8Array }, options?: AbortOptions): AsyncGenerator<string> {
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
    throw new StorageError(`Cannot ${action}${key === '' ? '' : ` ${key}`}: the LevelDB store at ${this.#path} is closed (${why})`, {
      details: { operation: action, key, path: this.#path }
    })
  }

  #failure (action: string, key: string, err: unknown): StorageError {
    return new StorageError(`Cannot ${action}${key === '' ? '' : ` ${key}`} in the LevelDB store at ${this.#path}: ${describe(err)}`, {
      cause: err, details: { operation: action, key, path: this.#path }
    })
  }

  #corrupt (what: string, key: string, err: unknown): StorageError {
    const reason = typeof err === 'string' ? err : describe(err)
    return new StorageError(`The LevelDB store at ${this.#path} holds a corrupt value for ${what}: ${reason}`, {
      cause: typeof err === 'string' ? undefined : err, details: { operation: 'read', key, path: this.#path }
    })
  }
}

/** How many documents' next sequence numbers are kept. */
const SEQ_CACHE_SIZE = 10_000

/**
 * The next log sequence number of a document as stored beside its log: a point read, which LevelDB serves
 * concurrently, where a reverse seek to the log's last key would hold an iterator (and cost about five times more).
 */
async function storedNextSeq (db: Database, docId: string): Promise<number> {
  const stored = await db.get(nextSeqKey(docId))
  return stored === undefined ? 0 : decodeSeq(stored)
}

async function checkLayout (db: Database, path: string): Promise<void> {
  const stored = await db.get(LAYOUT_KEY)
  if (stored === undefined) {
    await db.put(LAYOUT_KEY, Uint8Array.of(LAYOUT_VERSION))
    return
  }
  if (stored.byteLength !== 1 || stored[0] !== LAYOUT_VERSION) {
    throw new StorageError(`The LevelDB store at ${path} has key layout ${Array.from(stored).join('.')}, this version reads layout ${LAYOUT_VERSION}`, {
      details: { operation: 'open', path }
    })
  }
}

function throwIfAborted (signal: AbortSignal | undefined, action: string, key: string): void {
  if (signal?.aborted === true) {
    throw new AbortError(`Gave up: ${action}${key === '' ? '' : ` ${key}`} was aborted`, { cause: signal.reason, details: { operation: action, key } })
  }
}

function looksLikeDocState (value: unknown): value is DocState {
  if (value === null || typeof value !== 'object') return false
  const state = value as Partial<DocState>
  return typeof state.type === 'number' && Array.isArray(state.log) && state.metadata !== null && typeof state.metadata === 'object'
}

function hasCode (err: unknown, code: string): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as Error & { code?: unknown }).code === code) return true
  }
  return false
}

// The message of an error and of its causes: level wraps the useful part ("IO error: …") in a generic outer error.
function describe (err: unknown): string {
  const messages: string[] = []
  for (let e: unknown = err; e !== undefined && messages.length < 4; e = e instanceof Error ? e.cause : undefined) {
    messages.push(e instanceof Error ? e.message : String(e))
  }
  return messages.join(': ')
}
