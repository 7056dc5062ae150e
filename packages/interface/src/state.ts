import type { AnchorProof, GenesisHeader } from './commits.js'
import type { CID } from 'multiformats/cid'

/** Where a document stands with its anchor service. Numbers are Ceramic's; the JSON form uses the names. */
export const AnchorStatus = {
  NOT_REQUESTED: 0,
  PENDING: 1,
  PROCESSING: 2,
  ANCHORED: 3,
  FAILED: 4,
  REPLACED: 5
} as const
/** One of {@link AnchorStatus}'s values. */
export type AnchorStatus = typeof AnchorStatus[keyof typeof AnchorStatus]

/** The name of an anchor status value (`'ANCHORED'` for 3). */
export function anchorStatusName (status: AnchorStatus): keyof typeof AnchorStatus {
  const entry = Object.entries(AnchorStatus).find(([, value]) => value === status)
  if (entry === undefined) throw new RangeError(`Unknown anchor status ${String(status)}`)
  return entry[0] as keyof typeof AnchorStatus
}

/** Kind of a log entry. Numbers are Ceramic's. */
export const LogEntryType = {
  GENESIS: 0,
  SIGNED: 1,
  ANCHOR: 2
} as const
/** One of {@link LogEntryType}'s values. */
export type LogEntryType = typeof LogEntryType[keyof typeof LogEntryType]

/** How much of the log is signed. Numbers are Ceramic's. */
export const SignatureStatus = {
  GENESIS: 0,
  PARTIAL: 1,
  SIGNED: 2
} as const
/** One of {@link SignatureStatus}'s values. */
export type SignatureStatus = typeof SignatureStatus[keyof typeof SignatureStatus]

/** One commit of a document's log, oldest first. `timestamp` (unix seconds) is set once an anchor covers it. */
export interface LogEntry {
  cid: CID
  type: LogEntryType
  timestamp?: number
}

/** A document's metadata: the genesis header as changed by later updates. */
export interface DocMetadata extends GenesisHeader {
  [extension: string]: unknown
}

/**
 * A condition a rules verdict could not settle when the commit was applied, because it depends on an anchor not yet
 * made: a `deadline` (the commit must be anchored at or before `notAfter`, unix seconds), or `evidence` the verdict
 * relied on that was not anchored yet.
 */
export type ProvisionalCondition =
  | { rule: string, kind: 'deadline', notAfter: number }
  | { rule: string, kind: 'evidence', commitId: string }

/** A commit of the log accepted under conditions its anchor settles (see `docs/rules.md`). */
export interface ProvisionalCommit {
  /** The commit's CID string. */
  commit: string
  conditions: ProvisionalCondition[]
}

/** A commit voided by its anchor: it missed a rule's deadline, so it and the commits after it up to that anchor no longer count. */
export interface VoidedCommit {
  commit: string
  rule: string
  /** The deadline (unix seconds) and the anchor time that missed it. */
  notAfter: number
  anchoredAt: number
}

/** What a document's state and its head share: content, metadata and statuses. `type` is the doctype code. */
export interface DocFields<Content = unknown> {
  type: number
  content: Content
  metadata: DocMetadata
  signature: SignatureStatus
  anchorStatus: AnchorStatus
  anchorProof?: AnchorProof
  /** Commits of a document with rules accepted under conditions not settled yet, oldest first; absent when none. */
  provisional?: ProvisionalCommit[]
  /** Commits voided by a missed deadline, oldest first; absent when none. */
  voided?: VoidedCommit[]
}

/**
 * A document's head: its state without the log, as storage keeps it (small, whatever the log's length). `tip` is the
 * last commit of the log and `logLength` its number of entries.
 */
export interface DocHead<Content = unknown> extends DocFields<Content> {
  genesis: CID
  tip: CID
  logLength: number
}

/** The state of a document after applying its log: its fields and the log, oldest first. */
export interface DocState<Content = unknown> extends DocFields<Content> {
  log: LogEntry[]
}
