/**
 * The node's side of a peer-to-peer network: tips heard from peers and documents discovered by DocID are fetched block
 * by block from the network, checked against their CIDs, and applied through the same pipeline as local writes, with
 * the peer semantics of imports (the conflict rule decides; a losing branch is kept off the log, not refused).
 */
import { DAG_JOSE, decodeJWS, verifyBlock } from '@kiln/codec'
import { isCommitID, parseDocOrCommitID, type DocID } from '@kiln/docid'
import {
  AbortError, InvalidCommitError, LimitExceededError, TimeoutError,
  type AbortOptions, type Block, type DoctypeRegistry, type Logger, type Network, type Storage, type TipAnnouncement
} from '@kiln/interface'
import { LRUCache } from 'lru-cache'
import { CID } from 'multiformats/cid'
import { readStoredCommit, schemaNamedBy, type IncomingCommit } from './commit-input.js'
import { DocLocks } from './doc-locks.js'
import type { Documents } from './documents.js'
import type { Pipeline, SubmitOptions } from './pipeline.js'

/** Most commits fetched for one announcement (or one tip of a discovery); a longer missing log is dropped. */
export const MAX_FETCHED_COMMITS = 1_000

/** Largest block accepted from a peer, in bytes: Ceramic's cap on a commit (256 KiB). */
export const MAX_PEER_BLOCK_BYTES = 256 * 1024

/** How long one block may take to arrive from the network, in milliseconds. */
export const BLOCK_FETCH_TIMEOUT_MS = 5_000

/** How long fetching and applying everything one announcement (or one discovered tip) lacks may take, in milliseconds. */
export const SYNC_DEADLINE_MS = 30_000

/** How long `load` waits for peers' answers about a document the node does not hold, by default, in milliseconds. */
export const DEFAULT_SYNC_TIMEOUT_MS = 3_000

/**
 * How many documents' announcements may be followed at once, across all peers: past it, an announcement of another
 * document is dropped (logged at debug as `busy`), so no number of peers can make the node hold unbounded fetches.
 */
export const MAX_SYNCS_IN_FLIGHT = 512

/** How many tips refused for invalid data are remembered, so announcing them again costs no fetch. */
const REFUSED_TIPS_REMEMBERED = 1_000

/** What the network sync needs from the node. */
export interface NetworkSyncComponents {
  network: Network
  storage: Pick<Storage, 'blocks' | 'getCommitPlace'>
  documents: Pick<Documents, 'findHead'>
  doctypes: DoctypeRegistry
  pipeline: Pick<Pipeline, 'apply' | 'applyRun' | 'createDecoded'>
  /** Whether someone watches the document: announcements of a watched document are followed even before it is held. */
  watched?: (docId: string) => boolean
  logger?: Logger
}

/**
 * Fetches and applies what peers have: on a tip announcement for a document the node holds, watches or is loading, and on a
 * load of a document the node does not hold. One sync per document at a time; one fetch per (document, tip) in flight.
 */
export class NetworkSync {
  readonly #c: NetworkSyncComponents
  /** Syncs of one document run one after another (writes still take the pipeline's own lock, per commit). */
  readonly #locks = new DocLocks()
  /** Syncs in flight, by `docId tip`: a second announcement of a tip being fetched joins the first. */
  readonly #inflight = new Map<string, Promise<void>>()
  /** Discoveries in flight, by DocID: announcements for these documents are followed too. */
  readonly #loading = new Map<string, Promise<void>>()
  readonly #refused = new LRUCache<string, true>({ max: REFUSED_TIPS_REMEMBERED })
  #stopping = new AbortController()
  #unsubscribe?: () => void
  /** Documents whose announcement is being followed now (marked as it arrives, before any of its work starts). */
  readonly #following = new Set<string>()
  /** For each of those, the latest announcement heard since, followed next. */
  readonly #next = new Map<string, TipAnnouncement>()

  constructor (components: NetworkSyncComponents) {
    this.#c = components
  }

  /** Starts following announcements. */
  start (): void {
    if (this.#unsubscribe !== undefined) return
    this.#stopping = new AbortController()
    this.#unsubscribe = this.#c.network.onTip((announcement) => { this.#heard(announcement) })
  }

  /** Stops following announcements, gives up the fetches in flight and waits for them to settle. */
  async stop (): Promise<void> {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    this.#stopping.abort(new AbortError('The node is stopping'))
    await this.#locks.drain()
  }

  /** The tip a peer asks about: the node's own, when it holds the document. */
  async tipOf (docId: string): Promise<CID | undefined> {
    try {
      return (await this.#c.documents.findHead(docId))?.head.tip
    } catch {
      return undefined
    }
  }

  /**
   * Asks peers for the tips of a document the node does not hold and applies the log of each, down to the genesis.
   * Resolves when done, whatever was found (the caller reads the document then); rejects only when `signal` fires.
   */
  async discover (id: DocID, options: AbortOptions & { timeoutMs: number }): Promise<void> {
    const key = id.toString()
    let pending = this.#loading.get(key)
    if (pending === undefined) {
      pending = this.#discover(id, options.timeoutMs).finally(() => { this.#loading.delete(key) })
      this.#loading.set(key, pending)
    }
    await untilAborted(pending, options.signal)
  }

  /**
   * Fetches what the node lacks of the log ending at `tip` and applies it, oldest commit first. Rejects with the
   * pipeline's named error of the first commit refused (nothing of it written), `LimitExceededError` over a cap,
   * `BlockNotFoundError`, `TimeoutError` or `AbortError` when the network did not deliver.
   */
  async sync (id: DocID, tip: CID, options: AbortOptions = {}): Promise<void> {
    const key = id.toString()
    const flight = `${key} ${tip.toString()}`
    let pending = this.#inflight.get(flight)
    if (pending === undefined) {
      pending = this.#locks.run(key, async () => { await this.#fetchAndApply(id, tip) }).finally(() => { this.#inflight.delete(flight) })
      this.#inflight.set(flight, pending)
    }
    await untilAborted(pending, options.signal)
  }

  /**
   * An announcement: followed for a document held, watched or being loaded, else ignored. Never throws. One
   * announcement per document is followed at a time; those that arrive meanwhile wait as one, the latest (its log
   * holds the earlier tips), so a busy document costs two slots however often it is announced.
   */
  #heard (announcement: TipAnnouncement): void {
    const key = announcement.docId
    if (this.#following.has(key)) {
      this.#next.set(key, announcement)
      return
    }
    if (this.#following.size >= MAX_SYNCS_IN_FLIGHT) {
      this.#c.logger?.debug({ docId: key, tip: String(announcement.tip), from: announcement.from, reason: 'busy' }, 'dropped a tip announcement from a peer')
      return
    }
    this.#following.add(key)
    this.#follow(announcement).then((followed) => {
      if (followed) this.#c.logger?.debug({ docId: key, tip: String(announcement.tip), from: announcement.from }, 'followed a tip announcement from a peer')
    }, (err: unknown) => {
      const { from } = announcement
      const tip = String(announcement.tip)
      const reason = (err as Error).name
      if (isInvalidData(err)) {
        this.#refused.set(`${key} ${tip}`, true)
        // A peer that announces forged or malformed commits is the network's to score down and, past a point, drop.
        if (from !== undefined) this.#c.network.penalize?.(from, reason)
      }
      this.#c.logger?.debug({ err, docId: key, tip, from, reason }, 'dropped a tip announcement from a peer')
    }).finally(() => {
      this.#following.delete(key)
      const next = this.#next.get(key)
      this.#next.delete(key)
      if (next !== undefined && !this.#stopping.signal.aborted) this.#heard(next)
    })
  }

  /** Resolves true when the announcement was followed (its log is applied, or it lost the conflict rule), false when ignored. */
  async #follow ({ docId, tip: rawTip }: TipAnnouncement): Promise<boolean> {
    if (this.#stopping.signal.aborted || this.#refused.has(`${docId} ${String(rawTip)}`)) return false
    const ref = parseDocOrCommitID(docId)
    const tip = CID.asCID(rawTip)
    if (isCommitID(ref) || tip === null) throw new InvalidCommitError(`An announcement names ${docId} and ${String(rawTip)}, not a DocID and a CID`)
    const key = ref.toString()
    if (!this.#loading.has(key) && this.#c.watched?.(key) !== true && await this.#c.documents.findHead(key) === undefined) return false
    await this.sync(ref, tip)
    return true
  }

  async #discover (id: DocID, timeoutMs: number): Promise<void> {
    const key = id.toString()
    let tips: CID[]
    try {
      tips = await this.#c.network.queryTips(key, { timeoutMs, signal: this.#stopping.signal })
    } catch (err) {
      this.#c.logger?.debug({ err, docId: key }, 'asking peers for the tips of a document failed')
      return
    }
    const seen = new Set<string>()
    for (const tip of tips) {
      if (seen.has(tip.toString())) continue
      seen.add(tip.toString())
      await this.sync(id, tip).catch((err: unknown) => {
        this.#c.logger?.debug({ err, docId: key, tip: tip.toString(), reason: (err as Error).name }, 'dropped a tip a peer answered')
      })
    }
  }

  /**
   * Applies what a peer sent in-band (catch-up sync): the log of `id` up to `tip`, read from `blocks`, else from
   * storage, never from the network (`BlockNotFoundError`). Serialised with the document's other syncs; rejects as
   * {@link sync} does.
   */
  async applySupplied (id: DocID, tip: CID, blocks: readonly Block[], options: AbortOptions = {}): Promise<void> {
    const supplied = new Map(blocks.map((b) => [b.cid.toString(), b.bytes]))
    await untilAborted(this.#locks.run(id.toString(), async () => { await this.#fetchAndApply(id, tip, supplied) }), options.signal)
  }

  /** Walks `prev` back from `tip` to a commit the node has (or the genesis), fetching each commit, then applies them. */
  async #fetchAndApply (id: DocID, tip: CID, supplied?: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const key = id.toString()
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(SYNC_DEADLINE_MS)])
    const blockOf = async (cid: CID, options: AbortOptions | undefined, check: boolean): Promise<Uint8Array> => {
      const given = supplied?.get(cid.toString())
      // What a peer supplies in-band is all it sends: a block it left out is never chased over the network.
      if (given === undefined) return supplied === undefined ? await this.#fetchBlock(cid, options?.signal ?? signal) : await this.#c.storage.blocks.get(cid, { signal: options?.signal ?? signal })
      if (given.byteLength > MAX_PEER_BLOCK_BYTES) {
        throw new LimitExceededError(`Block ${cid.toString()} from a peer is ${given.byteLength} bytes, more than ${MAX_PEER_BLOCK_BYTES}`, {
          details: { cid: cid.toString(), bytes: given.byteLength, limit: MAX_PEER_BLOCK_BYTES }
        })
      }
      if (check) await verifyBlock(cid, given)
      return given
    }
    const fetchBlock = async (cid: CID, options?: AbortOptions): Promise<Uint8Array> => await blockOf(cid, options, true)
    // The walk reads commits with readStoredCommit, whose decoders check each block against its CID themselves.
    const commitBlock = async (cid: CID): Promise<Uint8Array> => await blockOf(cid, { signal }, false)
    const missing: IncomingCommit[] = []
    let cursor = tip
    // A commit a peer supplied is one the node lacks (it was wanted): only past those is storage asked.
    const known = async (cid: CID): Promise<boolean> => {
      if (supplied?.has(cid.toString()) === true) return false
      const held = await this.#c.documents.findHead(key, { signal })
      return held !== undefined && (cid.equals(held.head.tip) || await this.#c.storage.getCommitPlace(key, cid, { signal }) !== undefined)
    }
    while (!await known(cursor)) {
      if (missing.length >= MAX_FETCHED_COMMITS) {
        throw new LimitExceededError(`The log of ${key} up to ${tip.toString()} lacks more than ${MAX_FETCHED_COMMITS} commits here`, {
          details: { docId: key, tip: tip.toString(), limit: MAX_FETCHED_COMMITS }
        })
      }
      const commit = await readStoredCommit(cursor, { get: commitBlock })
      missing.push(commit)
      if (cursor.equals(id.cid) || commit.kind === 'genesis') {
        if (!cursor.equals(id.cid) || commit.kind !== 'genesis') {
          throw new InvalidCommitError(`The log of ${key} at ${tip.toString()} leads to ${cursor.toString()}, which is not its genesis`, { details: { docId: key, commit: cursor.toString() } })
        }
        break
      }
      const prev = CID.asCID(commit.record.prev)
      const docOf = CID.asCID(commit.record.id)
      if (prev === null || docOf === null || !docOf.equals(id.cid)) {
        throw new InvalidCommitError(`Commit ${cursor.toString()} is not a commit of ${key}`, { details: { docId: key, commit: cursor.toString() } })
      }
      cursor = prev
    }
    if (missing.length === 0) return
    // The schemas these commits name came in-band with them: applied first, so the doctype finds them here.
    if (supplied !== undefined) await this.#applySuppliedSchemas(missing, supplied)
    const handler = this.#c.doctypes.get(id.type)
    const options: SubmitOptions = { origin: 'remote', anchor: false, pin: false, publish: false, signal, fetchBlock }
    // A log that extends the tip (or a new document) is one write; a branch goes commit by commit, through the conflict rule.
    if (await this.#c.pipeline.applyRun(id, handler, missing.reverse(), options)) return
    for (const commit of missing) {
      if (commit.kind === 'genesis') await this.#c.pipeline.createDecoded(handler, commit, options)
      else await this.#c.pipeline.apply(id, handler, commit, [], options)
    }
  }

  /**
   * Applies, from the blocks a peer supplied, each schema version that `commits` name and the node lacks (a schema
   * document's log up to it): a commit whose schema the peer did not supply is left to load it as any commit does.
   */
  async #applySuppliedSchemas (commits: readonly IncomingCommit[], supplied: ReadonlyMap<string, Uint8Array>): Promise<void> {
    for (const commit of commits) {
      const ref = schemaNamedBy(commit.record)
      if (ref === undefined) continue
      let version
      try {
        version = parseDocOrCommitID(ref)
      } catch {
        continue
      }
      if (!isCommitID(version) || !supplied.has(version.commit.toString())) continue
      const key = version.baseID.toString()
      if (await this.#c.storage.getCommitPlace(key, version.commit) !== undefined) continue
      const target = version
      await this.#locks.run(key, async () => { await this.#fetchAndApply(target.baseID, target.commit, supplied) })
    }
  }

  /** A block from storage, or else from the network within {@link BLOCK_FETCH_TIMEOUT_MS}, checked against its CID. */
  async #fetchBlock (cid: CID, signal: AbortSignal): Promise<Uint8Array> {
    try {
      return await this.#c.storage.blocks.get(cid, { signal })
    } catch (err) {
      if ((err as Error).name !== 'BlockNotFoundError') throw err
    }
    const timeout = AbortSignal.timeout(BLOCK_FETCH_TIMEOUT_MS)
    let bytes: Uint8Array
    try {
      bytes = await this.#c.network.getBlock(cid, { signal: AbortSignal.any([signal, timeout]) })
    } catch (err) {
      if (timeout.aborted && !signal.aborted) {
        throw new TimeoutError(`Block ${cid.toString()} did not arrive from the network within ${BLOCK_FETCH_TIMEOUT_MS} ms`, { cause: err, details: { cid: cid.toString() } })
      }
      throw err
    }
    if (bytes.byteLength > MAX_PEER_BLOCK_BYTES) {
      throw new LimitExceededError(`Block ${cid.toString()} from the network is ${bytes.byteLength} bytes, more than ${MAX_PEER_BLOCK_BYTES}`, {
        details: { cid: cid.toString(), bytes: bytes.byteLength, limit: MAX_PEER_BLOCK_BYTES }
      })
    }
    await verifyBlock(cid, bytes)
    // A JWS envelope is read again by the commit decoder; decoding it here refuses garbage before its payload is asked for.
    if (cid.code === DAG_JOSE) await decodeJWS(bytes, cid)
    return bytes
  }
}

/** Errors that mean a peer sent data no node will ever accept (not a timeout or a missing block, which may pass). */
function isInvalidData (err: unknown): boolean {
  const name = (err as Error | undefined)?.name
  return name !== undefined && !['AbortError', 'TimeoutError', 'BlockNotFoundError', 'LimitExceededError', 'NodeStoppedError', 'StorageError'].includes(name)
}

/** `pending`, or an `AbortError` as soon as `signal` fires (the work goes on for whoever else waits on it). */
async function untilAborted<T> (pending: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return await pending
  if (signal.aborted) throw new AbortError('Operation aborted', { cause: signal.reason })
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new AbortError('Operation aborted', { cause: signal.reason })) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([pending, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort!)
  }
}
