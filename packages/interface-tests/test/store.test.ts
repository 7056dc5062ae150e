import { describe } from 'vitest'
import { CID } from 'multiformats/cid'
import { AbortError, AnchorStatus, BlockNotFoundError, InvalidQueryError, LogEntryType, StorageError } from '@kiln/interface'
import type {
  AbortOptions, AnchorStatusRecord, Blockstore, Checkpoint, CommitOptions, CommitPlace, DocHead, Storage, StorageBatch,
  StorageWriteStats, StoredLogEntry, DocIndexRecord, StorageQueryPage
} from '@kiln/interface'
import { decodeHeadRecord, encodeHeadRecord } from '@kiln/codec'
import { storeTests } from '@kiln/interface-tests'

// A second, deliberately plain backend, so the store suite is shown to test the contract and not @kiln/storage-level:
// Maps in memory, a batch made of closures that are all checked first and then run in one synchronous go, heads kept
// as dag-cbor bytes (so every read is a deep copy), and bytes counted as this backend would lay them out.

/** A change a batch makes once every queued write has been checked: runs synchronously, so a batch is atomic. */
type Apply = () => void

class MapStorage implements Storage {
  readonly blocks: Blockstore
  readonly #blocks = new Map<string, Uint8Array>()
  readonly #heads = new Map<string, Uint8Array>()
  readonly #logs = new Map<string, Map<number, StoredLogEntry>>()
  readonly #places = new Map<string, Map<string, CommitPlace>>()
  readonly #checkpoints = new Map<string, Map<number, Uint8Array>>()
  readonly #statuses = new Map<string, AnchorStatusRecord>()
  readonly #pins = new Set<string>()
  readonly #stats: StorageWriteStats = { batches: 0, syncs: 0, bytesWritten: 0 }

  constructor () {
    this.blocks = {
      get: async (cid, options) => {
        abortable(options)
        const bytes = this.#blocks.get(cid.toString())
        if (bytes === undefined) throw new BlockNotFoundError(`No block ${cid.toString()}`, { details: { cid: cid.toString() } })
        return bytes.slice()
      },
      put: async (cid, bytes, options) => {
        abortable(options)
        this.#blocks.set(cid.toString(), bytes.slice())
        this.#stats.bytesWritten += cid.bytes.byteLength + bytes.byteLength
      },
      has: async (cid, options) => {
        abortable(options)
        return this.#blocks.has(cid.toString())
      }
    }
  }

  async getHead (docId: string, options?: AbortOptions): Promise<DocHead | undefined> {
    abortable(options)
    const bytes = this.#heads.get(docId)
    if (bytes === undefined) return undefined
    const head = await decoded(bytes)
    const record = this.#statuses.get(docId)
    if (record !== undefined && record.tip.equals(head.tip)) head.anchorStatus = record.status
    return head
  }

  async readLog (docId: string, range: { from?: number, to?: number } = {}, options?: AbortOptions): Promise<StoredLogEntry[]> {
    abortable(options)
    const log = this.#logs.get(docId) ?? new Map<number, StoredLogEntry>()
    const from = range.from ?? 0
    const to = range.to ?? Number.POSITIVE_INFINITY
    return [...log.keys()].filter((seq) => seq >= from && seq < to).sort((a, b) => a - b).map((seq) => ({ ...log.get(seq)! }))
  }

  async getCommitPlace (docId: string, cid: CID, options?: AbortOptions): Promise<CommitPlace | undefined> {
    abortable(options)
    const place = this.#places.get(docId)?.get(cid.toString())
    return place === undefined ? undefined : { ...place }
  }

  async getCheckpoint (docId: string, seq: number, options?: AbortOptions): Promise<Checkpoint | undefined> {
    abortable(options)
    const checkpoints = this.#checkpoints.get(docId) ?? new Map<number, Uint8Array>()
    const at = Math.max(-1, ...[...checkpoints.keys()].filter((s) => s <= seq))
    const bytes = checkpoints.get(at)
    return bytes === undefined ? undefined : { seq: at, head: await decoded(bytes) }
  }

  async * listDocuments (options?: AbortOptions): AsyncGenerator<string> {
    for (const docId of [...this.#heads.keys()]) {
      abortable(options)
      yield docId
    }
    abortable(options)
  }

  async deleteDocument (docId: string, options?: AbortOptions): Promise<void> {
    abortable(options)
    for (const map of [this.#heads, this.#logs, this.#places, this.#checkpoints, this.#statuses]) map.delete(docId)
    this.#pins.delete(docId)
  }

  batch (): StorageBatch {
    // Each queued write becomes, at commit, a check (which may throw) returning the change to make and its size.
    const queued: Array<() => Promise<[Apply, number]>> = []
    const queue = (write: () => Promise<[Apply, number]>): StorageBatch => { queued.push(write); return batch }
    const batch: StorageBatch = {
      putBlock: (cid, bytes) => {
        const copy = bytes.slice()
        return queue(async () => [() => { this.#blocks.set(cid.toString(), copy) }, cid.bytes.byteLength + copy.byteLength])
      },
      putIndex: () => batch,
      putHead: (docId, head) => queue(async () => {
        const bytes = await encoded(head, `the head of ${docId}`)
        return [() => { this.#heads.set(docId, bytes) }, docId.length + bytes.byteLength]
      }),
      putLogEntry: (docId, seq, entry) => queue(async () => {
        position(seq)
        if (!Object.values(LogEntryType).includes(entry.type)) throw new StorageError(`Unknown log entry type ${String(entry.type)}`)
        if (entry.timestamp !== undefined && !Number.isFinite(entry.timestamp)) throw new StorageError(`Bad time ${entry.timestamp}`)
        const stored: StoredLogEntry = entry.timestamp === undefined ? { cid: entry.cid, type: entry.type } : { cid: entry.cid, type: entry.type, timestamp: entry.timestamp }
        return [() => { mapOf(this.#logs, docId).set(seq, stored) }, docId.length + 8 + 2 + entry.cid.bytes.byteLength + (entry.timestamp === undefined ? 0 : 8)]
      }),
      truncateLog: (docId, seq) => queue(async () => {
        position(seq)
        return [() => { for (const s of this.#logs.get(docId)?.keys() ?? []) if (s >= seq) this.#logs.get(docId)?.delete(s) }, 0]
      }),
      indexCommit: (docId, cid, place) => queue(async () => {
        if (place.seq !== undefined) position(place.seq)
        const copy = place.seq === undefined ? {} : { seq: place.seq }
        return [() => { mapOf(this.#places, docId).set(cid.toString(), copy) }, docId.length + cid.bytes.byteLength + 8]
      }),
      putCheckpoint: (docId, checkpoint) => queue(async () => {
        position(checkpoint.seq)
        const bytes = await encoded(checkpoint.head, `a checkpoint of ${docId}`)
        return [() => { mapOf(this.#checkpoints, docId).set(checkpoint.seq, bytes) }, docId.length + 8 + bytes.byteLength]
      }),
      dropCheckpoints: (docId, seq) => queue(async () => {
        position(seq)
        return [() => { for (const s of this.#checkpoints.get(docId)?.keys() ?? []) if (s >= seq) this.#checkpoints.get(docId)?.delete(s) }, 0]
      }),
      putAnchorStatus: (docId, record) => queue(async () => {
        if (!Object.values(AnchorStatus).includes(record.status)) throw new StorageError(`Unknown anchor status ${String(record.status)}`)
        const copy = { tip: CID.decode(record.tip.bytes), status: record.status }
        return [() => { this.#statuses.set(docId, copy) }, docId.length + 1 + copy.tip.bytes.byteLength]
      }),
      pin: (docId) => queue(async () => [() => { this.#pins.add(docId) }, docId.length]),
      commit: async (options?: CommitOptions) => {
        abortable(options)
        const changes: Array<[Apply, number]> = []
        for (const write of queued) changes.push(await write())
        abortable(options)
        for (const [apply, bytes] of changes) {
          apply()
          this.#stats.bytesWritten += bytes
        }
        this.#stats.batches++
        if (options?.sync === true) this.#stats.syncs++
      }
    }
    return batch
  }

  async pin (docId: string, options?: AbortOptions): Promise<void> {
    abortable(options)
    this.#pins.add(docId)
    this.#stats.bytesWritten += docId.length
  }

  async unpin (docId: string, options?: AbortOptions): Promise<void> {
    abortable(options)
    this.#pins.delete(docId)
  }

  async isPinned (docId: string, options?: AbortOptions): Promise<boolean> {
    abortable(options)
    return this.#pins.has(docId)
  }

  async * listPins (options?: AbortOptions): AsyncGenerator<string> {
    for (const docId of [...this.#pins]) {
      abortable(options)
      yield docId
    }
    abortable(options)
  }

  async query (): Promise<StorageQueryPage> {
    throw new InvalidQueryError('This reference store keeps no query index')
  }

  async getIndexRecord (): Promise<DocIndexRecord | undefined> {
    return undefined
  }

  writeStats (): StorageWriteStats {
    return { ...this.#stats }
  }
}

function abortable (options: AbortOptions | undefined): void {
  if (options?.signal?.aborted === true) throw new AbortError('aborted', { cause: options.signal.reason })
}

function position (seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new StorageError(`Position ${seq} is not a non-negative integer`)
}

async function encoded (head: DocHead, what: string): Promise<Uint8Array> {
  try {
    return await encodeHeadRecord(head)
  } catch (err) {
    throw new StorageError(`Cannot store ${what}`, { cause: err })
  }
}

async function decoded (bytes: Uint8Array): Promise<DocHead> {
  return await decodeHeadRecord(bytes) as DocHead
}

function mapOf<K, V> (maps: Map<string, Map<K, V>>, docId: string): Map<K, V> {
  let map = maps.get(docId)
  if (map === undefined) maps.set(docId, map = new Map())
  return map
}

describe('the store suite on a plain Map backend', () => {
  storeTests({ setup: () => new MapStorage() })
})
