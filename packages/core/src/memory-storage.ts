import { AbortError, BlockNotFoundError, StorageError } from '@kiln/interface'
import type { AbortOptions, Blockstore, DocState, Storage, StorageBatch, StorageFactory } from '@kiln/interface'
import { decodeRecord, encodeRecord } from '@kiln/codec'
import type { CID } from 'multiformats/cid'

/** In-memory storage for tests and throwaway nodes: the storage contract, nothing kept after the process ends. */
export function memoryStorage (): StorageFactory {
  return () => new MemoryStorage()
}

interface LogIndex {
  cids: CID[]
  /** `cid.toString()` of every entry, for the "index once" rule. */
  seen: Set<string>
}

type QueuedWrite =
  | { kind: 'block', cid: CID, bytes: Uint8Array }
  | { kind: 'state', docId: string, state: DocState }
  | { kind: 'index', docId: string, cid: CID }
  | { kind: 'pin', docId: string }

// Blocks are keyed by the CID's string form, which differs between CID versions and codecs: like the LevelDB
// backend, a CID of another codec with the same multihash is another block. States are kept as dag-cbor bytes, so
// every read is a deep copy and a state dag-cbor cannot hold fails its batch as it would on disk.
class MemoryStorage implements Storage {
  readonly blocks: Blockstore
  readonly #blocks = new Map<string, Uint8Array>()
  readonly #states = new Map<string, Uint8Array>()
  readonly #logs = new Map<string, LogIndex>()
  readonly #pins = new Set<string>()

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
      },
      has: async (cid, options) => {
        throwIfAborted(options, `check block ${cid.toString()}`)
        return this.#blocks.has(cid.toString())
      }
    }
  }

  async getState (docId: string, options?: AbortOptions): Promise<DocState | undefined> {
    throwIfAborted(options, `read the state of ${docId}`)
    const bytes = this.#states.get(docId)
    return bytes === undefined ? undefined : await decodeRecord<DocState>(bytes)
  }

  async listCommits (docId: string, options?: AbortOptions): Promise<CID[]> {
    throwIfAborted(options, `list the commits of ${docId}`)
    return [...this.#logs.get(docId)?.cids ?? []]
  }

  async * listDocuments (options?: AbortOptions): AsyncGenerator<string> {
    for (const docId of [...this.#states.keys()]) {
      throwIfAborted(options, 'list documents')
      yield docId
    }
    throwIfAborted(options, 'list documents')
  }

  async deleteDocument (docId: string, options?: AbortOptions): Promise<void> {
    throwIfAborted(options, `delete ${docId}`)
    this.#states.delete(docId)
    this.#logs.delete(docId)
    this.#pins.delete(docId)
  }

  batch (): StorageBatch {
    const writes: QueuedWrite[] = []
    const batch: StorageBatch = {
      putBlock: (cid, bytes) => {
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

  async #commit (writes: QueuedWrite[], options?: AbortOptions): Promise<void> {
    throwIfAborted(options, 'commit a batch')
    // Encode first (the only await), then apply synchronously: no other call can see half a batch.
    const states = new Map<QueuedWrite, Uint8Array>()
    for (const write of writes) {
      if (write.kind !== 'state') continue
      try {
        states.set(write, (await encodeRecord(write.state)).bytes)
      } catch (err) {
        throw new StorageError(`Cannot store the state of ${write.docId}: ${(err as Error).message}; nothing of the batch was written`, {
          cause: err, details: { operation: 'commit', key: write.docId }
        })
      }
    }
    throwIfAborted(options, 'commit a batch')
    for (const write of writes) {
      if (write.kind === 'block') {
        this.#blocks.set(write.cid.toString(), write.bytes)
      } else if (write.kind === 'state') {
        this.#states.set(write.docId, states.get(write) ?? new Uint8Array())
      } else if (write.kind === 'pin') {
        this.#pins.add(write.docId)
      } else {
        let log = this.#logs.get(write.docId)
        if (log === undefined) {
          log = { cids: [], seen: new Set() }
          this.#logs.set(write.docId, log)
        }
        if (log.seen.has(write.cid.toString())) continue
        log.seen.add(write.cid.toString())
        log.cids.push(write.cid)
      }
    }
  }
}

function throwIfAborted (options: AbortOptions | undefined, action: string): void {
  if (options?.signal?.aborted === true) {
    throw new AbortError(`Gave up: ${action} was aborted`, { cause: options.signal.reason, details: { operation: action } })
  }
}
