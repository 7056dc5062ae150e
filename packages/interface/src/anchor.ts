import type { AnchorProof } from './commits.js'
import type { AbortOptions, Logger, Startable } from './lifecycle.js'
import type { AnchorStatus } from './state.js'
import type { CID } from 'multiformats/cid'

/** A request to anchor a document's tip. */
export interface AnchorRequest {
  /** DocID string. */
  docId: string
  tip: CID
}

/** An anchor service's answer about one request, as it progresses. */
export interface AnchorEvent {
  docId: string
  tip: CID
  status: AnchorStatus
  /** Set with `ANCHORED`: the anchor commit's CID; its block, the proof and the path nodes are in the blockstore. */
  anchorCommit?: CID
  message?: string
}

/** What the node gives an anchor service factory. */
export interface AnchorComponents {
  logger?: Logger
  /** Where the service writes proof, Merkle node and anchor commit blocks. */
  blocks: Pick<Blockstore, 'put' | 'get'>
}

/** Puts tips into a chain. One service per chain; `chainId` is CAIP-2. */
export interface AnchorService extends Startable {
  readonly chainId: string
  /** Queues a request; progress is reported through `onEvent`. */
  requestAnchor(request: AnchorRequest, options?: AbortOptions): Promise<AnchorEvent>
  /** Registers the node's listener for progress of every request. */
  onEvent(listener: (event: AnchorEvent) => void): void
}

/** Checks proofs of one CAIP-2 namespace (`eip155`, `bip122`, `inmemory`). */
export interface AnchorProofVerifier {
  readonly namespace: string
  /** Verifies the proof; resolves with the anchor time (unix seconds) or throws `InvalidAnchorProofError`. */
  verify(proof: AnchorProof, options?: AbortOptions): Promise<{ timestamp: number }>
}

/** An anchor plugin: `ethereumAnchor(init)` returns one of these. */
export type AnchorFactory = (components: AnchorComponents) => { service?: AnchorService, verifier: AnchorProofVerifier }

/** Content-addressed block storage. */
export interface Blockstore {
  get(cid: CID, options?: AbortOptions): Promise<Uint8Array>
  put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  has(cid: CID, options?: AbortOptions): Promise<boolean>
}
