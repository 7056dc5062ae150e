import { docStateToJSON } from '@kiln/codec'
import { AnchorStatus, anchorStatusName, LogEntryType, type Block, type DocHead, type LogEntry, type StoredLogEntry } from '@kiln/interface'

/** The name of a log entry type as the warehouse stores it (`GENESIS`, `SIGNED`, `ANCHOR`). */
export function entryTypeName (type: number): string {
  return Object.entries(LogEntryType).find(([, value]) => value === type)?.[0] ?? String(type)
}

/** The log entry type of a stored name; undefined for a name no log entry has. */
export function entryTypeOf (name: string): number | undefined {
  return Object.hasOwn(LogEntryType, name) ? LogEntryType[name as keyof typeof LogEntryType] : undefined
}

/** A log as the state shows it: each entry's time is that of the first anchor at or after it. */
export function logWithTimes (stored: readonly StoredLogEntry[]): LogEntry[] {
  const log: LogEntry[] = stored.map((e) => ({ cid: e.cid, type: e.type }))
  let time: number | undefined
  for (let i = stored.length - 1; i >= 0; i--) {
    const entry = stored[i]!
    if (entry.type === LogEntryType.ANCHOR && entry.timestamp !== undefined) time = entry.timestamp
    if (time !== undefined) log[i]!.timestamp = time
  }
  return log
}

/** One row of `documents`, as the mirror upserts it. */
export interface DocumentRow {
  docId: string
  doctype: number
  genesis: string
  tip: string
  logLength: number
  controller: string | null
  family: string | null
  schemaId: string | null
  tags: string[]
  anchorStatus: string
  anchoredAt: Date | null
  content: string
  metadata: string
  state: string
}

/** One row of `log_entries`. */
export interface LogEntryRow {
  docId: string
  seq: number
  cid: string
  entryType: string
  anchoredAt: Date | null
  blocks: string[]
}

/** The `documents` row of a head and its log. */
export function documentRow (docId: string, head: DocHead, stored: readonly StoredLogEntry[]): DocumentRow {
  const log = logWithTimes(stored)
  const state = docStateToJSON({ type: head.type, content: head.content, metadata: head.metadata, signature: head.signature, anchorStatus: head.anchorStatus, ...(head.anchorProof === undefined ? {} : { anchorProof: head.anchorProof }), log })
  const controllers = head.metadata.controllers
  const time = head.anchorStatus === AnchorStatus.ANCHORED ? log[log.length - 1]?.timestamp : undefined
  return {
    docId,
    doctype: head.type,
    genesis: head.genesis.toString(),
    tip: head.tip.toString(),
    logLength: head.logLength,
    controller: Array.isArray(controllers) && typeof controllers[0] === 'string' ? controllers[0] : null,
    family: typeof head.metadata.family === 'string' ? head.metadata.family : null,
    schemaId: typeof head.metadata.schema === 'string' ? head.metadata.schema : null,
    tags: Array.isArray(head.metadata.tags) ? head.metadata.tags.filter((t): t is string => typeof t === 'string') : [],
    anchorStatus: anchorStatusName(head.anchorStatus),
    anchoredAt: time === undefined ? null : new Date(time * 1000),
    content: JSON.stringify(state.content ?? null),
    metadata: JSON.stringify(state.metadata),
    state: JSON.stringify(state)
  }
}

/** The `log_entries` row of entry `seq` (only an anchor entry has a time), with the CIDs of the blocks the commit needs. */
export function logEntryRow (docId: string, seq: number, entry: StoredLogEntry, blocks: readonly Block[]): LogEntryRow {
  return {
    docId,
    seq,
    cid: entry.cid.toString(),
    entryType: entryTypeName(entry.type),
    anchoredAt: entry.timestamp === undefined ? null : new Date(entry.timestamp * 1000),
    blocks: blocks.map((b) => b.cid.toString())
  }
}
