import { DocID } from '@kiln/docid'
import { CodecError, LimitExceededError, type AbortOptions, type Block, type SyncSource } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { compareKeys, inSyncRange, parseSyncKey, syncDocumentHash, type SyncRange } from './keys.js'
import { decodeSyncMessage, encodeSyncMessage, MAX_SYNC_MESSAGE_BYTES, MAX_SYNC_MESSAGE_ITEMS, type SyncBlocksMessage } from './messages.js'
import type { SyncChannel } from './channel.js'
import type { SyncKeyStore } from './store.js'
import type { SyncDocumentIndex } from './interests.js'
import { toHex } from '#platform/bytes'

/** The libp2p protocol on which the blocks of wanted keys travel, after a reconciliation found them. */
export const SYNC_BLOCKS_PROTOCOL = '/kiln/sync-blocks/1.0.0'

/** Most keys one stream of the blocks protocol may want in all. */
export const MAX_WANTED_PER_STREAM = 100_000

/** Commits applied to a document in one go: each call walks back at most this far to what the node holds. */
const APPLY_CHUNK = 500

/** Documents applied at once after a fetch. */
const APPLY_CONCURRENCY = 32

/** Wanted keys whose blocks are read from storage in one go. */
const READ_BATCH = 200

/** Room left in a `blocks` message for its framing, beside the blocks themselves. */
const ENVELOPE_SLACK = 64 * 1024

const hex = toHex

/**
 * Serves one stream of the blocks protocol: each `want` is answered with `blocks` messages (at most 1 MiB each) for the
 * keys this node holds within `interests`, then `done`; other keys are left out. Ends when the peer closes.
 */
export async function serveBlocks (channel: SyncChannel, store: SyncKeyStore, documents: Pick<SyncDocumentIndex, 'docIdOf'>, source: SyncSource, interests: readonly SyncRange[], options: AbortOptions & { serves?: (key: Uint8Array) => boolean } = {}): Promise<number> {
  let wanted = 0
  let served = 0
  for await (const frame of channel.receive()) {
    const message = decodeSyncMessage(frame)
    if (message.type === 'done') break
    if (message.type !== 'want') throw new CodecError(`Expected want from the peer, got ${message.type}`)
    wanted += message.keys.length
    if (wanted > MAX_WANTED_PER_STREAM) throw new LimitExceededError(`The peer wanted more than ${MAX_WANTED_PER_STREAM} keys on one stream`, { details: { limit: MAX_WANTED_PER_STREAM } })
    let entries: SyncBlocksMessage['entries'] = []
    let bytes = 0
    let count = 0
    const flush = async (): Promise<void> => {
      if (entries.length === 0) return
      await channel.send(encodeSyncMessage({ type: 'blocks', entries }))
      entries = []
      bytes = 0
      count = 0
    }
    // Only what this node holds, is interested in and passes its filter (docs/sync.md, Interests) is served; the blocks
    // are read a batch of keys at a time.
    const servable = message.keys.flatMap((key) => {
      if (!store.has(key) || !interests.some((range) => inSyncRange(range, key))) return []
      if (options.serves !== undefined && !options.serves(key)) return []
      const parsed = parseSyncKey(key)
      const docId = documents.docIdOf(parsed.document)
      return docId === undefined ? [] : [{ key, docId, commit: parsed.commit }]
    })
    for (let i = 0; i < servable.length; i += READ_BATCH) {
      const batch = servable.slice(i, i + READ_BATCH)
      const found = source.blocksOfMany === undefined
        ? await Promise.all(batch.map(async ({ docId, commit }) => await source.blocksOf(docId, commit, options)))
        : await source.blocksOfMany(batch, options)
      for (const [n, { key, docId }] of batch.entries()) {
        const blocks = found[n]
        if (blocks === undefined) continue
        const size = blocks.reduce((sum, b) => sum + b.bytes.byteLength + b.cid.bytes.byteLength, key.length + docId.length)
        if (size > MAX_SYNC_MESSAGE_BYTES - ENVELOPE_SLACK) continue
        if (bytes + size > MAX_SYNC_MESSAGE_BYTES - ENVELOPE_SLACK || count + blocks.length >= MAX_SYNC_MESSAGE_ITEMS) await flush()
        entries.push({ key, doc: docId, blocks: blocks.map((b) => ({ cid: b.cid, bytes: b.bytes })) })
        bytes += size
        count += blocks.length
        served++
      }
    }
    await flush()
    await channel.send(encodeSyncMessage({ type: 'done' }))
  }
  return served
}

/**
 * What fetching wanted keys did: commits received and applied (and the keys applied), documents touched, documents
 * refused for invalid data (the peer's fault) and the keys of their commits not applied, and documents that failed
 * here for reasons that are not the peer's (a chain this node does not verify, its storage, its own deadline).
 */
export interface FetchOutcome { received: number, applied: number, documents: number, refused: number, refusedKeys: Uint8Array[], appliedKeys: Uint8Array[], failed: number, skipped: number }

/** Errors of applying a peer's commits that are this node's own, not the peer's fault. */
const NOT_THE_PEERS = new Set(['AbortError', 'TimeoutError', 'NodeStoppedError', 'StorageError', 'UnsupportedChainError'])

/** Where a fetch stands, as it goes: commits received so far, applied so far, and wanted in all. */
export interface FetchProgress { received: number, applied: number, wanted: number }

/** Options of {@link fetchWanted}. */
export interface FetchOptions extends AbortOptions {
  /** Most bytes of blocks received and not yet applied; past it, no more is read from the peer until applies catch up. */
  maxPendingBytes?: number
  /** Called as commits are received and applied. */
  onProgress?: (progress: FetchProgress) => void
  /**
   * Whether the node takes a document the peer sent, given its blocks in this message (a node never stores what is
   * outside its interests); the commits of one it does not take are counted in `skipped`, not applied.
   */
  admit?: (docId: string, blocks: Block[]) => Promise<boolean>
}

/** By default, the most bytes of received blocks held waiting to be applied, per fetch (per sync session). */
export const MAX_PENDING_SYNC_BYTES = 4 * 1024 * 1024

/** `want` messages sent ahead of the answers: the peer serves the next while this node takes in the last. */
const WANTS_AHEAD = 2

/** One commit received: its key, its CID and its blocks. */
interface ReceivedCommit { key: Uint8Array, commit: CID, blocks: Block[] }

/**
 * Wants `keys` from the peer on a blocks stream and applies what arrives as it arrives: each `blocks` message's
 * commits are applied document by document, in key (height) order, each through the node's pipeline
 * (`source.apply`), while the next messages are read. The commits of one document are applied in the order they
 * came; documents are applied {@link APPLY_CONCURRENCY} at once. Blocks received and not yet applied stay under
 * `maxPendingBytes`: past it, reading waits. An entry whose DocID does not match its key's document hash ends the
 * fetch (`CodecError`: the peer is lying about what it sent); a document whose commits the pipeline refuses is
 * counted in `refused`, and nothing more of it is applied.
 */
export async function fetchWanted (channel: SyncChannel, keys: readonly Uint8Array[], source: SyncSource, options: FetchOptions = {}): Promise<FetchOutcome> {
  const wanted = new Set(keys.map(hex))
  const applying = new ApplyQueue(source, options)
  const progress = (): void => { options.onProgress?.({ received: applying.received, applied: applying.applied, wanted: keys.length }) }
  applying.onApplied = progress
  const incoming = channel.receive()[Symbol.asyncIterator]()
  const chunks: Array<readonly Uint8Array[]> = []
  for (let i = 0; i < keys.length; i += MAX_SYNC_MESSAGE_ITEMS) chunks.push(keys.slice(i, i + MAX_SYNC_MESSAGE_ITEMS))
  let sent = 0
  let answered = 0
  let skipped = 0
  try {
    while (answered < chunks.length) {
      while (sent < chunks.length && sent - answered < WANTS_AHEAD) await channel.send(encodeSyncMessage({ type: 'want', keys: [...chunks[sent++]!] }))
      // Backpressure: what waits to be applied stays under the cap before more is read.
      await applying.room()
      const next = await incoming.next()
      if (next.done === true) throw new CodecError('The peer closed the blocks stream before it was done')
      const message = decodeSyncMessage(next.value)
      if (message.type === 'done') {
        answered++
        continue
      }
      if (message.type !== 'blocks') throw new CodecError(`Expected blocks or done from the peer, got ${message.type}`)
      const byDoc = new Map<string, ReceivedCommit[]>()
      /** The document hash of each DocID the message names, worked out once per DocID. */
      const hashes = new Map<string, string>()
      for (const entry of message.entries) {
        const id = hex(entry.key)
        if (!wanted.has(id)) throw new CodecError('The peer sent the blocks of a key that was not wanted')
        wanted.delete(id)
        const parsed = parseSyncKey(entry.key)
        let hash = hashes.get(entry.doc)
        if (hash === undefined) {
          try {
            hash = hex(syncDocumentHash(DocID.fromString(entry.doc).cid))
          } catch (err) {
            throw new CodecError(`The peer named ${JSON.stringify(entry.doc)} as a document, which is not a DocID`, { cause: err })
          }
          hashes.set(entry.doc, hash)
        }
        if (hash !== hex(parsed.document)) throw new CodecError(`The peer named ${entry.doc} for a key of another document`)
        const commits = byDoc.get(entry.doc) ?? []
        byDoc.set(entry.doc, commits)
        commits.push({ key: entry.key, commit: parsed.commit, blocks: entry.blocks.map((b) => ({ cid: CID.asCID(b.cid) ?? b.cid, bytes: b.bytes })) })
      }
      for (const [docId, commits] of byDoc) {
        if (options.admit !== undefined && !await options.admit(docId, commits.flatMap((c) => c.blocks))) {
          skipped += commits.length
          continue
        }
        applying.add(docId, commits)
      }
      progress()
    }
    await channel.send(encodeSyncMessage({ type: 'done' }))
  } finally {
    // Whatever happened to the stream, what was received is applied (or refused) before the fetch settles.
    await applying.drained()
  }
  applying.throwIfFailed()
  return { received: applying.received, applied: applying.applied, documents: applying.documents, refused: applying.refused, refusedKeys: applying.refusedKeys, appliedKeys: applying.appliedKeys, failed: applying.failed, skipped }
}

/**
 * The commits received and not yet applied, by document: each document's commits are applied in the order they came
 * (one apply after another), documents {@link APPLY_CONCURRENCY} at once, and the bytes waiting are counted.
 */
class ApplyQueue {
  readonly #source: SyncSource
  readonly #options: FetchOptions
  readonly #maxPending: number
  /** The last apply queued for each document, which the next one waits for. */
  readonly #tails = new Map<string, Promise<void>>()
  readonly #refusedDocs = new Set<string>()
  readonly #seenDocs = new Set<string>()
  readonly #waiting: Array<() => void> = []
  #running = 0
  #pendingBytes = 0
  #roomWaiter: (() => void) | undefined
  #failure: Error | undefined
  received = 0
  applied = 0
  refused = 0
  failed = 0
  readonly refusedKeys: Uint8Array[] = []
  readonly appliedKeys: Uint8Array[] = []
  onApplied: (() => void) | undefined

  constructor (source: SyncSource, options: FetchOptions) {
    this.#source = source
    this.#options = options
    this.#maxPending = options.maxPendingBytes ?? MAX_PENDING_SYNC_BYTES
  }

  get documents (): number { return this.#seenDocs.size }

  add (docId: string, commits: ReceivedCommit[]): void {
    commits.sort((a, b) => compareKeys(a.key, b.key))
    const bytes = commits.reduce((n, c) => n + c.blocks.reduce((m, b) => m + b.bytes.byteLength, 0), 0)
    this.received += commits.length
    this.#seenDocs.add(docId)
    this.#pendingBytes += bytes
    const previous = this.#tails.get(docId) ?? Promise.resolve()
    const tail = previous.then(async () => { await this.#apply(docId, commits) }).finally(() => {
      this.#pendingBytes -= bytes
      if (this.#tails.get(docId) === tail) this.#tails.delete(docId)
      if (this.#pendingBytes < this.#maxPending) {
        const wake = this.#roomWaiter
        this.#roomWaiter = undefined
        wake?.()
      }
    })
    this.#tails.set(docId, tail)
  }

  /** Resolves once the bytes waiting are under the cap (at once, mostly); rejects once an apply failed for good. */
  async room (): Promise<void> {
    while (this.#pendingBytes >= this.#maxPending) await new Promise<void>((resolve) => { this.#roomWaiter = resolve })
    this.throwIfFailed()
  }

  async drained (): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()])
  }

  throwIfFailed (): void {
    if (this.#failure !== undefined) throw this.#failure
  }

  async #apply (docId: string, commits: ReceivedCommit[]): Promise<void> {
    if (this.#refusedDocs.has(docId) || this.#failure !== undefined) {
      if (this.#refusedDocs.has(docId)) this.refusedKeys.push(...commits.map((c) => c.key))
      return
    }
    await this.#slot()
    let start = 0
    try {
      for (; start < commits.length; start += APPLY_CHUNK) {
        const chunk = commits.slice(start, start + APPLY_CHUNK)
        await this.#source.apply(docId, chunk[chunk.length - 1]!.commit, chunk.flatMap((c) => c.blocks), this.#options)
        this.applied += chunk.length
        for (const c of chunk) this.appliedKeys.push(c.key)
      }
    } catch (err) {
      // An abort ends the whole fetch. A commit the pipeline refuses (forged, or another document's) stops this
      // document there: what came before stays, and nothing more of it is applied.
      const name = (err as Error).name
      this.#refusedDocs.add(docId)
      if (name === 'AbortError') this.#failure ??= err as Error
      else if (NOT_THE_PEERS.has(name)) this.failed++
      else {
        this.refused++
        this.refusedKeys.push(...commits.slice(start).map((c) => c.key))
      }
    } finally {
      this.#release()
      this.onApplied?.()
    }
  }

  async #slot (): Promise<void> {
    if (this.#running < APPLY_CONCURRENCY) {
      this.#running++
      return
    }
    await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
  }

  #release (): void {
    const next = this.#waiting.shift()
    if (next !== undefined) next()
    else this.#running--
  }
}

/** How many refused keys a node remembers, and for how long, in ms. */
export const REFUSED_KEYS_REMEMBERED = 100_000
export const REFUSED_KEYS_FORGOTTEN_MS = 10 * 60_000

/** A bounded set of keys, each forgotten `ttlMs` after it was added, the oldest first when full. */
export class RecentKeys {
  readonly #added = new Map<string, number>()
  readonly #max: number
  readonly #ttlMs: number
  readonly #now: () => number

  constructor (max: number, ttlMs: number, now: () => number = Date.now) {
    this.#max = max
    this.#ttlMs = ttlMs
    this.#now = now
  }

  add (key: Uint8Array): void {
    const id = hex(key)
    this.#added.delete(id)
    this.#added.set(id, this.#now())
    if (this.#added.size > this.#max) this.#added.delete(this.#added.keys().next().value!)
  }

  has (key: Uint8Array): boolean {
    const id = hex(key)
    const at = this.#added.get(id)
    if (at === undefined) return false
    if (this.#now() - at < this.#ttlMs) return true
    this.#added.delete(id)
    return false
  }
}
