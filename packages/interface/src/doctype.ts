import type { AbortOptions, Logger } from './lifecycle.js'
import type { DocState } from './state.js'
import type { CID } from 'multiformats/cid'

/** A commit after the core has decoded it and checked its signature, as a doctype sees it. */
export interface VerifiedCommit<Payload = unknown> {
  cid: CID
  kind: 'genesis' | 'update'
  /** The dag-cbor payload (for signed commits, the record the JWS links to). */
  payload: Payload
  /** The DID that signed, when the commit is signed. */
  signer?: string
}

/** The narrow view of the node a doctype may use while applying a commit. No other I/O is allowed. */
export interface DoctypeContext extends AbortOptions {
  /** Loads the state of another document at a pinned CommitID (e.g. a schema). */
  loadDocument(commitId: string): Promise<DocState>
}

/** What the node gives a doctype factory. */
export interface DoctypeComponents {
  logger?: Logger
}

/** A document type: a pure function from a state and a verified commit to the next state. */
export interface DoctypeHandler<Content = unknown> {
  /** The name (for codes 0–4, Ceramic's name: `tile`, `caip10-link`, …). */
  readonly name: string
  /** The DocID type code. */
  readonly code: number
  /**
   * The DIDs that must have signed `commit` for it to apply to `state` (`null` for the genesis); `[]` for commits that
   * are unsigned by design (deterministic genesis).
   */
  signers(state: DocState<Content> | null, commit: VerifiedCommit): readonly string[]
  /** Applies a verified genesis (`state` null) or update. Must not mutate `state`; must not do I/O but through `ctx`. */
  apply(state: DocState<Content> | null, commit: VerifiedCommit, ctx: DoctypeContext): Promise<DocState<Content>>
}

/** A doctype plugin: `tile(init)` returns one of these. */
export type DoctypeFactory<Content = unknown> = (components: DoctypeComponents) => DoctypeHandler<Content>
