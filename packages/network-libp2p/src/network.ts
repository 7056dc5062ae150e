import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { concatBytes, verifyBlock } from '@kiln/codec'
import {
  AbortError, BlockNotFoundError, isKilnError, LimitExceededError, TimeoutError,
  type AbortOptions, type Block, type HeldCommit, type Logger, type Network, type NetworkComponents, type NetworkInfo, type SyncSource, type TipAnnouncement
} from '@kiln/interface'
import { gossipsub, TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createHeliaLight } from 'helia'
import type { CID } from 'multiformats/cid'
import { heliaBlockstore, heliaCid } from './blocks.js'
import { unrefTimer } from './timers.js'
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, MessageType, queryId, type PubsubMessage } from './messages.js'
import { loadOrCreatePeerKey } from '#platform/peer-key'
import { PLATFORM_LISTEN, PLATFORM_SYNCS_PINNED_ONLY, platformAllowsDial, transports } from '#platform/environment'
import { DEFAULT_BAN_POLICY, DEFAULT_PEER_RATES, PeerLimits, type BanPolicy, type PeerRates } from './peer-limits.js'
import { reconcile, type SyncLimits, type SyncOutcome, type SyncSessionInit } from './sync/session.js'
import { SyncScheduler, type PeerSyncStatus, type SyncSchedule } from './sync/scheduler.js'
import { streamSyncChannel, SYNC_PROTOCOL } from './sync/stream-channel.js'
import { fetchWanted, RecentKeys, REFUSED_KEYS_FORGOTTEN_MS, REFUSED_KEYS_REMEMBERED, serveBlocks, SYNC_BLOCKS_PROTOCOL, type FetchOutcome } from './sync/transfer.js'
import { familyRange, networkRange, syncDocumentHash, syncKey } from './sync/keys.js'
import { memorySyncKeyStore } from './sync/store.js'
import { filteredSyncKeyStore, genesisFactsOfBlocks, normaliseSyncFilter, SyncDocumentIndex, syncFilterMatches, type SyncFilter } from './sync/interests.js'
import { DocID } from '@kiln/docid'
import type { SyncRange } from './sync/keys.js'
import type { SyncKeyStore } from './sync/store.js'
import type { Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface'

/** The largest block Kiln fetches from a peer: Ceramic caps a commit at 256 KB. */
export const MAX_BLOCK_BYTES = 256 * 1024
/**
 * The default listen addresses of a networked node: in Node, TCP 4011 and WebSockets 4012 on every interface; in a
 * browser none (a page dials daemons over WebSockets and cannot listen).
 */
export const DEFAULT_LISTEN: readonly string[] = PLATFORM_LISTEN
/** The network a node joins unless told otherwise; its topic is `/ceramic/<name>`. */
export const DEFAULT_NETWORK = 'local-kiln'

/** Options of {@link libp2pNetwork}. */
export interface Libp2pNetworkInit {
  /** The network's name (default `local-kiln`): the pubsub topic is `/ceramic/<network>`. */
  network?: string
  /** The pubsub topic, overriding the one the network's name gives. */
  topic?: string
  /** Multiaddrs to listen on (default {@link DEFAULT_LISTEN}). */
  listen?: string[]
  /** Multiaddrs to announce to peers instead of the listen addresses (a public deployment behind NAT sets these). */
  announce?: string[]
  /** Peers to connect to at start, and to reconnect to with backoff whenever the connection is lost. */
  bootstrap?: string[]
  /** Where the peer key is kept (a file; created on first start). Without it the node has a new PeerId each start. */
  peerKeyPath?: string
  /** The peer key itself, instead of `peerKeyPath`. */
  privateKey?: PrivateKey
  /** How long `queryTips` waits for answers without a `timeoutMs` of its own (default 3,000 ms, as js-ceramic). */
  queryTimeoutMs?: number
  /** How long `getBlock` waits without a signal of its own (default 10,000 ms). */
  blockTimeoutMs?: number
  /** How often a KEEPALIVE is sent (default 60,000 ms; 0 sends none). */
  keepaliveMs?: number
  /** Per-peer message rates. */
  rates?: Partial<PeerRates>
  /** When a misbehaving peer is dropped. */
  ban?: Partial<BanPolicy>
  /** Reconnection backoff to bootstrap peers: first delay and cap, in ms (default 1,000 and 60,000). */
  reconnect?: { minMs?: number, maxMs?: number }
  /**
   * Catch-up sync (`/kiln/sync/1.0.0`, docs/sync.md): the node's sync keys and the ranges it wants to reconcile. With
   * it, the node answers peers' sync sessions and can start its own (`syncWith`). Without it, sync is not offered.
   */
  sync?: {
    store: SyncKeyStore
    interests: SyncRange[]
    limits?: Partial<SyncLimits>
    /**
     * When sessions run: at once with each new peer, then every `intervalMs`, backing off from failures; `false` runs
     * none of its own (only `syncWith` and the peers' sessions).
     */
    schedule?: Partial<SyncSchedule> | false
    /** Told what each session this node started found (the keys it lacks are `outcome.missing`). */
    onSynced?: (peer: string, outcome: SyncOutcome) => void
  }
  /**
   * Catch-up sync of the node's own commits, when the node offers them (`NetworkComponents.sync`): on by default, with
   * an interest in everything on the network; `false` turns it off. `sync` above replaces it.
   */
  catchUp?: boolean
  /** When the node's catch-up sessions run (see `SyncSchedule`). */
  syncSchedule?: Partial<SyncSchedule>
  /**
   * The families whose documents the node syncs (`''`: documents without a family); everything on the network when
   * left out. The node neither fetches nor serves commits outside them by catch-up sync.
   */
  syncFamilies?: string[]
  /**
   * Interests besides families (docs/sync.md, Interests): the node syncs only the documents whose genesis `schema` is
   * one of `syncSchemas` (CommitID strings, as in the header), or whose genesis first controller is one of
   * `syncControllers`, or whose DocID is one of `syncDocs` or, with `syncPinned`, one the node has pinned (read at each
   * session, so a document pinned or unpinned while running joins or leaves). A list left out asks nothing; with none
   * of them, every document of the families. The node neither fetches, stores nor serves by catch-up sync a document
   * outside them. In a browser, a node given none of these (nor `syncFamilies`) syncs its pinned documents only, as if
   * `syncPinned` were set: a page must not pull a whole network into IndexedDB (`syncPinned: false` turns it off).
   */
  syncSchemas?: string[]
  syncControllers?: string[]
  syncDocs?: string[]
  syncPinned?: boolean
  /** How long a sync stream may stay silent before it is aborted, in ms (default 10,000). */
  syncInactivityMs?: number
  /** How long one sync session (or blocks fetch) may last, in ms (default 300,000). */
  syncDeadlineMs?: number
  /** How many sync sessions peers may run with this node at once (default 8; one per peer); more are refused at once. */
  maxInboundSyncs?: number
  /**
   * Decides whether an address may be dialled. Without it, Node dials any address, and a browser dials secure
   * WebSockets (`/wss`) anywhere and plain `ws://` only on this machine (127.0.0.1, ::1, localhost); with it, this
   * function alone decides. Tests use it to prove that a node dials nothing but loopback; a deployment can use it to
   * keep a node on a private network.
   */
  dialFilter?: (address: string) => boolean
}

/** A Kiln network on libp2p, with what the daemon shows of it. */
export interface Libp2pNetwork extends Network {
  start(): Promise<void>
  stop(): Promise<void>
  /** The node's PeerId, its dialable addresses, the topic and the connected peers. Valid after `start()`. */
  info(): NetworkInfo
  /** The libp2p node underneath, after `start()` (for tests and tools). */
  readonly libp2p: Libp2p<{ pubsub: GossipSub }>
  /** Runs one sync session with a connected peer, as its initiator: what each side lacks of the other's keys. */
  syncWith(peer: string, options?: AbortOptions): Promise<SyncOutcome>
  /** Where sync stands with each connected peer (empty without `sync`). */
  syncStatus(): PeerSyncStatus[]
}

/** The sync a started network runs: given in `init.sync`, or made of the node's own commits. */
interface ResolvedSync {
  store: SyncKeyStore
  interests: SyncRange[]
  limits?: Partial<SyncLimits>
  schedule?: Partial<SyncSchedule> | false
  onSynced?: (peer: string, outcome: SyncOutcome) => void
  /** The node's filter now (its pins may have changed), when it has interests beyond ranges. */
  filter?: () => Promise<SyncFilter | undefined>
  /** The genesis facts of the documents held, which filters read. */
  index?: SyncDocumentIndex
}

interface PendingQuery { stream: string, tips: Map<string, CID>, settle: () => void }

/**
 * Creates the libp2p network plugin: `createNode({ network: libp2pNetwork({ bootstrap: [...] }) })`. Nothing is dialled
 * but the bootstrap list and the peers that dial in; no router, DHT, relay or public bootstrap list is configured.
 */
export function libp2pNetwork (init: Libp2pNetworkInit = {}): (components: NetworkComponents) => Libp2pNetwork {
  return (components) => new KilnLibp2pNetwork(init, components)
}

class KilnLibp2pNetwork implements Libp2pNetwork {
  readonly #init: Libp2pNetworkInit
  readonly #components: NetworkComponents
  readonly #log: Logger | undefined
  readonly #networkName: string
  readonly #topic: string
  readonly #limits: PeerLimits
  readonly #listeners = new Set<(announcement: TipAnnouncement) => void>()
  readonly #queries = new Map<string, Set<PendingQuery>>()
  readonly #decoded = new WeakMap<Message, PubsubMessage>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #bootstrapDelays = new Map<string, number>()
  #helia: Awaited<ReturnType<typeof startHelia>> | undefined
  #starting: Promise<void> | undefined
  #stopped = false
  #inboundSyncs = 0
  /** Keys not wanted again while remembered: commits this node refused lately, or fetched without their joining its log. */
  readonly #unwantedKeys = new RecentKeys(REFUSED_KEYS_REMEMBERED, REFUSED_KEYS_FORGOTTEN_MS)
  readonly #syncingPeers = new Set<string>()
  #sync: ResolvedSync | undefined
  #stopListening: (() => void) | undefined
  #scheduler: SyncScheduler | undefined

  constructor (init: Libp2pNetworkInit, components: NetworkComponents) {
    this.#init = init
    this.#components = components
    this.#log = components.logger
    this.#networkName = init.network ?? DEFAULT_NETWORK
    this.#topic = init.topic ?? `/ceramic/${this.#networkName}`
    this.#limits = new PeerLimits({ ...DEFAULT_PEER_RATES, ...init.rates }, { ...DEFAULT_BAN_POLICY, ...init.ban })
  }

  get libp2p (): Libp2p<{ pubsub: GossipSub }> {
    if (this.#helia === undefined) throw new AbortError('The libp2p network is not started')
    return this.#helia.libp2p
  }

  async start (): Promise<void> {
    this.#stopped = false
    this.#starting ??= this.#start()
    await this.#starting
  }

  async #start (): Promise<void> {
    const privateKey = this.#init.privateKey ?? (this.#init.peerKeyPath === undefined ? undefined : await loadOrCreatePeerKey(this.#init.peerKeyPath))
    const helia = await startHelia(this.#init, this.#components, privateKey, this.#limits)
    this.#helia = helia
    const pubsub = helia.libp2p.services.pubsub
    pubsub.topicValidators.set(this.#topic, (peer, message) => this.#validate(peer, message))
    pubsub.addEventListener('message', (event) => { this.#onMessage(event.detail) })
    pubsub.subscribe(this.#topic)
    this.#sync = this.#init.sync ?? await this.#syncOfNode()
    if (this.#sync !== undefined) {
      const sync = this.#sync
      if (sync.schedule !== false) this.#scheduler = new SyncScheduler(async (peer) => {
        const started = Date.now()
        const outcome = await this.syncWith(peer)
        const filter = await sync.filter?.()
        // A document held outside the node's interests is not wanted, whatever a peer (of sync 1.0) listed of it.
        const outside = (key: Uint8Array): boolean => {
          const facts = filter === undefined ? undefined : sync.index?.factsOfKey(key)
          return facts !== undefined && !syncFilterMatches(filter, facts)
        }
        const wanted = outcome.missing.filter((key) => !this.#unwantedKeys.has(key) && !outside(key))
        const fetched = wanted.length > 0 ? await this.#fetchMissing(peer, wanted, filter) : undefined
        // One line per finished sync; the periodic ones that found the two nodes equal only at debug.
        const equal = outcome.missing.length === 0 && outcome.peerMissing.length === 0
        this.#log?.[equal ? 'debug' : 'info']({
          peer, rounds: outcome.rounds, missing: outcome.missing.length, peerMissing: outcome.peerMissing.length, bytes: outcome.bytesSent + outcome.bytesReceived,
          ...(fetched === undefined ? {} : { received: fetched.received, applied: fetched.applied, documents: fetched.documents, refused: fetched.refused, failed: fetched.failed, skipped: fetched.skipped }),
          ms: Date.now() - started
        }, 'synced with a peer')
        sync.onSynced?.(peer, outcome)
        // What joined the node's log counts as brought: a fetched commit that did not join it (a branch that lost the
        // conflict rule, a document outside the interests) is not wanted again for a while either — the node has all
        // it needs of it, and a peer that keeps a losing branch must not draw a session a second.
        if (fetched === undefined || this.#init.sync !== undefined) return { outcome, applied: fetched?.applied ?? 0 }
        let joined = 0
        for (const key of fetched.appliedKeys) {
          if (sync.store.has(key)) joined++
          else this.#unwantedKeys.add(key)
        }
        return { outcome, applied: joined }
      }, sync.schedule ?? {})
      const source = this.#components.sync
      if (source !== undefined && sync.index !== undefined) {
        const documents = sync.index
        await helia.libp2p.handle(SYNC_BLOCKS_PROTOCOL, async (stream, connection) => {
          const peer = connection.remotePeer.toString()
          const release = this.#guard(stream)
          try {
            // What this node serves is its own interests' whatever the peer's: a session-independent check.
            const filter = await sync.filter?.()
            const index = sync.index
            const serves = filter === undefined || index === undefined ? undefined : (key: Uint8Array) => syncFilterMatches(filter, index.factsOfKey(key))
            const served = await serveBlocks(streamSyncChannel(stream, { inactivityMs: this.#init.syncInactivityMs ?? 10_000 }), sync.store, documents, source, sync.interests, serves === undefined ? {} : { serves })
            this.#log?.debug({ peer, served }, 'served the blocks a peer wanted')
            await stream.close().catch(() => {})
          } catch (err) {
            this.#refuse(peer, `sync blocks: ${(err as Error).message}`)
            stream.abort(err as Error)
          } finally {
            release()
          }
        })
      }
      await helia.libp2p.handle(SYNC_PROTOCOL, async (stream, connection) => {
        const peer = connection.remotePeer.toString()
        // A fair share: one session per peer at a time, and at most maxInboundSyncs in all.
        if (this.#inboundSyncs >= (this.#init.maxInboundSyncs ?? 8) || this.#syncingPeers.has(peer)) {
          this.#log?.debug({ peer }, 'refused a sync session: too many at once')
          stream.abort(new LimitExceededError('Too many sync sessions at once'))
          return
        }
        this.#inboundSyncs++
        this.#syncingPeers.add(peer)
        const release = this.#guard(stream)
        try {
          const outcome = await reconcile({ role: 'responder', network: this.#networkName, store: sync.store, interests: sync.interests, ...await this.#filtering(sync), channel: streamSyncChannel(stream, { inactivityMs: this.#init.syncInactivityMs ?? 10_000 }), ...(sync.limits === undefined ? {} : { limits: sync.limits }) })
          this.#log?.debug({ peer, rounds: outcome.rounds, missing: outcome.missing.length, peerMissing: outcome.peerMissing.length }, 'answered a sync session')
        } catch (err) {
          this.#refuse(peer, `sync session: ${(err as Error).message}`)
          stream.abort(err as Error)
        } finally {
          release()
          this.#inboundSyncs--
          this.#syncingPeers.delete(peer)
        }
      })
    }
    helia.libp2p.addEventListener('peer:connect', (event) => {
      this.#log?.info({ peer: event.detail.toString() }, 'peer connected')
      this.#scheduler?.connected(event.detail.toString())
    })
    helia.libp2p.addEventListener('peer:disconnect', (event) => {
      this.#log?.info({ peer: event.detail.toString() }, 'peer disconnected')
      this.#scheduler?.disconnected(event.detail.toString())
      this.#redialIfBootstrap(event.detail)
    })
    for (const address of this.#init.bootstrap ?? []) this.#dialBootstrap(address)
    const keepaliveMs = this.#init.keepaliveMs ?? 60_000
    if (keepaliveMs > 0) this.#every(keepaliveMs, () => { void this.#publish({ typ: MessageType.KEEPALIVE, ts: Date.now(), ver: 'kiln', ipfsVer: 'helia' }) })
    this.#log?.info({ peerId: helia.libp2p.peerId.toString(), addresses: helia.libp2p.getMultiaddrs().map(String), topic: this.#topic }, 'network started')
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#scheduler?.stop()
    this.#scheduler = undefined
    this.#stopListening?.()
    this.#stopListening = undefined
    await this.#starting?.catch(() => {})
    this.#starting = undefined
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    for (const pending of [...this.#queries.values()].flatMap((set) => [...set])) pending.settle()
    this.#queries.clear()
    const helia = this.#helia
    this.#helia = undefined
    await helia?.stop()
  }

  info (): NetworkInfo {
    const libp2p = this.libp2p
    const peers = new Map<string, string[]>()
    for (const connection of libp2p.getConnections()) {
      const id = connection.remotePeer.toString()
      peers.set(id, [...(peers.get(id) ?? []), connection.remoteAddr.toString()])
    }
    const sync = new Map(this.syncStatus().map((s) => [s.peerId, s]))
    return {
      peerId: libp2p.peerId.toString(),
      addresses: libp2p.getMultiaddrs().map(String),
      network: this.#networkName,
      topic: this.#topic,
      peers: [...peers].map(([peerId, addresses]) => {
        const status = sync.get(peerId)
        return status === undefined ? { peerId, addresses } : { peerId, addresses, sync: { state: status.state, failures: status.failures, ...(status.last === undefined ? {} : { last: status.last }), ...(status.progress === undefined ? {} : { progress: status.progress }) } }
      })
    }
  }

  onTip (listener: (announcement: TipAnnouncement) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  penalize (peer: string, reason: string): void {
    this.#refuse(peer, `announced invalid data (${reason})`)
  }

  /** Catch-up sync over the node's own commits: a key store of every commit it holds, kept up to date as it writes. */
  async #syncOfNode (): Promise<ResolvedSync | undefined> {
    const source = this.#components.sync
    if (source === undefined || this.#init.catchUp === false) return undefined
    const store = memorySyncKeyStore()
    const index = new SyncDocumentIndex()
    const network = this.#networkName
    const add = (commit: HeldCommit, joined = true): void => {
      const key = syncKey({ network, family: commit.family, genesis: commit.genesis, height: commit.height, commit: commit.commit })
      if (!joined) {
        // a commit of a branch that lost: the node keeps its blocks, but its key is the log's no more
        store.remove(key)
        return
      }
      index.note(commit)
      store.insert(key)
    }
    // Listening first, so that no commit written while the store is filled is missed.
    this.#stopListening = source.onCommit(add)
    for await (const commit of source.commits()) add(commit)
    const families = this.#init.syncFamilies
    const interests = families === undefined ? [networkRange(network)] : families.map((family) => familyRange(network, family))
    const filter = this.#filterOf(source)
    return { store, interests, index, ...(filter === undefined ? {} : { filter }), ...(this.#init.syncSchedule === undefined ? {} : { schedule: this.#init.syncSchedule }) }
  }

  /** How to read the node's filter at each session, when it has interests beyond families. */
  #filterOf (source: SyncSource): (() => Promise<SyncFilter | undefined>) | undefined {
    const { syncSchemas: schemas, syncControllers: controllers } = this.#init
    // A DocID is matched in its canonical string form, whichever form the configuration gave.
    const docs = this.#init.syncDocs?.map((doc) => DocID.fromString(doc).toString())
    // In a browser, a node given no interests syncs its pinned documents only.
    const pinned = this.#init.syncPinned ?? (PLATFORM_SYNCS_PINNED_ONLY && schemas === undefined && controllers === undefined && docs === undefined && this.#init.syncFamilies === undefined)
    if (schemas === undefined && controllers === undefined && docs === undefined && pinned !== true) return undefined
    return async () => normaliseSyncFilter({
      ...(schemas === undefined ? {} : { schemas }),
      ...(controllers === undefined ? {} : { controllers }),
      ...(docs === undefined && pinned !== true ? {} : { docs: [...(docs ?? []), ...(pinned === true ? await source.pinned?.() ?? [] : [])] })
    })
  }

  /**
   * A session's filter and set: without a filter on either side, the node's store as it is; else the keys in the
   * shared ranges whose documents pass both sides' filters, gathered for this session (one pass over them).
   */
  async #filtering (sync: ResolvedSync): Promise<Pick<SyncSessionInit, 'filter' | 'storeFor'>> {
    const filter = await sync.filter?.()
    const index = sync.index
    if (index === undefined) return {}
    return {
      ...(filter === undefined ? {} : { filter }),
      storeFor: ({ filter: theirs, shared }) => filter === undefined && theirs === undefined
        ? sync.store
        : filteredSyncKeyStore(sync.store, shared, (key) => {
          const facts = index.factsOfKey(key)
          return syncFilterMatches(filter, facts) && syncFilterMatches(theirs, facts)
        })
    }
  }

  /** Wants the keys a session found missing from the peer that has them, and applies what arrives. */
  async #fetchMissing (peer: string, keys: Uint8Array[], filter?: SyncFilter): Promise<FetchOutcome | undefined> {
    const source = this.#components.sync
    if (source === undefined) return undefined
    const connection = this.libp2p.getConnections().find((c) => c.remotePeer.toString() === peer)
    if (connection === undefined) throw new BlockNotFoundError(`Not connected to ${peer}`, { details: { peer } })
    const stream = await connection.newStream(SYNC_BLOCKS_PROTOCOL)
    const release = this.#guard(stream)
    try {
      const fetched = await fetchWanted(streamSyncChannel(stream, { inactivityMs: this.#init.syncInactivityMs ?? 10_000 }), keys, source, {
        onProgress: (progress) => { this.#scheduler?.progress(peer, progress) },
        ...(filter === undefined ? {} : { admit: this.#admission(filter) })
      })
      await stream.close().catch(() => {})
      // Keys whose commits were refused are not wanted again (from anyone) for a while: no peer costs the same checks twice.
      for (const key of fetched.refusedKeys) this.#unwantedKeys.add(key)
      if (fetched.refused > 0) this.#refuse(peer, `sent ${fetched.refused} documents' commits the node refused`)
      if (fetched.received + fetched.skipped < keys.length) this.#refuse(peer, `listed ${keys.length - fetched.received} keys it did not send the blocks of`)
      return fetched
    } catch (err) {
      stream.abort(err as Error)
      if (['CodecError', 'LimitExceededError', 'TimeoutError'].includes((err as Error).name)) this.#refuse(peer, `sync blocks: ${(err as Error).message}`)
      throw err
    } finally {
      release()
    }
  }

  /**
   * Whether a fetch takes a document the peer sent: one the node holds by its stored genesis facts, a new one by its
   * genesis header among the blocks (none there: not taken). A verdict holds for the rest of the fetch, since a new
   * document's later commits may come before its genesis is written.
   */
  #admission (filter: SyncFilter): (docId: string, blocks: Block[]) => Promise<boolean> {
    const verdicts = new Map<string, boolean>()
    return async (docId, blocks) => {
      let verdict = verdicts.get(docId)
      if (verdict === undefined) {
        const held = this.#sync?.index?.factsOf(syncDocumentHash(DocID.fromString(docId).cid))
        verdict = syncFilterMatches(filter, held ?? await genesisFactsOfBlocks(docId, blocks))
        verdicts.set(docId, verdict)
      }
      return verdict
    }
  }

  syncStatus (): PeerSyncStatus[] {
    return this.#scheduler?.status() ?? []
  }

  async syncWith (peer: string, options: AbortOptions = {}): Promise<SyncOutcome> {
    const sync = this.#sync
    if (sync === undefined) throw new AbortError('This network was given no sync store: catch-up sync is off')
    const connection = this.libp2p.getConnections().find((c) => c.remotePeer.toString() === peer)
    if (connection === undefined) throw new BlockNotFoundError(`Not connected to ${peer}`, { details: { peer } })
    const stream = await connection.newStream(SYNC_PROTOCOL, options)
    const release = this.#guard(stream)
    try {
      const outcome = await reconcile({ role: 'initiator', network: this.#networkName, store: sync.store, interests: sync.interests, ...await this.#filtering(sync), channel: streamSyncChannel(stream, { inactivityMs: this.#init.syncInactivityMs ?? 10_000 }), ...(sync.limits === undefined ? {} : { limits: sync.limits }), ...(options.signal === undefined ? {} : { signal: options.signal }) })
      await stream.close().catch(() => {})
      return outcome
    } catch (err) {
      stream.abort(err as Error)
      // A peer that stalls or never lets a range settle counts against it, as it does when this node answers. A
      // CodecError is not counted here: it is also what a peer that went away or was busy leaves behind.
      if (['LimitExceededError', 'TimeoutError'].includes((err as Error).name)) this.#refuse(peer, `sync session: ${(err as Error).message}`)
      throw err
    } finally {
      release()
    }
  }

  /**
   * Bounds a sync stream in time: a session that outlasts `syncDeadlineMs` (5 min) has its stream aborted (a peer silent
   * for `syncInactivityMs` is cut off by the channel itself), so a peer stalling mid-session holds nothing for long.
   */
  #guard (stream: Stream): () => void {
    const deadline = this.#init.syncDeadlineMs ?? 300_000
    const timer = setTimeout(() => { stream.abort(new TimeoutError(`The sync session passed its ${deadline} ms deadline`)) }, deadline)
    unrefTimer(timer)
    return () => { clearTimeout(timer) }
  }

  async publishTip (docId: string, tip: CID, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    await this.#publish({ typ: MessageType.UPDATE, stream: docId, tip })
  }

  async queryTips (docId: string, options: AbortOptions & { timeoutMs?: number } = {}): Promise<CID[]> {
    const pubsub = this.libp2p.services.pubsub
    const id = await queryId(docId)
    const timeoutMs = options.timeoutMs ?? this.#init.queryTimeoutMs ?? 3_000
    // Nobody on the topic can answer: say so at once rather than wait out the timeout.
    if (pubsub.getSubscribers(this.#topic).length === 0) return []
    const tips = new Map<string, CID>()
    await new Promise<void>((resolve) => {
      const pending: PendingQuery = { stream: docId, tips, settle: () => {} }
      const set = this.#queries.get(id) ?? new Set()
      this.#queries.set(id, set)
      set.add(pending)
      let grace: NodeJS.Timeout | undefined
      const finish = (): void => {
        clearTimeout(deadline)
        clearTimeout(grace)
        set.delete(pending)
        if (set.size === 0) this.#queries.delete(id)
        options.signal?.removeEventListener('abort', finish)
        resolve()
      }
      const deadline = setTimeout(finish, timeoutMs)
      pending.settle = () => {
        // The first answer ends the wait shortly after, so the answers of the other peers that hold it still count.
        grace ??= setTimeout(finish, Math.min(250, timeoutMs))
      }
      options.signal?.addEventListener('abort', finish, { once: true })
      this.#publish({ typ: MessageType.QUERY, id, stream: docId }).catch((err: unknown) => {
        this.#log?.debug({ err, docId }, 'publishing a query failed')
        finish()
      })
    })
    options.signal?.throwIfAborted()
    return [...tips.values()]
  }

  async getBlock (cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    const helia = this.#helia
    if (helia === undefined) throw new AbortError('The libp2p network is not started')
    const signal = options.signal ?? AbortSignal.timeout(this.#init.blockTimeoutMs ?? 10_000)
    const chunks: Uint8Array[] = []
    let size = 0
    try {
      for await (const chunk of helia.blockstore.get(heliaCid(cid), { signal })) {
        size += chunk.length
        if (size > MAX_BLOCK_BYTES) throw new LimitExceededError(`Block ${cid.toString()} is over ${MAX_BLOCK_BYTES} bytes`, { details: { cid: cid.toString(), limit: MAX_BLOCK_BYTES } })
        chunks.push(chunk)
      }
    } catch (err) {
      if (isKilnError(err)) throw err
      if (signal.aborted) {
        throw options.signal?.aborted === true
          ? new AbortError(`Fetching block ${cid.toString()} was aborted`, { cause: err })
          : new BlockNotFoundError(`No peer sent block ${cid.toString()} in time`, { cause: err, details: { cid: cid.toString() } })
      }
      throw new BlockNotFoundError(`Cannot fetch block ${cid.toString()}: ${(err as Error).message}`, { cause: err, details: { cid: cid.toString() } })
    }
    const joined = chunks.length === 1 ? chunks[0]! : concatBytes(...chunks)
    // A plain Uint8Array, as every other block source of Kiln returns, not a Buffer.
    const bytes = new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength)
    await verifyBlock(cid, bytes)
    return bytes
  }

  async #publish (message: PubsubMessage): Promise<void> {
    if (this.#helia === undefined) return
    await this.#helia.libp2p.services.pubsub.publish(this.#topic, encodeMessage(message))
  }

  /** Gossipsub's validator: only well-formed messages within the sender's rates are delivered and forwarded. */
  #validate (peer: PeerId, message: Message): TopicValidatorResult {
    const from = peer.toString()
    let decoded: PubsubMessage
    try {
      decoded = decodeMessage(message.data)
    } catch (err) {
      this.#refuse(from, (err as Error).message)
      return TopicValidatorResult.Reject
    }
    const kind = decoded.typ === MessageType.UPDATE ? 'updates' : decoded.typ === MessageType.QUERY ? 'queries' : undefined
    if (kind !== undefined && !this.#limits.take(from, kind)) {
      this.#log?.debug({ peer: from, kind }, 'peer over its message rate: message ignored')
      return TopicValidatorResult.Ignore
    }
    this.#decoded.set(message, decoded)
    return TopicValidatorResult.Accept
  }

  #refuse (peer: string, reason: string): void {
    this.#log?.debug({ peer, reason }, 'refused a message from a peer')
    if (this.#limits.invalid(peer)) {
      this.#log?.info({ peer }, 'peer sent too many invalid messages: disconnected and refused for a while')
      const connection = this.#helia?.libp2p.getConnections().find((c) => c.remotePeer.toString() === peer)
      if (connection !== undefined) this.#helia?.libp2p.hangUp(connection.remotePeer).catch(() => {})
    }
  }

  #onMessage (message: Message): void {
    if (message.topic !== this.#topic) return
    const decoded = this.#decoded.get(message) ?? tryDecode(message.data)
    if (decoded === undefined) return
    const from = message.type === 'signed' ? message.from.toString() : undefined
    switch (decoded.typ) {
      case MessageType.UPDATE:
        this.#announce({ docId: decoded.stream, tip: decoded.tip, ...(from === undefined ? {} : { from }) })
        if (from !== undefined && this.#scheduler?.wouldBringForward(from) === true) void this.#syncSoonIfLacking(decoded.stream, from)
        break
      case MessageType.QUERY:
        void this.#answer(decoded.id, decoded.stream, from)
        break
      case MessageType.RESPONSE:
        for (const pending of this.#queries.get(decoded.id) ?? []) {
          const tip = decoded.tips.get(pending.stream)
          if (tip === undefined) continue
          pending.tips.set(tip.toString(), tip)
          pending.settle()
        }
        break
      case MessageType.KEEPALIVE:
        break
    }
  }

  /**
   * A document announced by a peer that this node does not hold: catch-up sync brings it (within the node's
   * interests) by a session with that peer soon, rather than at the next interval. Live announcements of documents
   * the node holds are followed by the node itself.
   */
  async #syncSoonIfLacking (docId: string, peer: string): Promise<void> {
    try {
      if (await this.#components.tipOf?.(docId) === undefined) this.#scheduler?.soon(peer)
    } catch (err) {
      this.#log?.debug({ err, docId }, 'reading the tip of an announced document failed')
    }
  }

  #announce (announcement: TipAnnouncement): void {
    for (const listener of this.#listeners) {
      try {
        listener(announcement)
      } catch (err) {
        this.#log?.warn({ err, docId: announcement.docId }, 'a tip listener threw')
      }
    }
  }

  async #answer (id: string, stream: string, from: string | undefined): Promise<void> {
    try {
      if (id !== await queryId(stream)) {
        if (from !== undefined) this.#refuse(from, `query id ${id} is not the id of ${stream}`)
        return
      }
      const tip = await this.#components.tipOf?.(stream)
      if (tip === undefined || this.#stopped) return
      await this.#publish({ typ: MessageType.RESPONSE, id, tips: new Map([[stream, tip]]) })
    } catch (err) {
      this.#log?.debug({ err, stream }, 'answering a query failed')
    }
  }

  #dialBootstrap (address: string): void {
    if (this.#stopped || this.#helia === undefined) return
    let target: Multiaddr
    try {
      target = multiaddr(address)
    } catch (err) {
      this.#log?.warn({ err, address }, 'not a multiaddr: bootstrap address skipped')
      return
    }
    this.#helia.libp2p.dial(target).then(() => {
      this.#bootstrapDelays.delete(address)
    }, (err: unknown) => {
      const min = this.#init.reconnect?.minMs ?? 1_000
      const max = this.#init.reconnect?.maxMs ?? 60_000
      const delay = Math.min(max, (this.#bootstrapDelays.get(address) ?? min / 2) * 2)
      this.#bootstrapDelays.set(address, delay)
      this.#log?.debug({ err, address, retryInMs: delay }, 'cannot reach a bootstrap peer: retrying later')
      this.#after(delay, () => { this.#dialBootstrap(address) })
    })
  }

  #redialIfBootstrap (peer: PeerId): void {
    for (const address of this.#init.bootstrap ?? []) {
      if (address.endsWith(`/p2p/${peer.toString()}`)) {
        const delay = this.#bootstrapDelays.get(address) ?? this.#init.reconnect?.minMs ?? 1_000
        this.#bootstrapDelays.set(address, delay)
        this.#after(delay, () => { this.#dialBootstrap(address) })
      }
    }
  }

  #after (ms: number, run: () => void): void {
    if (this.#stopped) return
    const timer = setTimeout(() => { this.#timers.delete(timer); run() }, ms)
    unrefTimer(timer)
    this.#timers.add(timer)
  }

  #every (ms: number, run: () => void): void {
    this.#after(ms, () => { run(); this.#every(ms, run) })
  }
}

function tryDecode (data: Uint8Array): PubsubMessage | undefined {
  try {
    return decodeMessage(data)
  } catch {
    return undefined
  }
}

async function startHelia (init: Libp2pNetworkInit, components: NetworkComponents, privateKey: PrivateKey | undefined, limits: PeerLimits) {
  const dialFilter = init.dialFilter
  const helia = withBitswap(withLibp2pLight(createHeliaLight({ blockstore: heliaBlockstore(components.blocks) }), {
    ...(privateKey === undefined ? {} : { privateKey }),
    addresses: { listen: init.listen ?? [...DEFAULT_LISTEN], ...(init.announce === undefined ? {} : { announce: init.announce }) },
    transports: transports(),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      denyDialMultiaddr: (address) => dialFilter === undefined ? !platformAllowsDial(address) : !dialFilter(address.toString()),
      denyInboundEncryptedConnection: (peer) => limits.banned(peer.toString()),
      denyOutboundEncryptedConnection: (peer) => limits.banned(peer.toString())
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        maxInboundDataLength: MAX_MESSAGE_BYTES,
        emitSelf: false
      })
    }
  }), { maxIncomingMessageSize: 2 * MAX_BLOCK_BYTES + 64 * 1024 })
  await helia.start()
  return helia
}


