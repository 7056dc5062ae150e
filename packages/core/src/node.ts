import { decodeRecord, verifyBlock } from '@kiln/codec'
import { DocID, isCommitID, isDocOrCommitID, parseDocOrCommitID } from '@kiln/docid'
import {
  AbortError, AnchorStatus, ConflictingCommitError, DocumentNotFoundError, UnsupportedChainError, InvalidCommitError, KilnError,
  type AbortOptions, type AnchorEvent, type AnchorRequestOptions, type KilnNodeApi, type DocSnapshot as ApiSnapshot, type LogItem, type WriteOptions, type DocRef, type AnchorProofVerifier, type AnchorService, type Commit, type DIDSigner,
  type DocState, type Logger, type Network, type SignatureVerifier, type Storage, type AnchorFactory,
  type DoctypeFactory, type NetworkFactory, type StorageFactory
} from '@kiln/interface'
import { createVerifier } from '@kiln/signing'
import { LRUCache } from 'lru-cache'
import type { CID } from 'multiformats/cid'
import { commitValue, readCommit, readStoredCommit, type IncomingCommit } from './commit-input.js'
import { pickWinningBranch } from './conflict.js'
import { exportDocumentCar, readDocumentCar } from './export.js'
import { withAnchorStatus } from './log-steps.js'
import { blockGetter, Pipeline } from './pipeline.js'
import { createDoctypeRegistry, type DoctypeRegistry } from './registry.js'
import { Watchers } from './watchers.js'

/** Everything a node is made of. Nothing is picked for the caller: each plugin is given explicitly. */
export interface NodeInit {
  /** Doctype plugins, e.g. `[tile()]`. Two with one code or name are a `DuplicateRegistrationError`. */
  doctypes: Array<DoctypeFactory<any>> // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The storage plugin, e.g. `levelStorage({ path })`. */
  storage: StorageFactory
  /** Anchor plugins. The first one with a service anchors this node's writes; all verify anchors of their chains. */
  anchors?: AnchorFactory[]
  /** A network plugin, to publish tips. */
  network?: NetworkFactory
  /** The node's own DID (for admin and, later, signing its own documents). */
  did?: DIDSigner
  /** Verifies commit signatures; `createVerifier()` from `@kiln/signing` (did:key) when not given. */
  verifier?: SignatureVerifier
  logger?: Logger
  /** How many document states the in-memory cache holds (default 1000). */
  cacheSize?: number
}

export type { WriteOptions, LogItem } from '@kiln/interface'

/** A document's id with its state. */
export type DocSnapshot<Content = unknown> = ApiSnapshot<DocID, Content>

/** A running Kiln node: the reader/writer interface an HTTP client offers too, and the node's own parts. */
export interface KilnNode extends KilnNodeApi<DocID> {
  readonly did?: DIDSigner
  readonly doctypes: DoctypeRegistry
  /** CAIP-2 ids of the chains this node anchors to. */
  readonly chains: readonly string[]
  /** A CAR file holding the document's whole log, anchors with their proofs and Merkle nodes, and schemas it names. */
  exportDocument(id: DocRef, options?: AbortOptions): Promise<Uint8Array>
  /**
   * Loads an export into this node: every commit goes through the apply pipeline (signatures, links, schemas,
   * anchor proofs), dependencies first. Resolves with the exported document's state; rejects at the first commit
   * that fails, naming it.
   */
  importDocument(car: Uint8Array, options?: WriteOptions): Promise<DocSnapshot>
  /** A block this node stores (a commit, a proof, a Merkle node); `BlockNotFoundError` when it has none. */
  readBlock(cid: CID, options?: AbortOptions): Promise<Uint8Array>
  /** Registers a listener for every anchor event (PENDING, PROCESSING, ANCHORED, FAILED, REPLACED). */
  onAnchorEvent(listener: (event: AnchorEvent) => void): void
  isPinned(docId: DocRef, options?: AbortOptions): Promise<boolean>
  /** Evicts every unpinned document from storage and cache (its blocks stay); returns how many. */
  gc(options?: AbortOptions): Promise<number>
  /** Stops the plugins in reverse order and waits for in-flight writes. */
  stop(): Promise<void>
}

/** Creates and starts a node from explicit plugins. */
export async function createNode (init: NodeInit): Promise<KilnNode> {
  const node = new Node(init)
  await node.start()
  return node
}

function docIdOf (id: DocRef): DocID {
  if (isDocOrCommitID(id)) return id.baseID
  return parseDocOrCommitID(String(id)).baseID
}

function throwIfAborted (options: AbortOptions): void {
  if (options.signal?.aborted === true) throw new AbortError('Operation aborted', { cause: options.signal.reason })
}

class Node implements KilnNode {
  readonly did?: DIDSigner
  readonly doctypes: DoctypeRegistry
  readonly chains: readonly string[]
  private readonly storage: Storage
  private readonly network?: Network
  private readonly anchorService?: AnchorService
  private readonly anchorServices: AnchorService[]
  private readonly pipeline: Pipeline
  private readonly cache: LRUCache<string, DocState>
  private readonly locks = new Map<string, Promise<unknown>>()
  private readonly watchers = new Watchers<DocSnapshot>()
  private readonly anchorListeners = new Set<(event: AnchorEvent) => void>()
  private readonly logger?: Logger
  private started = false
  private resuming?: Promise<void>

  constructor (init: NodeInit) {
    if (!Array.isArray(init.doctypes) || init.doctypes.length === 0) throw new KilnError('createNode needs at least one doctype plugin')
    if (typeof init.storage !== 'function') throw new KilnError('createNode needs a storage plugin')
    this.logger = init.logger
    this.did = init.did
    const components = { logger: init.logger }
    this.doctypes = createDoctypeRegistry(init.doctypes.map((factory) => factory(components)))
    this.storage = init.storage(components)
    const anchors = (init.anchors ?? []).map((factory) => factory(components))
    const verifiers = new Map<string, AnchorProofVerifier>()
    for (const plugin of anchors) verifiers.set(plugin.verifier.namespace, plugin.verifier)
    this.anchorServices = anchors.flatMap((a) => (a.service === undefined ? [] : [a.service]))
    this.anchorService = this.anchorServices[0]
    this.chains = this.anchorServices.map((s) => s.chainId)
    this.network = init.network?.({ logger: init.logger, blocks: this.storage.blocks })
    this.cache = new LRUCache({ max: init.cacheSize ?? 1000 })
    this.pipeline = new Pipeline({
      storage: this.storage,
      verifier: init.verifier ?? createVerifier(),
      anchorVerifiers: verifiers,
      context: (options) => ({
        signal: options.signal,
        loadDocument: async (commitId, opts) => (await this.load(commitId, opts ?? options)).state
      })
    })
  }

  async start (): Promise<void> {
    await this.storage.start?.()
    for (const service of this.anchorServices) {
      service.onEvent((event) => { void this.handleAnchorEvent(event) })
      await service.start?.()
    }
    await this.network?.start?.()
    this.started = true
    if (this.anchorService !== undefined) {
      this.resuming = this.resumePendingAnchors().catch((err: unknown) => { this.logger?.error({ err }, 'resuming anchor requests failed') })
    }
  }

  /**
   * Requests again every anchor a previous run left pending or in progress: the stored state is the durable record of
   * a request, so a crash or restart never drops one. A request the chain had already served before the crash
   * yields a second anchor commit for the same tip; the conflict rule keeps one (the earlier), so each document ends
   * anchored once.
   */
  private async resumePendingAnchors (): Promise<void> {
    for await (const key of this.storage.listDocuments()) {
      if (!this.started) return
      const state = await this.storage.getState(key).catch(() => undefined)
      if (state === undefined || (state.anchorStatus !== AnchorStatus.PENDING && state.anchorStatus !== AnchorStatus.PROCESSING)) continue
      await this.sendAnchorRequest(DocID.fromString(key), state, state.log[state.log.length - 1]!.cid)
    }
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.resuming
    await this.network?.stop?.()
    for (const service of [...this.anchorServices].reverse()) await service.stop?.()
    await Promise.allSettled([...this.locks.values()])
    this.watchers.closeAll()
    await this.storage.stop?.()
  }

  /** Runs `fn` after every earlier write to the same document: one writer per document at a time. */
  private async serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve()
    const run = before.then(fn, fn)
    const settled = run.catch(() => undefined)
    this.locks.set(key, settled)
    try {
      return await run
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key)
    }
  }

  private async currentState (key: string, options: AbortOptions): Promise<DocState> {
    const cached = this.cache.get(key)
    if (cached !== undefined) return cached
    const stored = await this.storage.getState(key, options)
    if (stored === undefined) throw new DocumentNotFoundError(`Document ${key} is not on this node`, { details: { docId: key } })
    this.cache.set(key, stored)
    return stored
  }

  async createDocument (type: number | string, genesis: Commit, options: WriteOptions = {}): Promise<DocSnapshot> {
    this.assertRunning()
    throwIfAborted(options)
    const handler = this.doctypes.get(type)
    const commit = await readCommit(genesis)
    if (commit.kind !== 'genesis') throw new InvalidCommitError(`Commit ${commit.cid.toString()} is not a genesis commit`)
    const id = new DocID(handler.code, commit.cid)
    const key = id.toString()
    return await this.serialize(key, async () => {
      const existing = this.cache.get(key) ?? await this.storage.getState(key, options)
      let state = existing
      if (state === undefined) {
        state = await this.pipeline.applyGenesis(handler, commit, options)
        const anchor = this.wantsAnchor(options, commit)
        if (anchor) state = withAnchorStatus(state, AnchorStatus.PENDING)
        await this.write(key, commit, state, [], options, options.pin !== false)
        this.afterWrite(id, state, commit.cid, anchor, options)
      } else if (options.pin !== false && !await this.storage.isPinned(key, options)) {
        await this.storage.pin(key, options)
      }
      return { id, state }
    })
  }

  async applyCommit (docId: DocRef, input: Commit, options: WriteOptions = {}): Promise<DocSnapshot> {
    this.assertRunning()
    throwIfAborted(options)
    const id = docIdOf(docId)
    const commit = await readCommit(input)
    const supporting = options.blocks ?? []
    // Blocks from outside are stored under their CIDs only if they hash to them.
    for (const block of supporting) await verifyBlock(block.cid, block.bytes)
    return await this.ingest(id, commit, commit.kind === 'anchor' ? supporting : [], options)
  }

  /** The apply pipeline for a commit extending a document: check, compute, resolve conflicts, write, tell. */
  /**
   * The pipeline for a commit extending a document. With `onlyOnTip`, the commit is applied only if `onlyOnTip` is
   * still the tip when its turn comes (checked under the document's lock), and dropped otherwise.
   */
  private async ingest (id: DocID, commit: IncomingCommit, supporting: IncomingCommit['blocks'], options: WriteOptions, onlyOnTip?: CID): Promise<DocSnapshot> {
    const handler = this.doctypes.get(id.type)
    const key = id.toString()
    return await this.serialize(key, async () => {
      const current = await this.currentState(key, options)
      if (current.log.some((e) => e.cid.equals(commit.cid))) return { id, state: current }
      if (onlyOnTip !== undefined && current.log[current.log.length - 1]!.cid.toString() !== onlyOnTip.toString()) {
        this.logger?.debug({ docId: key, tip: onlyOnTip.toString() }, 'dropping the anchor of a superseded tip')
        return { id, state: current }
      }
      if (commit.kind === 'genesis') throw new InvalidCommitError(`A genesis commit (${commit.cid.toString()}) cannot be applied to ${key}`)
      const prev = this.pipeline.checkLinks(id, current.log[0]!.cid, commit)
      const tip = current.log[current.log.length - 1]!.cid
      const base = prev.equals(tip)
        ? current
        : await this.pipeline.replay(handler, await this.pipeline.pathTo(key, prev, current, options).catch((err: unknown) => {
          if ((err as Error).name === 'DocumentNotFoundError') {
            throw new ConflictingCommitError(`Commit ${commit.cid.toString()} extends ${prev.toString()}, which is not a commit of ${key} known here`, {
              details: { docId: key, prev: prev.toString() }
            })
          }
          throw err
        }), current, options)
      const getBlock = blockGetter(this.storage.blocks, supporting)
      let candidate = await this.pipeline.applyNext(handler, base, commit, getBlock, options)
      const wins = base === current || pickWinningBranch(current.log, candidate.log) === 'b'
      const anchor = wins && this.wantsAnchor(options, commit)
      if (anchor) candidate = withAnchorStatus(candidate, AnchorStatus.PENDING)
      const next = wins ? candidate : current
      await this.write(key, commit, wins ? next : undefined, supporting, options, options.pin === true)
      if (wins) this.afterWrite(id, next, commit.cid, anchor, options)
      return { id, state: next }
    })
  }

  private wantsAnchor (options: WriteOptions, commit: IncomingCommit): boolean {
    // A chain the node does not anchor on is refused before anything is written.
    if (options.anchorChain !== undefined && options.anchor !== false) this.serviceFor(options.anchorChain)
    return this.anchorService !== undefined && options.anchor !== false && commit.kind !== 'anchor'
  }

  /** Writes a commit's blocks, its log index entry and (when it changed) the state, all in one batch. */
  private async write (key: string, commit: IncomingCommit, state: DocState | undefined, supporting: IncomingCommit['blocks'], options: AbortOptions, pin = false): Promise<void> {
    const batch = this.storage.batch()
    for (const block of [...commit.blocks, ...supporting]) batch.putBlock(block.cid, block.bytes)
    batch.indexCommit(key, commit.cid)
    if (state !== undefined) batch.putState(key, state)
    if (pin) batch.pin(key)
    await batch.commit(options)
    if (state !== undefined) this.cache.set(key, state)
  }

  /** After a durable write: tell watchers, ask for an anchor, announce the tip. Failures here never undo the write. */
  private afterWrite (id: DocID, state: DocState, tip: CID, anchor: boolean, options: WriteOptions): void {
    this.watchers.emit(id.toString(), { id, state })
    if (anchor) void this.sendAnchorRequest(id, state, tip, options.anchorChain)
    if (this.network !== undefined && options.publish !== false) {
      this.network.publishTip(id.toString(), tip).catch((err: unknown) => this.logger?.warn({ err, docId: id.toString() }, 'publishing a tip failed'))
    }
  }

  /** The anchor service of `chainId` (the node's first when absent); `UnsupportedChainError` for a chain it lacks. */
  private serviceFor (chainId?: string): AnchorService {
    const service = chainId === undefined ? this.anchorService : this.anchorServices.find((s) => s.chainId === chainId)
    if (service === undefined) {
      throw new UnsupportedChainError(chainId === undefined
        ? 'This node has no anchor service: it anchors to no chain'
        : `This node does not anchor on ${chainId}; it anchors on ${this.chains.join(', ') || 'no chain'}`, { details: { chainId } })
    }
    return service
  }

  private async sendAnchorRequest (id: DocID, state: DocState, tip: CID, chainId?: string): Promise<AnchorStatus> {
    try {
      const service = this.serviceFor(chainId)
      const event = await service.requestAnchor({ docId: id.toString(), genesis: state.log[0]!.cid, tip })
      return event.status
    } catch (err) {
      this.logger?.error({ err, docId: id.toString() }, 'anchor request failed')
      await this.setAnchorStatus(id, tip, AnchorStatus.FAILED)
      return AnchorStatus.FAILED
    }
  }

  async requestAnchor (docId: DocRef, options: AnchorRequestOptions = {}): Promise<AnchorStatus> {
    this.assertRunning()
    const id = docIdOf(docId)
    this.serviceFor(options.chainId)
    const state = await this.currentState(id.toString(), options)
    const tip = state.log[state.log.length - 1]!
    if (state.anchorStatus === AnchorStatus.ANCHORED) return AnchorStatus.ANCHORED
    await this.setAnchorStatus(id, tip.cid, AnchorStatus.PENDING)
    return await this.sendAnchorRequest(id, state, tip.cid, options.chainId)
  }

  /** Records the tip's anchor status in the state, if `tip` is still the tip. */
  private async setAnchorStatus (id: DocID, tip: CID, status: AnchorStatus): Promise<void> {
    const key = id.toString()
    await this.serialize(key, async () => {
      const current = await this.currentState(key, {})
      const currentTip = current.log[current.log.length - 1]!.cid
      if (!currentTip.equals(tip) || current.anchorStatus === status || current.anchorStatus === AnchorStatus.ANCHORED) return
      const next = withAnchorStatus(current, status)
      await this.storage.batch().putState(key, next).commit()
      this.cache.set(key, next)
      this.watchers.emit(key, { id, state: next })
    })
  }

  private async handleAnchorEvent (event: AnchorEvent): Promise<void> {
    for (const listener of this.anchorListeners) {
      try { listener(event) } catch (err) { this.logger?.warn({ err }, 'an anchor event listener threw') }
    }
    if (!this.started) return
    try {
      const id = DocID.fromString(event.docId)
      if (event.status === AnchorStatus.ANCHORED && event.anchor !== undefined) {
        // An anchor of a tip this node has since built on would fork the log and, anchored, win over the newer
        // commits. It was never published, so dropping it is invisible to other nodes; the newer tip has its own
        // request (sent when it was written). Checked under the document's lock, so a write in flight counts.
        const { commit: block, blocks } = event.anchor
        const record = await decodeRecord<Record<string, unknown>>(block.bytes, block.cid)
        const commit: IncomingCommit = { cid: block.cid, kind: 'anchor', record, blocks: [block] }
        await this.ingest(id, commit, blocks, { anchor: false }, event.tip)
      } else if (event.status !== AnchorStatus.REPLACED) {
        await this.setAnchorStatus(id, event.tip, event.status)
      }
    } catch (err) {
      this.logger?.error({ err, docId: event.docId }, 'applying an anchor event failed')
      await this.setAnchorStatus(DocID.fromString(event.docId), event.tip, AnchorStatus.FAILED).catch(() => undefined)
    }
  }

  onAnchorEvent (listener: (event: AnchorEvent) => void): void {
    this.anchorListeners.add(listener)
  }

  async load (input: DocRef, options: AbortOptions = {}): Promise<DocSnapshot> {
    this.assertRunning()
    throwIfAborted(options)
    const ref = isDocOrCommitID(input) ? input : parseDocOrCommitID(String(input))
    const id = ref.baseID
    const key = id.toString()
    const current = await this.currentState(key, options)
    if (!isCommitID(ref)) return { id, state: current }
    const target = ref.commit
    const tip = current.log[current.log.length - 1]!.cid
    if (target.equals(tip)) return { id, state: current }
    const handler = this.doctypes.get(id.type)
    const path = await this.pipeline.pathTo(key, target, current, options)
    const state = await this.pipeline.replay(handler, path, current, options)
    return { id, state }
  }

  async loadLog (input: DocRef, options: AbortOptions = {}): Promise<LogItem[]> {
    const { state } = await this.load(input, options)
    const items: LogItem[] = []
    for (const entry of state.log) {
      const commit = await readStoredCommit(entry.cid, this.storage.blocks)
      items.push({ cid: entry.cid, value: commitValue(commit) })
    }
    return items
  }

  async exportDocument (input: DocRef, options: AbortOptions = {}): Promise<Uint8Array> {
    this.assertRunning()
    return await exportDocumentCar({
      blocks: this.storage.blocks,
      load: async (id, opts) => await this.load(id, opts),
      verifyAnchor: async (commit, getBlock, opts) => await this.pipeline.verifyAnchor(commit, getBlock, opts)
    }, docIdOf(input).toString(), options)
  }

  async importDocument (car: Uint8Array, options: WriteOptions = {}): Promise<DocSnapshot> {
    this.assertRunning()
    const { commits } = await readDocumentCar(car)
    const writeOptions: WriteOptions = { anchor: false, publish: options.publish, pin: options.pin, signal: options.signal }
    let last: DocSnapshot | undefined
    for (const commit of commits) {
      try {
        last = commit.kind === 'genesis'
          ? await this.createDocument(commit.type, commit.value, writeOptions)
          : await this.applyCommit(commit.docId, commit.value, { ...writeOptions, blocks: commit.supporting })
      } catch (err) {
        if (err instanceof KilnError) {
          err.message = `${commit.kind} commit ${commit.cid.toString()} of ${commit.docId}: ${err.message}`
          Object.assign(err.details, { commit: commit.cid.toString(), docId: commit.docId })
        }
        throw err
      }
    }
    return last!
  }

  async readBlock (cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    this.assertRunning()
    return await this.storage.blocks.get(cid, options)
  }

  watch (docId: DocRef, options: AbortOptions = {}): AsyncIterableIterator<DocSnapshot> {
    return this.watchers.subscribe(docIdOf(docId).toString(), options.signal)
  }

  async pin (docId: DocRef, options: AbortOptions = {}): Promise<void> {
    const key = docIdOf(docId).toString()
    await this.currentState(key, options)
    await this.storage.pin(key, options)
  }

  async unpin (docId: DocRef, options: AbortOptions = {}): Promise<void> {
    await this.storage.unpin(docIdOf(docId).toString(), options)
  }

  async isPinned (docId: DocRef, options: AbortOptions = {}): Promise<boolean> {
    return await this.storage.isPinned(docIdOf(docId).toString(), options)
  }

  async listPins (options: AbortOptions = {}): Promise<DocID[]> {
    const ids: DocID[] = []
    for await (const key of this.storage.listPins(options)) ids.push(DocID.fromString(key))
    return ids
  }

  async gc (options: AbortOptions = {}): Promise<number> {
    const keys: string[] = []
    for await (const key of this.storage.listDocuments(options)) keys.push(key)
    let evicted = 0
    for (const key of keys) {
      await this.serialize(key, async () => {
        if (await this.storage.isPinned(key, options)) return
        await this.storage.deleteDocument(key, options)
        this.cache.delete(key)
        evicted++
      })
    }
    return evicted
  }

  private assertRunning (): void {
    if (!this.started) throw new KilnError('This node is stopped')
  }
}
