import { DAG_JOSE, decodeJWS, docStateToJSON, includesBytes, verifyBlock } from '@kiln/codec'
import { DocID, doctypes as knownDoctypes, isCommitID, isDocOrCommitID, parseDocOrCommitID, type CommitID } from '@kiln/docid'
import {
  AbortError, DocumentNotFoundError, InvalidCommitError, KilnError, NodeStoppedError,
  type AbortOptions, type AnchorEvent, type AnchorRequestOptions, type AnchorStatus, type KilnNodeApi,
  type DocSnapshot as ApiSnapshot, type LoadOptions, type LogItem, type WriteOptions, type DocRef, type AnchorProofVerifier, type Commit,
  type DIDSigner, type Logger, type Network, type SignatureVerifier, type Storage, type AnchorFactory, type DoctypeFactory,
  type NetworkFactory, type NodeInfo, type StorageFactory, type Block, type DocHead, type HeldCommit, type SyncSource, type Blockstore,
  type PageOptions, type QueryInput, type QueryResult, type StorageQueryPage, type WriteObserver, type WriteObserverFactory, type DagJWS,
  type Hook, type HookAdmin, type HookEvent, type HookFactory
} from '@kiln/interface'
import { parseQuery } from '@kiln/query'
import { createThreadpoolVerifier } from '@kiln/signing'
import type { CID } from 'multiformats/cid'
import { Anchoring } from './anchoring.js'
import { capabilitiesOf, commitValue, readCommit, readStoredCommit, schemaNamedBy } from './commit-input.js'
import { DocLocks } from './doc-locks.js'
import { Documents, stateOf, type DocRecord } from './documents.js'
import { chainBlocksOf, exportDocumentCar, readDocumentCar, type ExportedCommit } from './export.js'
import { memoryStorage } from './memory-storage.js'
import { GroupCommit, type Durability } from './group-commit.js'
import { RulesStage } from './rules-stage.js'
import { Pipeline, blockGetter, type CommitOrigin, type SubmitOptions, type WriteEvent } from './pipeline.js'
import { createDoctypeRegistry, type DoctypeRegistry } from './registry.js'
import { Watchers } from './watchers.js'
import { DEFAULT_SYNC_TIMEOUT_MS, NetworkSync } from './network-sync.js'

/** Everything a node is made of. Nothing is picked for the caller: each plugin is given explicitly. */
export interface NodeInit {
  /** Doctype plugins, e.g. `[tile()]`. Two with one code or name are a `DuplicateRegistrationError`. */
  doctypes: Array<DoctypeFactory<any>> // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The storage plugin, e.g. `levelStorage({ path })`. */
  storage: StorageFactory
  /** Anchor plugins. The first one with a service anchors this node's writes; all verify anchors of their chains. */
  anchors?: AnchorFactory[]
  /**
   * A network plugin: the node announces its new tips, applies the commits peers announce for documents it holds, and
   * asks peers for documents it does not hold when they are loaded.
   */
  network?: NetworkFactory
  /**
   * How long a load of a document the node does not hold waits for peers' answers, in milliseconds (default 3,000);
   * a load's own `syncTimeoutMs` overrides it.
   */
  syncTimeoutMs?: number
  /**
   * Write observers (e.g. a warehouse mirror): each is told of every durable write and anchor-status change in the
   * after-write stage, and must return at once; they read the rest from the node's storage in their own time.
   */
  observers?: WriteObserverFactory[]
  /**
   * Hook plugins (e.g. `webhooks()` of `@kiln/hooks`): each is called after every durable write and anchor-status
   * change with the new state, and must return at once. The first hook with an `admin` is the node's `hooks`.
   */
  hooks?: HookFactory[]
  /** The node's own DID (for admin and, later, signing its own documents). */
  did?: DIDSigner
  /**
   * Verifies commit signatures. By default `createThreadpoolVerifier()` of `@kiln/signing` (did:key): Ed25519 checks
   * run in OpenSSL on libuv's thread pool, so concurrent commits are verified on every core. `createVerifierPool()`
   * (worker threads) suits secp256k1-heavy loads, whose curve is pure JavaScript.
   */
  verifier?: SignatureVerifier
  logger?: Logger
  /** How many documents the in-memory cache holds (default 1000). */
  cacheSize?: number
  /**
   * How many log entries the cached documents may hold together (default 1,000,000, about 100 MB): a cache of long
   * logs is bounded by this as well as by `cacheSize`.
   */
  cacheLogEntries?: number
  /**
   * `strict` (the default): a write is acknowledged once its batch is synced to stable storage. `relaxed`: once it
   * is written to the operating system, unsynced, so a power loss may lose the last acknowledged writes.
   */
  durability?: Durability
  /**
   * The node's clock, in ms since the epoch (default `Date.now`): it judges whether the CACAO of a local commit (a
   * did:pkh session) has expired. Tests give a fake clock.
   */
  now?: () => number
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
   * that fails, naming it, and then has written nothing.
   */
  importDocument(car: Uint8Array, options?: WriteOptions): Promise<DocSnapshot>
  /**
   * Applies an update or anchor commit that came from elsewhere (a peer, a sync, a relay): the protocol's conflict rule
   * decides, and a commit that loses is stored off the log, with no error. Resolves with the document's state, which
   * holds the commit only if its branch won. Local writes use `applyCommit`, which refuses a commit off the tip.
   */
  receiveCommit(id: DocRef, commit: Commit, options?: WriteOptions): Promise<DocSnapshot>
  /** A block this node stores (a commit, a proof, a Merkle node); `BlockNotFoundError` when it has none. */
  readBlock(cid: CID, options?: AbortOptions): Promise<Uint8Array>
  /** Registers a listener for every anchor event (PENDING, PROCESSING, ANCHORED, FAILED, REPLACED), called once the node has acted on it; returns its remover. */
  onAnchorEvent(listener: (event: AnchorEvent) => void): () => void
  isPinned(docId: DocRef, options?: AbortOptions): Promise<boolean>
  /** Evicts every unpinned document from storage and cache (its blocks stay); returns how many. */
  gc(options?: AbortOptions): Promise<number>
  /** Refuses new calls, waits for the writes in flight, then stops the plugins in reverse order. */
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

/**
 * Applies the commits of an export in order, as a peer's (a branch that loses is kept off the log, not refused). A
 * commit signed under a CACAO is judged at the time of the anchor commit after it, when the export has one.
 */
async function replayImport (node: Node, commits: ExportedCommit[], writeOptions: WriteOptions): Promise<DocSnapshot> {
  let last: DocSnapshot | undefined
  for (const [i, commit] of commits.entries()) {
    try {
      const at = await anchorTimeInImport(node, commits, i, writeOptions)
      last = commit.kind === 'genesis'
        ? await node.createDocumentAt(commit.type, commit.value, writeOptions, at)
        : await node.receiveCommitAt(commit.docId, commit.value, { ...writeOptions, blocks: commit.supporting }, at)
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

/**
 * The time (ms) of the first anchor commit of the same document after `commits[index]`, when that commit is signed
 * under a CACAO; undefined otherwise, or when that anchor's proof does not verify (it is refused in its turn).
 */
async function anchorTimeInImport (node: Node, commits: readonly ExportedCommit[], index: number, options: AbortOptions): Promise<number | undefined> {
  const commit = commits[index]!
  const value = commit.value as { jws?: DagJWS }
  if (value.jws === undefined || capabilitiesOf(value.jws).length === 0) return undefined
  const anchor = commits.slice(index + 1).find((c) => c.docId === commit.docId && c.kind === 'anchor')
  if (anchor === undefined) return undefined
  try {
    return await node.anchorTimeOf(anchor.value, anchor.supporting, options)
  } catch {
    return undefined
  }
}

/** The node: lifecycle and the public API. Every commit goes through the pipeline (pipeline.ts). */
class Node implements KilnNode {
  readonly did?: DIDSigner
  readonly doctypes: DoctypeRegistry
  private readonly storage: Storage
  private readonly network?: Network
  private readonly sync?: NetworkSync
  private readonly syncTimeoutMs: number
  private readonly verifier: SignatureVerifier
  private readonly documents: Documents
  private readonly writer: GroupCommit
  private readonly locks = new DocLocks()
  private readonly pipeline: Pipeline
  private readonly anchoring: Anchoring
  private readonly watchers = new Watchers<DocSnapshot>()
  private readonly commitListeners = new Set<(commit: HeldCommit, joined: boolean) => void>()
  private readonly observers: WriteObserver[]
  private readonly hookPlugins: Hook[]
  readonly hooks?: HookAdmin
  private readonly logger?: Logger
  /** What a throwaway node needs to check an import before this node writes it: the doctypes and verifiers. */
  private readonly scratchInit: Pick<NodeInit, 'doctypes' | 'anchors' | 'now'>
  private started = false

  constructor (init: NodeInit) {
    if (!Array.isArray(init.doctypes) || init.doctypes.length === 0) throw new KilnError('createNode needs at least one doctype plugin')
    if (typeof init.storage !== 'function') throw new KilnError('createNode needs a storage plugin')
    const durability = init.durability ?? 'strict'
    if (durability !== 'strict' && durability !== 'relaxed') {
      throw new KilnError(`createNode's durability is 'strict' or 'relaxed', not ${JSON.stringify(durability)}`)
    }
    this.logger = init.logger
    this.did = init.did
    const components = { logger: init.logger }
    this.doctypes = createDoctypeRegistry(init.doctypes.map((factory) => factory(components)))
    this.storage = init.storage(components)
    const anchors = (init.anchors ?? []).map((factory) => factory(components))
    const verifiers = new Map<string, AnchorProofVerifier>()
    for (const plugin of anchors) verifiers.set(plugin.verifier.namespace, plugin.verifier)
    this.scratchInit = { doctypes: init.doctypes, anchors: [...verifiers.values()].map((verifier) => () => ({ verifier })), now: init.now }
    this.network = init.network?.({
      logger: init.logger,
      blocks: this.storage.blocks,
      tipOf: async (docId) => this.started ? await this.sync?.tipOf(docId) : undefined,
      sync: this.syncSource()
    })
    this.syncTimeoutMs = init.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS
    this.verifier = init.verifier ?? createThreadpoolVerifier()
    this.observers = (init.observers ?? []).map((factory) => factory({
      logger: init.logger,
      storage: this.storage,
      blocksOf: async (cid, options = {}) => await this.blocksOfCommit(cid, options, false)
    }))
    this.hookPlugins = (init.hooks ?? []).map((factory) => factory({
      logger: init.logger,
      storage: this.storage,
      current: async (docId, options = {}) => {
        const id = DocID.fromString(docId)
        const record = await this.documents.find(id.toString(), options)
        return record === undefined ? undefined : this.hookEvent(id, record)
      }
    }))
    this.hooks = this.hookPlugins.find((hook) => hook.admin !== undefined)?.admin
    this.documents = new Documents(this.storage, init.cacheSize ?? 1000, init.cacheLogEntries ?? 1_000_000)
    this.writer = new GroupCommit(this.storage, durability)
    const exclusive = async <T>(key: string, fn: () => Promise<T>): Promise<T> => await this.locks.run(key, fn)
    this.pipeline = new Pipeline({
      storage: this.storage,
      documents: this.documents,
      writer: this.writer,
      verifier: this.verifier,
      anchorVerifiers: verifiers,
      exclusive,
      now: init.now ?? Date.now,
      context: (options) => ({
        signal: options.signal,
        loadDocument: async (commitId, opts) => (await this.load(commitId, opts ?? options)).state
      }),
      rules: new RulesStage({
        loadAt: async (commitId, options) => await this.load(commitId, options),
        anchoredAt: async (docId, commit, options) => await this.anchoredAt(docId, commit, options)
      }),
      afterWrite: (event) => { this.afterWrite(event) }
    })
    if (this.network !== undefined) {
      this.sync = new NetworkSync({
        network: this.network, storage: this.storage, documents: this.documents, doctypes: this.doctypes, pipeline: this.pipeline, logger: init.logger,
        watched: (key) => this.watchers.has(key)
      })
    }
    this.anchoring = new Anchoring({
      services: anchors.flatMap((a) => (a.service === undefined ? [] : [a.service])),
      storage: this.storage,
      documents: this.documents,
      writer: this.writer,
      exclusive,
      applyAnchor: async (id, commit, blocks, tip) => await this.pipeline.apply(id, this.doctypes.get(id.type), commit, blocks, {
        origin: 'anchor', onTip: tip, anchor: false, pin: false, publish: true
      }),
      changed: (id, record) => {
        this.watchers.emit(id.toString(), { id, state: stateOf(record) })
        this.observe(id, record)
      },
      running: () => this.started,
      logger: init.logger
    })
  }

  get chains (): readonly string[] {
    return this.anchoring.chains
  }

  /** The node's DID and, on a network whose plugin tells it, its PeerId, addresses, topic and peers. */
  nodeInfo (): NodeInfo {
    const network = this.started ? this.network?.info?.() : undefined
    return {
      ...(this.did === undefined ? {} : { did: this.did.did }),
      ...(network === undefined ? {} : { network })
    }
  }

  async start (): Promise<void> {
    await this.storage.start?.()
    this.started = true
    await this.anchoring.start()
    for (const observer of this.observers) await observer.start?.()
    for (const hook of this.hookPlugins) await hook.start?.()
    this.sync?.start()
    await this.network?.start?.()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.network?.stop?.()
    await this.sync?.stop()
    await this.anchoring.stop()
    await this.locks.drain()
    await this.writer.drain()
    for (const hook of [...this.hookPlugins].reverse()) await hook.stop?.()
    for (const observer of [...this.observers].reverse()) await observer.stop?.()
    this.watchers.closeAll()
    await this.storage.stop?.()
  }

  /** What a network's catch-up sync needs of this node (`NetworkComponents.sync`). */
  private syncSource (): SyncSource {
    return {
      commits: (options) => this.heldCommits(options),
      onCommit: (listener) => {
        this.commitListeners.add(listener)
        return () => { this.commitListeners.delete(listener) }
      },
      blocksOf: async (_docId, cid, options = {}) => await this.blocksOfCommit(cid, options),
      blocksOfMany: async (commits, options = {}) => await this.blocksOfMany(commits, options),
      apply: async (docId, tip, blocks, options = {}) => {
        this.assertRunning()
        if (this.sync === undefined) throw new KilnError('This node is on no network')
        await this.sync.applySupplied(DocID.fromString(docId), tip, blocks, options)
      },
      pinned: async (options = {}) => {
        const keys: string[] = []
        for await (const key of this.storage.listPins(options)) keys.push(key)
        return keys
      }
    }
  }

  /**
   * The blocks a peer needs to verify a held commit offline (`SyncSource.blocksOf`): the commit's, an anchor commit's
   * proof, Merkle nodes and chain data, and, for a commit whose header names a schema, the blocks of the schema
   * document's log up to that version.
   */
  private async blocksOfCommit (cid: CID, options: AbortOptions, withSchema = true): Promise<Block[]> {
    const blocks = new Map<string, Block>()
    const commit = await readStoredCommit(cid, this.storage.blocks)
    for (const block of commit.blocks) blocks.set(block.cid.toString(), block)
    const schema = withSchema ? schemaNamedBy(commit.record) : undefined
    if (schema !== undefined) for (const block of await this.schemaBlocks(schema, options)) blocks.set(block.cid.toString(), block)
    if (commit.kind === 'anchor') {
      await this.pipeline.verifyAnchor(commit, async (at, opts) => {
        const bytes = await this.storage.blocks.get(at, opts)
        blocks.set(at.toString(), { cid: at, bytes })
        return bytes
      }, options)
      for (const block of await chainBlocksOf(commit, this.storage.blocks, options)) blocks.set(block.cid.toString(), block)
    }
    return [...blocks.values()]
  }

  /** The blocks of a schema document's log up to the version `ref` names, when the node holds it; none otherwise. */
  private async schemaBlocks (ref: string, options: AbortOptions): Promise<Block[]> {
    let version: CommitID
    try {
      const parsed = parseDocOrCommitID(ref)
      if (!isCommitID(parsed)) return []
      version = parsed
    } catch {
      return []
    }
    const docId = version.baseID.toString()
    const place = await this.storage.getCommitPlace(docId, version.commit, options)
    if (place?.seq === undefined || place.seq >= MAX_SCHEMA_LOG_SENT) return []
    const blocks: Block[] = []
    for (const entry of await this.storage.readLog(docId, { to: place.seq + 1 }, options)) blocks.push(...await this.blocksOfCommit(entry.cid, options, false))
    return blocks
  }

  /**
   * The blocks of many held commits with batched reads: the signed commits' envelopes in one read, their payloads in
   * another (stored blocks were checked when written, so they are not hashed again); the others one by one.
   */
  private async blocksOfMany (commits: ReadonlyArray<{ docId: string, commit: CID }>, options: AbortOptions): Promise<Array<Block[] | undefined>> {
    const read = async (cids: readonly CID[]): Promise<Array<Uint8Array | undefined>> => this.storage.blocks.getMany === undefined
      ? await Promise.all(cids.map(async (cid) => await this.storage.blocks.get(cid, options).catch(() => undefined)))
      : await this.storage.blocks.getMany(cids, options)
    const out: Array<Block[] | undefined> = commits.map(() => undefined)
    const signed = commits.flatMap(({ commit }, i) => commit.code === DAG_JOSE ? [{ i, commit }] : [])
    const envelopes = await read(signed.map((s) => s.commit))
    const links: Array<{ i: number, envelope: Block, link: CID }> = []
    /** Commits read one by one: unsigned ones, signed ones under a CACAO, and those whose payload may name a schema. */
    const oneByOne = new Set(commits.flatMap(({ commit }, i) => commit.code === DAG_JOSE ? [] : [i]))
    for (const [n, { i, commit }] of signed.entries()) {
      const bytes = envelopes[n]
      if (bytes === undefined) continue
      const jws = await decodeJWS(bytes)
      if (capabilitiesOf(jws).length > 0) oneByOne.add(i)
      else links.push({ i, envelope: { cid: commit, bytes }, link: jws.link })
    }
    const payloads = await read(links.map((l) => l.link))
    for (const [n, { i, envelope, link }] of links.entries()) {
      const bytes = payloads[n]
      if (bytes === undefined) continue
      if (includesBytes(bytes, SCHEMA_FIELD)) oneByOne.add(i)
      else out[i] = [envelope, { cid: link, bytes }]
    }
    for (const i of oneByOne) {
      const { commit } = commits[i]!
      out[i] = await this.blocksOfCommit(commit, options).catch((err: unknown) => {
        if ((err as Error).name === 'BlockNotFoundError') return undefined
        throw err
      })
    }
    return out
  }

  /** Every commit in the logs of the documents this node holds, as catch-up sync keys them. */
  private async * heldCommits (options: AbortOptions = {}): AsyncGenerator<HeldCommit> {
    for await (const docId of this.storage.listDocuments(options)) {
      const head = await this.storage.getHead(docId, options)
      if (head === undefined) continue
      const log = await this.storage.readLog(docId, {}, options)
      // The head's metadata is the latest; interests match the genesis header, read once per document.
      const genesis = await genesisFactsOf(head.genesis, this.storage.blocks)
      for (const [height, entry] of log.entries()) yield heldCommitOf(docId, head, height, entry.cid, head.genesis, genesis)
    }
  }

  /** Stage 8 of the pipeline, after a durable write: watchers, the anchor request, the announcement. Never throws. */
  private afterWrite ({ id, record, options, switched }: WriteEvent): void {
    const key = id.toString()
    if (this.commitListeners.size > 0) {
      // A write adds its commit to the log; a branch switch replaces the entries past the fork with the winner's.
      const from = switched === undefined ? record.log.length - 1 : switched.fork + 1
      const changes: Array<[HeldCommit, boolean]> = []
      for (let seq = from; seq < (switched?.log.length ?? 0); seq++) changes.push([heldCommitOf(key, record.head, seq, switched!.log[seq]!.cid, id.cid), false])
      // Only a write of the genesis has the genesis header as its head's metadata (each commit of a run is told apart).
      for (let seq = from; seq < record.log.length; seq++) changes.push([heldCommitOf(key, record.head, seq, record.log[seq]!.cid, id.cid, seq === 0 ? factsOf(record.head.metadata) : undefined), true])
      for (const listener of this.commitListeners) {
        try {
          for (const [commit, joined] of changes) listener(commit, joined)
        } catch (err) {
          this.logger?.warn({ err, docId: key }, 'a commit listener threw')
        }
      }
    }
    if (this.watchers.has(key)) this.watchers.emit(key, { id, state: stateOf(record) })
    this.observe(id, record)
    if (options.anchor) void this.anchoring.request(id, record.head.tip, options.anchorChain)
    if (this.network !== undefined && options.publish) {
      this.network.publishTip(key, record.head.tip).catch((err: unknown) => this.logger?.warn({ err, docId: key }, 'publishing a tip failed'))
    }
  }

  /** Tells the write observers and hooks of a durable write; one that throws is logged, never the writer's problem. */
  private observe (id: DocID, record: DocRecord): void {
    const docId = id.toString()
    const head: DocHead = record.head
    for (const observer of this.observers) {
      try {
        observer.written({ docId, head })
      } catch (err) {
        this.logger?.warn({ err, docId }, 'a write observer threw')
      }
    }
    if (this.hookPlugins.length === 0) return
    const event = this.hookEvent(id, record)
    for (const hook of this.hookPlugins) {
      try {
        hook.written(event)
      } catch (err) {
        this.logger?.warn({ err, docId, hook: hook.name }, 'a hook threw')
      }
    }
  }

  /** A hook's view of a written record: the state now, its JSON form when asked (the record never changes). */
  private hookEvent (id: DocID, record: DocRecord): HookEvent {
    const state = stateOf(record)
    const registry = this.doctypes
    return {
      docId: id.toString(),
      tip: record.head.tip.toString(),
      commitId: id.atCommit(record.head.tip).toString(),
      head: record.head,
      state,
      json: () => {
        const name = registry.has(state.type) ? registry.get(state.type).name : knownDoctypes.find(state.type)?.name
        return docStateToJSON(state, name) as unknown as Record<string, unknown>
      }
    }
  }

  /** The pipeline's options for a write of the API. */
  private submitOptions (options: WriteOptions, origin: CommitOrigin, kind: string, pinByDefault: boolean): SubmitOptions {
    // A chain the node does not anchor on is refused before anything is written.
    if (options.anchorChain !== undefined && options.anchor !== false) this.anchoring.serviceFor(options.anchorChain)
    return {
      origin,
      anchor: this.anchoring.enabled && options.anchor !== false && kind !== 'anchor',
      anchorChain: options.anchorChain,
      pin: options.pin ?? pinByDefault,
      publish: options.publish !== false,
      signal: options.signal
    }
  }

  async createDocument (type: number | string, genesis: Commit, options: WriteOptions = {}): Promise<DocSnapshot> {
    this.assertRunning()
    throwIfAborted(options)
    const { id, record } = await this.pipeline.create(this.doctypes.get(type), genesis, this.submitOptions(options, 'local', 'genesis', true))
    return { id, state: stateOf(record) }
  }

  /** {@link createDocument} for an import: a CACAO of the genesis is judged at `at` (its anchor time) when given. */
  async createDocumentAt (type: number | string, genesis: Commit, options: WriteOptions, at: number | undefined): Promise<DocSnapshot> {
    this.assertRunning()
    throwIfAborted(options)
    const { id, record } = await this.pipeline.create(this.doctypes.get(type), genesis, { ...this.submitOptions(options, 'local', 'genesis', true), at })
    return { id, state: stateOf(record) }
  }

  async applyCommit (docId: DocRef, input: Commit, options: WriteOptions = {}): Promise<DocSnapshot> {
    return await this.submit(docId, input, options, 'local')
  }

  async receiveCommit (docId: DocRef, input: Commit, options: WriteOptions = {}): Promise<DocSnapshot> {
    return await this.submit(docId, input, options, 'remote')
  }

  /** {@link receiveCommit} for an import: a CACAO of the commit is judged at `at` (its anchor time) when given. */
  async receiveCommitAt (docId: DocRef, input: Commit, options: WriteOptions, at: number | undefined): Promise<DocSnapshot> {
    return await this.submit(docId, input, options, 'remote', at)
  }

  /** The time (ms) an anchor commit's proof gives, verified with `supporting` blocks and storage. */
  async anchorTimeOf (input: Commit, supporting: readonly Block[], options: AbortOptions): Promise<number> {
    const commit = await readCommit(input)
    return (await this.pipeline.verifyAnchor(commit, blockGetter(this.storage.blocks, supporting), options)).timestamp * 1000
  }

  private async submit (docId: DocRef, input: Commit, options: WriteOptions, origin: CommitOrigin, at?: number): Promise<DocSnapshot> {
    this.assertRunning()
    throwIfAborted(options)
    const id = docIdOf(docId)
    const handler = this.doctypes.get(id.type)
    const commit = await readCommit(input)
    if (commit.kind === 'genesis') throw new InvalidCommitError(`A genesis commit (${commit.cid.toString()}) cannot be applied to ${id.toString()}`)
    const supporting = options.blocks ?? []
    // Blocks from outside are stored under their CIDs only if they hash to them.
    for (const block of supporting) await verifyBlock(block.cid, block.bytes)
    const record = await this.pipeline.apply(id, handler, commit, commit.kind === 'anchor' ? supporting : [], { ...this.submitOptions(options, origin, commit.kind, false), at })
    return { id, state: stateOf(record) }
  }

  async requestAnchor (docId: DocRef, options: AnchorRequestOptions = {}): Promise<AnchorStatus> {
    this.assertRunning()
    return await this.anchoring.requestAnchor(docIdOf(docId), options.chainId, options)
  }

  onAnchorEvent (listener: (event: AnchorEvent) => void): () => void {
    return this.anchoring.onEvent(listener)
  }

  async load (input: DocRef, options: LoadOptions = {}): Promise<DocSnapshot> {
    this.assertRunning()
    throwIfAborted(options)
    const ref = isDocOrCommitID(input) ? input : parseDocOrCommitID(String(input))
    const id = ref.baseID
    const key = id.toString()
    if (!('commit' in ref)) {
      let record = await this.documents.find(key, options)
      if (record === undefined) {
        await this.discover(id, options)
        record = await this.documents.get(key, options)
      }
      return { id, state: stateOf(record) }
    }
    // At a commit: the log up to that commit is all that is read, unless the document is cached.
    let current = await this.documents.findHead(key, options)
    if (current === undefined) {
      await this.discover(id, options)
      current = await this.documents.findHead(key, options)
    }
    if (current === undefined) throw new DocumentNotFoundError(`Document ${key} is not on this node`, { details: { docId: key } })
    if (ref.commit.equals(current.head.tip)) return { id, state: stateOf(await this.documents.get(key, options)) }
    const handler = this.doctypes.get(id.type)
    try {
      const { record } = await this.pipeline.stateAt(key, handler, current, ref.commit, options)
      return { id, state: stateOf(record) }
    } catch (err) {
      if ((err as Error).name !== 'DocumentNotFoundError' || this.sync === undefined) throw err
    }
    // A commit of a held document the node has not seen: peers may have it (a branch that lost is kept off the log).
    await this.sync.sync(id, ref.commit, options).catch((err: unknown) => {
      this.logger?.debug({ err, docId: key, commit: ref.commit.toString() }, 'fetching a commit from peers failed')
    })
    const { record } = await this.pipeline.stateAt(key, handler, await this.documents.get(key, options), ref.commit, options)
    return { id, state: stateOf(record) }
  }

  /** The chain time of the anchor covering `commit` on the log of `docId`, if one does (for the rules stage). */
  private async anchoredAt (docId: string, commit: CID, options: AbortOptions): Promise<number | undefined> {
    const place = await this.storage.getCommitPlace(docId, commit, options)
    if (place?.seq === undefined) return undefined
    const record = await this.documents.find(docId, options)
    const entry = record?.log[place.seq]
    return entry?.cid.equals(commit) === true ? entry.timestamp : undefined
  }

  /** Asks peers for a document this node does not hold and applies what they have, within the load's sync timeout. */
  private async discover (id: DocID, options: LoadOptions): Promise<void> {
    if (this.sync === undefined) return
    const timeoutMs = options.syncTimeoutMs ?? this.syncTimeoutMs
    await this.sync.discover(id, { timeoutMs, signal: options.signal })
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
    // A dry run first, on a throwaway node in memory with this node's doctypes and verifiers: an import refused at any
    // commit is refused before this node writes any of it. It costs a second pass over the commits.
    const scratch = new Node({ ...this.scratchInit, storage: memoryStorage(), verifier: this.verifier, durability: 'relaxed', cacheSize: 16 })
    await scratch.start()
    try {
      await replayImport(scratch, commits, { anchor: false, publish: false, pin: false, signal: options.signal })
    } finally {
      await scratch.stop()
    }
    return await replayImport(this, commits, { anchor: false, publish: options.publish, pin: options.pin, signal: options.signal })
  }

  async readBlock (cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    this.assertRunning()
    return await this.storage.blocks.get(cid, options)
  }

  watch (docId: DocRef, options: AbortOptions = {}): AsyncIterableIterator<DocSnapshot> {
    return this.watchers.subscribe(docIdOf(docId).toString(), options.signal)
  }

  async pin (docId: DocRef, options: AbortOptions = {}): Promise<void> {
    this.assertRunning()
    const key = docIdOf(docId).toString()
    // Under the document's lock, so a concurrent gc either evicts before (and the pin fails: not found) or sees it.
    await this.locks.run(key, async () => {
      await this.documents.get(key, options)
      await this.storage.pin(key, options)
    })
  }

  async unpin (docId: DocRef, options: AbortOptions = {}): Promise<void> {
    this.assertRunning()
    const key = docIdOf(docId).toString()
    await this.locks.run(key, async () => { await this.storage.unpin(key, options) })
  }

  async query (input: QueryInput, options: AbortOptions = {}): Promise<QueryResult<DocSnapshot>> {
    this.assertRunning()
    throwIfAborted(options)
    const query = parseQuery(input, { doctypeCode: (ref) => this.doctypes.get(ref).code })
    return await this.page(await this.storage.query(query, options), options)
  }

  async backlinks (target: DocRef, options: PageOptions = {}): Promise<QueryResult<DocSnapshot>> {
    const input: QueryInput = { filter: { linksTo: docIdOf(target).toString() } }
    if (options.first !== undefined) input.first = options.first
    if (options.after !== undefined) input.after = options.after
    return await this.query(input, options)
  }

  /** The states of a page of query results; a document deleted since the index was read is left out. */
  private async page (page: StorageQueryPage, options: AbortOptions): Promise<QueryResult<DocSnapshot>> {
    const records = await Promise.all(page.ids.map(async (key) => await this.documents.find(key, options)))
    const items: DocSnapshot[] = []
    for (const [i, record] of records.entries()) if (record !== undefined) items.push({ id: DocID.fromString(page.ids[i]!), state: stateOf(record) })
    const result: QueryResult<DocSnapshot> = { items, pageInfo: page.endCursor === undefined ? { hasNextPage: page.hasNextPage } : { hasNextPage: page.hasNextPage, endCursor: page.endCursor } }
    if (page.count !== undefined) result.count = page.count
    return result
  }

  async isPinned (docId: DocRef, options: AbortOptions = {}): Promise<boolean> {
    this.assertRunning()
    return await this.storage.isPinned(docIdOf(docId).toString(), options)
  }

  async listPins (options: AbortOptions = {}): Promise<DocID[]> {
    this.assertRunning()
    const ids: DocID[] = []
    for await (const key of this.storage.listPins(options)) ids.push(DocID.fromString(key))
    return ids
  }

  async gc (options: AbortOptions = {}): Promise<number> {
    this.assertRunning()
    const keys: string[] = []
    for await (const key of this.storage.listDocuments(options)) keys.push(key)
    let evicted = 0
    for (const key of keys) {
      await this.locks.run(key, async () => {
        if (await this.storage.isPinned(key, options)) return
        await this.storage.deleteDocument(key, options)
        this.documents.forget(key)
        evicted++
      })
    }
    return evicted
  }

  private assertRunning (): void {
    if (!this.started) throw new NodeStoppedError('This node is stopped')
  }
}

/** A commit of a held document's log, as catch-up sync keys it. */
function heldCommitOf (docId: string, head: DocHead, height: number, commit: CID, genesis: CID = DocID.fromString(docId).cid, facts?: GenesisFacts): HeldCommit {
  const family = head.metadata.family
  return { docId, family: typeof family === 'string' ? family : '', genesis, height, commit, ...facts }
}

/** What catch-up sync's interests read of a genesis header: its schema and first controller. */
type GenesisFacts = Pick<HeldCommit, 'schema' | 'controller'>

function factsOf (header: { schema?: unknown, controllers?: unknown }): GenesisFacts {
  const controller = Array.isArray(header.controllers) ? header.controllers[0] as unknown : undefined
  return {
    ...(typeof header.schema === 'string' ? { schema: header.schema } : {}),
    ...(typeof controller === 'string' ? { controller } : {})
  }
}

/** The facts of the genesis header stored at `genesis` (a held document's genesis is always in the blockstore). */
async function genesisFactsOf (genesis: CID, blocks: Pick<Blockstore, 'get'>): Promise<GenesisFacts> {
  const commit = await readStoredCommit(genesis, blocks)
  const header = commit.record.header
  return typeof header === 'object' && header !== null ? factsOf(header) : {}
}

/** Most entries of a schema document's log sent with a commit that names it. */
const MAX_SCHEMA_LOG_SENT = 1_000

/** The dag-cbor bytes of the text `schema`: a payload without them names no schema. */
const SCHEMA_FIELD = Uint8Array.from([0x66, ...new TextEncoder().encode('schema')])
