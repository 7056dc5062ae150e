import type { AnchorProof, Block } from './commits.js'
import type { AbortOptions, Logger, Startable } from './lifecycle.js'
import type { AnchorStatus } from './state.js'
import type { CID } from 'multiformats/cid'

/** A request to anchor a document's tip. */
export interface AnchorRequest {
  /** DocID string. */
  docId: string
  /** CID of the document's genesis commit: the anchor commit's `id`. */
  genesis: CID
  /** The commit to anchor: the anchor commit's `prev`. */
  tip: CID
}

/** The blocks that make one anchor: the anchor commit and everything needed to verify it. */
export interface AnchorResult {
  /** The anchor commit `{id, prev, proof, path}` as a dag-cbor block. */
  commit: Block
  /** The proof block, the Merkle nodes from the root to the tip, and any chain data the verifier reads by CID. */
  blocks: Block[]
}

/** An anchor service's answer about one request, as it progresses. */
export interface AnchorEvent {
  docId: string
  tip: CID
  status: AnchorStatus
  /** With `ANCHORED`: the anchor commit and its supporting blocks, for the node to apply like any commit. */
  anchor?: AnchorResult
  /** With `FAILED` (and others when useful): why. */
  message?: string
}

/** What the node gives an anchor plugin's factory. */
export interface AnchorComponents {
  logger?: Logger
}

/** Puts tips into a chain. One service per chain; `chainId` is CAIP-2. */
export interface AnchorService extends Startable {
  readonly chainId: string
  /**
   * Queues a request and resolves with its first status (`PENDING`). A newer request for the same document replaces
   * an older one not yet in a batch: the older is reported `REPLACED`. Progress arrives through `onEvent`.
   */
  requestAnchor(request: AnchorRequest, options?: AbortOptions): Promise<AnchorEvent>
  /** Registers a listener for the progress of every request. */
  onEvent(listener: (event: AnchorEvent) => void): void
}

/** What an anchor commit claims, for a verifier to check. */
export interface AnchorClaim {
  proof: AnchorProof
  /** The path from `proof.root` to `prev`, `"0/1/1"`. */
  path: string
  /** The commit the anchor commit anchors. */
  prev: CID
}

/** Reads a block by CID (Merkle nodes, chain data). */
export type BlockGetter = (cid: CID, options?: AbortOptions) => Promise<Uint8Array>

/** Checks anchors of one CAIP-2 namespace (`eip155`, `bip122`, `inmemory`). */
export interface AnchorProofVerifier {
  readonly namespace: string
  /**
   * Checks that `claim.proof.root` is on the chain and that `claim.path` leads from it to `claim.prev`; resolves with the
   * anchor time (unix seconds) or throws `InvalidAnchorProofError` (`UnsupportedChainError` for a chain it does not know).
   */
  verify(claim: AnchorClaim, getBlock: BlockGetter, options?: AbortOptions): Promise<{ timestamp: number }>
}

/** An anchor plugin: its service (absent for a verify-only plugin) and its verifier. */
export interface AnchorPlugin {
  service?: AnchorService
  verifier: AnchorProofVerifier
}

/** An anchor plugin factory: `mockAnchor(init)` returns one of these. */
export type AnchorFactory = (components: AnchorComponents) => AnchorPlugin

/** Content-addressed block storage. */
export interface Blockstore {
  /** The block's bytes; a CID the store does not have rejects with `BlockNotFoundError`. */
  get(cid: CID, options?: AbortOptions): Promise<Uint8Array>
  put(cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void>
  has(cid: CID, options?: AbortOptions): Promise<boolean>
  /** Many blocks in one read, in the order asked; `undefined` for each CID the store does not have. */
  getMany?(cids: readonly CID[], options?: AbortOptions): Promise<Array<Uint8Array | undefined>>
}
