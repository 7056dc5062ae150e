import { AbortError, AnchorStatus, BlockNotFoundError, LogEntryType, StorageError } from '@kiln/interface'
import type {
  DocIndexRecord, StorageQuery, StorageQueryPage,
  AbortOptions, AnchorStatusRecord, Blockstore, Checkpoint, CommitPlace, DocHead, Storage, StorageBatch, StorageFactory,
  StorageWriteStats, StoredLogEntry
} from '@kiln/interface'
import { decodeHeadRecord, decodeRecord, encodeHeadRecord, encodeRecord } from '@kiln/codec'
import { evaluateQuery, storedIndexRecord } from '@kiln/query'
import type { CID } from 'multiformats/cid'

/** In-memory storage for tests and throwaway nodes: the storage contract, nothing kept after the process ends. */
export function memoryStorage (): StorageFactory {
  return () => new MemoryStorage()
}

/** One document's records. Values are dag-cbor bytes, so every read is a deep copy, as it would be from disk. */
interface DocRecords {
  head?: Uint8Array
  log: Uint8Array[]
  index: Map<string, CommitPlace>
  checkpoints: Map<number, Uint8Array>
  status?: Uint8Array
}

type Op =
  | { kind: 'block', cid: CID, bytes: Uint8Array }
  | { kind: 'head', docId: string, value: DocHead }
  | { kind: 'entry', docId: string, seq: number, value: StoredLogEntry }
  | { kind: 'truncate', docId: string, seq: number }
  | { kind: 'index', docId: string, cid: CID, place: CommitPlace }
  | { kind: 'checkpoint', docId: string, value: Checkpoint }
  | { kind: 'dropCheckpoints', docId: string, seq: number }
  | { kind: 'status', docId: string, value: AnchorStatusRecord }
  | { kind: 'pin', docId: string }
  | { kind: 'putIndex', docId: string, record: DocIndexRecord }

// Blocks are keyed by the CID's string form, which differs between CID versions and codecs: like the LevelDB
// backend, a CID of another codec with the same multihash is another block.
class MemoryStorage implements Storage {
  readonly blocks: Blockstore
  readonly #blocks = new Map<string, Uint8Array>()
  readonly #docs = new Map<string, DocRecords>()
  readonly #pins = new Set<string>()
  /** Query index records by DocID, each the backend's own JSON copy. */
  readonly #indexRecords = new Map<string, DocIndexRecord>()
  readonly #stats: StorageWriteStats = { batches: 0, syncs: 0, bytesWritten: 0 }

  constructor () {
    this.blocks = {
      get: async (cid, options) => {
        throwIfAborted(options, `read block ${cid.toString()}`)
        const bytes = this.#blocks.get(cid.toString())
        if (bytes === undefined) throw new BlockNotFoundError(`Block ${cid.toString()} is not in memory storage`, { details: { cid: cid.toString() } })
        return bytes.slice()
      },
      put: async (cid, bytes, options) => {
        throwIfAborted(options, `write block ${cid.toString()}`)
        this.#blocks.set(cid.toString(), bytes.slice())
        this.#stats.bytesWritten += cid.bytes.byteLength + bytes.byteLength
      },
      has: async (cid, options) => {
        throwIfAborted(options, `check block ${cid.toString()}`)
        return this.#blocks.has(cid.toString())
      },
      getMany: async (cids, options) => {
        throwIfAborted(options, `read ${cids.length} blocks`)
        return cids.map((cid) => this.#blocks.get(cid.toString())?.slice())
      }
    }
  }

  async getHead (docId: string, options?: AbortOptions): Promise<DocHead | undefined> {
    throwIfAborted(options, `read the head of ${docId}`)
    const records = this.#docs.get(docId)
    if (records?.head === undefined) return undefined
    const head = await decodeHeadRecord(records.head) as DocHead
    if (records.status !== undefined) {
      const status = await decodeRecord<AnchorStatusRecord>(records.status)
      if (status.tip.equals(head.tip)) head.anchorStatus = status.status
    }
    return head
  }

  async readLog (docId: string, range: { from?: number, to?: number } = {}, options?: AbortOptions): Promise<StoredLogEntry[]> {
    throwIfAborted(options, `read the log of ${docId}`)
    const log = this.#docs.get(docId)?.log ?? []
    const slice = log.slice(range.from ?? 0, range.to ?? log.length)
    return await Promise.all(slice.map(async (bytes) => await decodeRecord<StoredLogEntry>(bytes)))
  }

  async getCommitPlace (docId: string, cid: CID, options?: AbortOptions): Promise<CommitPlace | undefined> {
    throwIfAborted(options, `find commit ${cid.toString()} of ${docId}`)
    const place = this.#docs.get(docId)?.index.get(cid.toString())
    return place === undefined ? undefined : { ...place }
  }

  async getCheckpoint (docId: string, seq: number, options?: AbortOptions): Promise<Checkpoint | undefined> {
    throwIfAborted(options, `read a checkpoint of ${docId}`)
    const checkpoints = this.#docs.get(docId)?.checkpoints
    if (checkpoints === undefined) return undefined
    let best: number | undefined
    for (const at of checkpoints.keys()) if (at <= seq && (best === undefined || at > best)) best = at
    return best === undefined ? undefined : { seq: best, head: await decodeHeadRecord(checkpoints.get(best)!) as DocHead }
  }

  async * listDocuments (options?: AbortOptions): AsyncGenerator<string> {
    for (const [docId, records] of [...this.#docs]) {
      throwIfAborted(options, 'list documents')
      if (records.head !== undefined) yield docId
    }
    throwIfAborted(options, 'list documents')
  }

  async deleteDocument (docId: string, options?: AbortOptions): Promise<void> {
    throwIfAborted(options, `delete ${docId}`)
    this.#docs.delete(docId)
    this.#pins.delete(docId)
    this.#indexRecords.delete(docId)
  }

  batch (): StorageBatch {
    const ops: Op[] = []
    const batch: StorageBatch = {
      putBlock: (cid, bytes) => { ops.push({ kind: 'block', cid, bytes: bytes.slice() }); return batch },
      putHead: (docId, value) => { ops.push({ kind: 'head', docId, value }); return batch },
      putLogEntry: (docId, seq, value) => { ops.push({ kind: 'entry', docId, seq, value }); return batch },
      truncateLog: (docId, seq) => { ops.push({ kind: 'truncate', docId, seq }); return batch },
      indexCommit: (docId, cid, place) => { ops.push({ kind: 'index', docId, cid, place: { ...place } }); return batch },
      putCheckpoint: (docId, value) => { ops.push({ kind: 'checkpoint', docId, value }); return batch },
      dropCheckpoints: (docId, seq) => { ops.push({ kind: 'dropCheckpoints', docId, seq }); return batch },
      putAnchorStatus: (docId, value) => { ops.push({ kind: 'status', docId, value }); return batch },
      // Copied now: changing the record after the call changes nothing queued.
      putIndex: (docId, record) => { ops.push({ kind: 'putIndex', docId, record: copyRecord(record) }); return batch },
      pin: (docId) => { ops.push({ kind: 'pin', docId }); return batch },
      commit: async (options) => {
        await this.#commit(ops.slice(), options)
        this.#stats.batches++
        if (options?.sync === true) this.#stats.syncs++
      }
    }
    return batch
  }

  async pin (docId: string, options?: AbortOptions): Promise<void> {
    throwIfAborted(options, `pin ${docId}`)
    this.#pins.add(docId)
  }

  async unpin (docId: string, options?: AbortOptions): Promise<void> {
    throwIfAborted(options, `unpin ${docId}`)
    this.#pins.delete(docId)
  }

  async isPinned (docId: string, options?: AbortOptions): Promise<boolean> {
    throwIfAborted(options, `read the pin of ${docId}`)
    return this.#pins.has(docId)
  }

  async * listPins (options?: AbortOptions): AsyncGenerator<string> {
    for (const docId of [...this.#pins]) {
      throwIfAborted(options, 'list pins')
      yield docId
    }
    throwIfAborted(options, 'list pins')
  }

  // Full evaluation: every record is examined on every query. This backend is for tests and throwaway nodes.
  async query (query: StorageQuery, options?: AbortOptions): Promise<StorageQueryPage> {
    throwIfAborted(options, 'run a query')
    return evaluateQuery(this.#indexRecords.entries(), query)
  }

  async getIndexRecord (docId: string, options?: AbortOptions): Promise<DocIndexRecord | undefined> {
    throwIfAborted(options, `read the index record of ${docId}`)
    const record = this.#indexRecords.get(docId)
    return record === undefined ? undefined : structuredClone(record)
  }

  writeStats (): StorageWriteStats {
    return { ...this.#stats }
  }

  async #commit (ops: Op[], options?: AbortOptions): Promise<void> {
    throwIfAborted(options, 'commit a batch')
    for (const op of ops) {
      const problem = invalid(op)
      if (problem !== undefined) {
        throw new StorageError(`Cannot store a ${op.kind} record${'docId' in op ? ` of ${op.docId}` : ''}: ${problem}; nothing of the batch was written`, {
          details: { operation: 'commit', key: 'docId' in op ? op.docId : op.cid.toString() }
        })
      }
    }
    // Encode everything first (the only awaits), then apply synchronously: no other call can see half a batch, and a
    // value dag-cbor cannot hold fails the batch as a whole.
    const encoded = new Map<Op, Uint8Array>()
    const indexRecords = new Map<Op, DocIndexRecord>()
    for (const op of ops) {
      if (op.kind === 'putIndex') {
        try {
          indexRecords.set(op, storedIndexRecord(op.record))
        } catch (err) {
          throw new StorageError(`Cannot store the index record of ${op.docId}: ${(err as Error).message}; nothing of the batch was written`, {
            cause: err, details: { operation: 'commit', key: op.docId }
          })
        }
        continue
      }
      if (op.kind !== 'head' && op.kind !== 'entry' && op.kind !== 'checkpoint' && op.kind !== 'status') continue
      try {
        encoded.set(op, op.kind === 'head'
          ? await encodeHeadRecord(op.value)
          : op.kind === 'checkpoint' ? await encodeHeadRecord(op.value.head) : (await encodeRecord(op.value)).bytes)
      } catch (err) {
        throw new StorageError(`Cannot store a ${op.kind} record of ${op.docId}: ${(err as Error).message}; nothing of the batch was written`, {
          cause: err, details: { operation: 'commit', key: op.docId }
        })
      }
    }
    throwIfAborted(options, 'commit a batch')
    for (const op of ops) {
      const bytes = encoded.get(op)
      if (op.kind === 'block') {
        this.#blocks.set(op.cid.toString(), op.bytes)
        this.#stats.bytesWritten += op.cid.bytes.byteLength + op.bytes.byteLength
        continue
      }
      if (op.kind === 'pin') {
        this.#pins.add(op.docId)
        continue
      }
      if (op.kind === 'putIndex') {
        const record = indexRecords.get(op)!
        // The first createdAt given for a document is kept.
        const previous = this.#indexRecords.get(op.docId)
        if (previous !== undefined) record.createdAt = previous.createdAt
        this.#indexRecords.set(op.docId, record)
        this.#stats.bytesWritten += JSON.stringify(record).length
        continue
      }
      const records = this.#records(op.docId)
      if (op.kind === 'head') records.head = bytes
      else if (op.kind === 'entry') records.log[op.seq] = bytes!
      else if (op.kind === 'truncate') records.log.length = Math.min(records.log.length, op.seq)
      else if (op.kind === 'index') records.index.set(op.cid.toString(), op.place)
      else if (op.kind === 'checkpoint') records.checkpoints.set(op.value.seq, bytes!)
      else if (op.kind === 'dropCheckpoints') { for (const at of [...records.checkpoints.keys()]) if (at >= op.seq) records.checkpoints.delete(at) }
      else records.status = bytes
      this.#stats.bytesWritten += (bytes?.byteLength ?? 0) + (op.kind === 'index' ? op.cid.bytes.byteLength + 9 : 0)
    }
  }

  #records (docId: string): DocRecords {
    let records = this.#docs.get(docId)
    if (records === undefined) {
      records = { log: [], index: new Map(), checkpoints: new Map() }
      this.#docs.set(docId, records)
    }
    return records
  }
}

/** A JSON copy of a queued index record, or the value itself when it has none (commit() then refuses it). */
function copyRecord (record: DocIndexRecord): DocIndexRecord {
  try {
    return JSON.parse(JSON.stringify(record)) as DocIndexRecord
  } catch {
    return record
  }
}

const LOG_ENTRY_TYPES = new Set<number>(Object.values(LogEntryType))
const ANCHOR_STATUSES = new Set<number>(Object.values(AnchorStatus))

function isPosition (value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** Why an operation cannot be stored, or `undefined` when it can. */
function invalid (op: Op): string | undefined {
  const at = (seq: unknown): string | undefined => isPosition(seq) ? undefined : `position ${String(seq)} is not a non-negative integer`
  switch (op.kind) {
    case 'entry': return at(op.seq) ?? (LOG_ENTRY_TYPES.has(op.value.type) ? undefined : `log entry type ${String(op.value.type)} is unknown`)
    case 'truncate': case 'dropCheckpoints': return at(op.seq)
    case 'index': return op.place.seq === undefined ? undefined : at(op.place.seq)
    case 'checkpoint': return at(op.value.seq)
    case 'status': return ANCHOR_STATUSES.has(op.value.status) ? undefined : `anchor status ${String(op.value.status)} is unknown`
    default: return undefined
  }
}

function throwIfAborted (options: AbortOptions | undefined, action: string): void {
  if (options?.signal?.aborted === true) {
    throw new AbortError(`Gave up: ${action} was aborted`, { cause: options.signal.reason, details: { operation: action } })
  }
}
