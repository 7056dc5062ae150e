/** A JSON Patch operation name. */
export type PatchOpName = 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test'

/** Who must have signed: a parsed `who` clause. */
export type WhoClause =
  | { readonly kind: 'signers', readonly anyOf: readonly string[] }
  | { readonly kind: 'threshold', readonly threshold: number, readonly of: readonly string[] }
  | { readonly kind: 'membersOf', readonly evidence: string, readonly doc: string, readonly path: string }
  | { readonly kind: 'capability', readonly issuers?: readonly string[] }
  | { readonly kind: 'controllers' }
  | { readonly kind: 'allOf', readonly clauses: readonly WhoClause[] }
  | { readonly kind: 'anyOf', readonly clauses: readonly WhoClause[] }

/** A JSON Schema a rule holds, with the hash its compiled form is cached under. */
export interface RuleSchema {
  readonly schema: Readonly<Record<string, unknown>>
  readonly hash: string
}

/** How the transition may change what the rule governs. */
export interface HowClause {
  readonly paths?: readonly string[]
  readonly ops?: readonly PatchOpName[]
  readonly appendOnly: boolean
  readonly compareAndSet: boolean
  readonly transition?: RuleSchema
}

/** Evidence a rule requires: the update's `header.evidence[evidence]` must be a commit of `doc` whose content matches `require`. */
export interface EvidenceCondition {
  readonly evidence: string
  readonly doc: string
  readonly require?: RuleSchema
}

/** When the transition may happen, and what must hold elsewhere. */
export interface WhenClause {
  readonly evidence: readonly EvidenceCondition[]
  readonly notBefore?: number
  readonly notAfter?: number
}

/** One parsed rule. */
export interface Rule {
  readonly name: string
  readonly description?: string
  /** Scope: the path patterns the rule governs; absent, the rule applies to every transition. */
  readonly paths?: readonly string[]
  readonly who?: WhoClause
  readonly how?: HowClause
  readonly when?: WhenClause
}

/** A parsed, checked rule set: what `parseRules` returns and `evaluateRules` takes. */
export interface RuleSet {
  readonly version: 1
  readonly default: 'deny' | 'allow'
  readonly rules: readonly Rule[]
}

/** Metadata of a document as rules see it. */
export interface TransitionMetadata {
  controllers: readonly string[]
  family?: string
  tags?: readonly string[]
  schema?: string
  rules?: string
  [field: string]: unknown
}

/** One update as the rules judge it. */
export interface TransitionInput {
  docId: string
  /** The update's CID string. */
  commit: string
  /** State at the commit's prev; `tip` is the prev CID string. */
  before: { content: unknown, metadata: TransitionMetadata, tip: string }
  /** What the doctype computed. */
  after: { content: unknown, metadata: TransitionMetadata }
  /** The update's JSON Patch operations exactly as in the commit (RFC 6902 objects). */
  patch: readonly unknown[]
  /** Verified signer DIDs in signature order; may contain duplicates. */
  signers: readonly string[]
  /** The subset of signers whose signature was made through a CACAO session key (did:pkh issuers). */
  capabilitySigners: readonly string[]
  /** The update's `header.evidence`: a name → a CommitID string. */
  evidence: Readonly<Record<string, string>>
  /** Unix seconds: the chain time of the document's latest anchor at prev. */
  prevAnchoredAt?: number
}

/** The state of an evidence document at the cited commit. */
export interface EvidenceState {
  docId: string
  commitId: string
  content: unknown
  metadata: TransitionMetadata
  /** Chain time of the anchor covering that commit, if any. */
  anchoredAt?: number
}

/** Loads evidence; the core implements it and checks that the commit belongs to that document's log. */
export interface EvidenceReader {
  load(commitId: string): Promise<EvidenceState>
}

/** A condition a verdict depends on that only a later anchor decides. */
export type ProvisionalCondition =
  | { rule: string, kind: 'deadline', notAfter: number }
  | { rule: string, kind: 'evidence', commitId: string }

/** An accepted transition: the rules that applied, and what later anchors must still confirm. */
export interface Verdict {
  /** Names of the rules that applied, sorted. */
  rules: string[]
  provisional: ProvisionalCondition[]
  /** The changed paths the verdict judged (JSON Pointers and metadata pseudo-paths), sorted. */
  paths: string[]
}

/** Bounds of one evaluation. */
export interface EvaluateLimits {
  /** Evidence documents loaded at most (default 8). */
  maxEvidence?: number
  /** Units of work at most (default 10 000). */
  maxSteps?: number
  /** Wall-clock bound in ms (default 5 000): a guard for the node, not part of the verdict. */
  timeoutMs?: number
}
