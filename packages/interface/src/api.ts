import type { NetworkInfo } from './network.js'
import type { Block, Commit } from './commits.js'
import type { DoctypeRegistry } from './doctype.js'
import type { HookAdmin } from './hooks.js'
import type { AbortOptions } from './lifecycle.js'
import type { PageOptions, QueryInput, QueryResult } from './query.js'
import type { AnchorStatus, DocState } from './state.js'
import type { CID } from 'multiformats/cid'

/** Anything that prints as a DocID or CommitID string (a `DocID`, a `CommitID`, the string itself). */
export type DocRef = string | { toString(): string }

/** A document's id with its state. */
export interface DocSnapshot<Id = unknown, Content = unknown> {
  id: Id
  state: DocState<Content>
}

/** One commit of a log: its CID and its value (`{jws, linkedBlock}` for signed commits, the record otherwise). */
export interface LogItem {
  cid: CID
  value: Commit
}

/** Options of the write calls. */
export interface WriteOptions extends AbortOptions {
  /** Request an anchor for the new tip (default: true when the node has an anchor service). */
  anchor?: boolean
  /** Pin the document (default: true on create, unchanged on update). */
  pin?: boolean
  /** Announce the new tip on the network (default true). */
  publish?: boolean
  /** Blocks a commit refers to and the node may not have: an anchor commit's proof, Merkle nodes, chain data. */
  blocks?: Block[]
  /** The chain (CAIP-2) to anchor the new tip on, among the node's; its first chain by default. */
  anchorChain?: string
}

/** Options of {@link DocReader.load}. */
export interface LoadOptions extends AbortOptions {
  /**
   * How long a node on a network waits for peers' answers when it does not hold the document, in milliseconds (the
   * node's default when absent). Ceramic's HTTP API calls it `syncTimeoutSeconds`.
   */
  syncTimeoutMs?: number
}

/** Options of {@link DocWriter.requestAnchor}. */
export interface AnchorRequestOptions extends AbortOptions {
  /** The chain (CAIP-2) to anchor on, among the node's; its first chain by default. */
  chainId?: string
}

/** Reading documents: what an in-process node and an HTTP client both offer. */
export interface DocReader<Id = unknown> {
  /** The latest state of a document (DocID), or its state at a commit (CommitID). */
  load(id: DocRef, options?: LoadOptions): Promise<DocSnapshot<Id>>
  /** The commits of a document's log, genesis first. */
  loadLog(id: DocRef, options?: AbortOptions): Promise<LogItem[]>
  /** Each new state of a document, until the signal fires or the loop breaks. */
  watch(id: DocRef, options?: AbortOptions): AsyncIterableIterator<DocSnapshot<Id>>
  /**
   * A page of the documents this node stores that match the query, in its order; `InvalidQueryError` for a query that
   * is malformed or over the limits. Covers only the documents the node holds, never the network's.
   */
  query(query: QueryInput, options?: AbortOptions): Promise<QueryResult<DocSnapshot<Id>>>
  /** A page of the documents this node stores whose content links to the document: `query({ filter: { linksTo } })`. */
  backlinks(id: DocRef, options?: PageOptions): Promise<QueryResult<DocSnapshot<Id>>>
}

/** Writing documents: what an in-process node and an HTTP client both offer. */
export interface DocWriter<Id = unknown> {
  /** Creates a document from its genesis commit; an existing document with that genesis is returned as it is. */
  createDocument(type: number | string, genesis: Commit, options?: WriteOptions): Promise<DocSnapshot<Id>>
  /** Applies a commit (update or anchor) to a document; an already applied commit changes nothing. */
  applyCommit(id: DocRef, commit: Commit, options?: WriteOptions): Promise<DocSnapshot<Id>>
  /** Asks for an anchor of the document's tip; resolves with the tip's anchor status. */
  requestAnchor(id: DocRef, options?: AnchorRequestOptions): Promise<AnchorStatus>
  pin(id: DocRef, options?: AbortOptions): Promise<void>
  unpin(id: DocRef, options?: AbortOptions): Promise<void>
  listPins(options?: AbortOptions): Promise<Id[]>
}

/**
 * The node as the front ends (HTTP server, CLI) use it: reading and writing documents, its blocks, exports, pins,
 * chains and doctypes. An in-process node is one; `Id` is its DocID type, as in {@link DocReader}.
 */
export interface KilnNodeApi<Id = unknown> extends DocReader<Id>, DocWriter<Id> {
  /** The doctypes this node applies. */
  readonly doctypes: DoctypeRegistry
  /** CAIP-2 ids of the chains this node anchors to. */
  readonly chains: readonly string[]
  /** A block this node stores (a commit, a proof, a Merkle node); `BlockNotFoundError` when it has none. */
  readBlock(cid: CID, options?: AbortOptions): Promise<Uint8Array>
  /** A CAR file holding the document's whole log, anchors with their proofs and Merkle nodes, and schemas it names. */
  exportDocument(id: DocRef, options?: AbortOptions): Promise<Uint8Array>
  /** Loads an export: every commit goes through the node's apply pipeline; resolves with the document's state. */
  importDocument(car: Uint8Array, options?: WriteOptions): Promise<DocSnapshot<Id>>
  isPinned(id: DocRef, options?: AbortOptions): Promise<boolean>
  /** The node's DID and its place on the network (`network` absent when the node is on none). */
  nodeInfo?(): NodeInfo
  /** The node's webhooks (admin only over HTTP); absent on a node without a webhooks plugin. */
  readonly hooks?: HookAdmin
}

/** What a node says of itself: `GET /api/v0/kiln/node`. */
export interface NodeInfo {
  /** The node's own DID, when it has one. */
  did?: string
  /** Its place on the network, when it is on one. */
  network?: NetworkInfo
}
