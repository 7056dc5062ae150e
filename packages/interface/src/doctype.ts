import type { AbortOptions, Logger } from './lifecycle.js'
import type { DocMetadata, DocState } from './state.js'
import type { CID } from 'multiformats/cid'

/** A commit after the core has decoded it and checked its signature (if it has one), as a doctype sees it. */
export interface VerifiedCommit<Payload = unknown> {
  /** The commit's CID (the dag-jose envelope's for signed commits). */
  cid: CID
  kind: 'genesis' | 'update'
  /** The dag-cbor record (for signed commits, the record the JWS links to). */
  payload: Payload
  /** The DID that signed, when the commit is signed (the first signer of a commit signed by several). */
  signer?: string
  /** Every DID that signed, in signature order (a commit may carry several signatures; a DID may repeat). */
  signers?: readonly string[]
  /**
   * True when the document names a rules document: the pipeline's rules stage, not the controllers, decides who may
   * write, and judges the transition the doctype returns. A doctype then skips its own signer-is-controller check.
   */
  authorizedByRules?: boolean
}

/** The narrow view of the node a doctype may use while applying a commit. No other I/O is allowed. */
export interface DoctypeContext extends AbortOptions {
  /** Loads the state of another document at a pinned CommitID string (e.g. a schema). */
  loadDocument(commitId: string, options?: AbortOptions): Promise<DocState>
}

/** What the node gives a doctype factory. */
export interface DoctypeComponents {
  logger?: Logger
}

/** The part of a state a doctype decides: the rest (log, anchor status) belongs to the core. */
export interface DoctypeResult<Content = unknown> {
  content: Content
  metadata: DocMetadata
}

/** A document type: pure functions from a state and a verified commit to the next content and metadata. */
export interface DoctypeHandler<Content = unknown> {
  /** The name (for codes 0–4, Ceramic's name: `tile`, `caip10-link`, …). */
  readonly name: string
  /** The DocID type code. */
  readonly code: number
  /**
   * The DIDs one of which must have signed a commit with this payload for it to apply to `state` (`null` for a
   * genesis); `[]` when the commit is valid unsigned (a deterministic genesis, a self-proving update).
   */
  signers(state: DocState<Content> | null, payload: unknown): readonly string[]
  /**
   * Applies a verified genesis (`state` null) or update, returning the new content and metadata. Must not mutate
   * `state`; must do no I/O but through `ctx`; rejects with a named error (`DoctypeRuleError`, `SchemaValidationError`).
   */
  apply(state: DocState<Content> | null, commit: VerifiedCommit, ctx: DoctypeContext): Promise<DoctypeResult<Content>>
}

/** A doctype plugin: `tile(init)` returns one of these. */
export type DoctypeFactory<Content = unknown> = (components: DoctypeComponents) => DoctypeHandler<Content>

/** A node's doctypes by code and by name. */
export interface DoctypeRegistry {
  /** The handler for a code or name; throws `UnknownDoctypeError` when none is registered. */
  get(codeOrName: number | string): DoctypeHandler
  has(codeOrName: number | string): boolean
  list(): DoctypeHandler[]
}
