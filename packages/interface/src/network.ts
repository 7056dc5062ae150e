import type { Blockstore } from './anchor.js'
import type { Block } from './commits.js'
import type { AbortOptions, Logger, Startable } from './lifecycle.js'
import type { CID } from 'multiformats/cid'

/** A tip heard from the network. */
export interface TipAnnouncement {
  docId: string
  tip: CID
  /** The peer it came from, when known. */
  from?: string
}

/** Where catch-up sync stands with one peer. */
export interface PeerSyncState {
  /** `syncing`: a session is running; `in-sync`: the last one succeeded; `backing-off`: the last failed; `waiting`: none ran yet. */
  state: 'waiting' | 'syncing' | 'in-sync' | 'backing-off'
  /** Failed sessions in a row. */
  failures: number
  /** What the last successful session found: when (ms since the epoch), the keys each side lacked, its rounds. */
  last?: { at: number, missing: number, peerMissing: number, rounds: number }
  /** While `syncing` and fetching: the commits wanted from the peer in this session, and how many were received and applied. */
  progress?: { wanted: number, received: number, applied: number }
}

/** What a network tells about the node's place on it (`GET /api/v0/kiln/node`). */
export interface NetworkInfo {
  /** The node's peer id. */
  peerId: string
  /** The addresses peers can dial it on, each ending in `/p2p/<peerId>`. */
  addresses: string[]
  /** The network's name. */
  network: string
  /** The pubsub topic. */
  topic: string
  /** The peers connected now, with the addresses of their connections and, where catch-up sync runs, where it stands. */
  peers: Array<{ peerId: string, addresses: string[], sync?: PeerSyncState }>
}

/** What core needs from a peer-to-peer network: tips out, tips in, blocks by CID. */
export interface Network extends Startable {
  publishTip(docId: string, tip: CID, options?: AbortOptions): Promise<void>
  /** Asks peers for the tips they know of a document; resolves with what arrived before the deadline (deduplicated). */
  queryTips(docId: string, options?: AbortOptions & { timeoutMs?: number }): Promise<CID[]>
  /** Registers a listener for tips heard from peers; returns a function that removes it. */
  onTip(listener: (announcement: TipAnnouncement) => void): () => void
  /**
   * A block by CID from peers; rejects (`BlockNotFoundError` or `AbortError`) when none arrives before the signal
   * aborts. The bytes are NOT yet checked against the CID by the caller's contract: the network checks them.
   */
  getBlock(cid: CID, options?: AbortOptions): Promise<Uint8Array>
  /** The node's peer id, addresses and peers, once started; a network without peers of its own may leave it out. */
  info?(): NetworkInfo
  /**
   * Tells the network that `peer` announced invalid data (a forged signature, a malformed commit), named by `reason`
   * (the error's name), so that it scores the peer down and drops it past its threshold.
   */
  penalize?(peer: string, reason: string): void
}

/** One commit of a document's log that the node holds: what catch-up sync makes a key of. */
export interface HeldCommit {
  docId: string
  /** The document's family, or `''`. */
  family: string
  /** The genesis commit's CID (the DocID's). */
  genesis: CID
  /** The commit's place in the log: 0 for the genesis. */
  height: number
  commit: CID
  /**
   * The `schema` of the document's genesis header (a CommitID string), which no later commit changes here: catch-up
   * sync's interests match a document by its genesis. Set whenever the node knows it, always on the genesis commit
   * (height 0); a later commit's may leave it out, its document's genesis having been told first.
   */
  schema?: string
  /** The first controller of the document's genesis header (set as `schema` is). */
  controller?: string
}

/** What a network's catch-up sync needs of the node: the commits it holds, their blocks, and a way in for others'. */
export interface SyncSource {
  /** Every commit in the logs of the documents the node holds. */
  commits(options?: AbortOptions): AsyncIterable<HeldCommit>
  /**
   * Tells `listener` of each commit that joins (`joined`) or leaves the log of a held document from now on: a write
   * adds its commit; a switch to another branch removes the losing entries and adds the winning ones. Returns its remover.
   */
  onCommit(listener: (commit: HeldCommit, joined: boolean) => void): () => void
  /**
   * The blocks of a held commit, all a peer needs to verify it offline: the commit (a signed one's envelope and
   * payload) and, for an anchor commit, its proof, the Merkle nodes on its path and the chain data the node holds.
   */
  blocksOf(docId: string, commit: CID, options?: AbortOptions): Promise<Block[]>
  /**
   * {@link blocksOf} for many commits at once, in the order asked, with the reads batched: what serving a peer's
   * `want` of a thousand keys uses. `undefined` for a commit whose blocks the node does not have.
   */
  blocksOfMany?(commits: ReadonlyArray<{ docId: string, commit: CID }>, options?: AbortOptions): Promise<Array<Block[] | undefined>>
  /**
   * Applies what a peer sent of a document, up to `tip`: the commits are read from `blocks` (or else the node's store,
   * never the network), checked against their CIDs, and applied oldest first through the pipeline as a peer's commits;
   * a log that extends the tip is one write.
   */
  apply(docId: string, tip: CID, blocks: Block[], options?: AbortOptions): Promise<void>
  /** The DocIDs the node has pinned now (catch-up sync's interest in pinned documents reads it at each session). */
  pinned?(options?: AbortOptions): Promise<string[]>
}

/** What the node gives a network factory. */
export interface NetworkComponents {
  logger?: Logger
  /** The node's own blocks, served to peers. */
  blocks: Blockstore
  /**
   * The tip this node holds for a document, so the network can answer peers' queries; undefined when it does not
   * hold it.
   */
  tipOf?: (docId: string) => Promise<CID | undefined>
  /** What catch-up sync needs of the node; a node without it takes part in live updates only. */
  sync?: SyncSource
}

/** A network plugin: `libp2pNetwork(init)` returns one of these. */
export type NetworkFactory = (components: NetworkComponents) => Network
