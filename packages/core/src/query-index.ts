import { LogEntryType, type DocIndexRecord, type LogEntry } from '@kiln/interface'
import { indexRecordOf } from '@kiln/query'
import type { DocRecord } from './documents.js'

/**
 * The query index record of a document as it is after a write: `@kiln/query`'s record of its head, with the node's
 * clock for `createdAt`/`updatedAt` (storage keeps the first `createdAt`) and the chain time of its latest anchor.
 */
export function indexRecordOfDocument (record: DocRecord, now: number): DocIndexRecord {
  // A head keeps the proof of its latest anchor: without one, the log has no anchor and need not be read.
  const anchoredAtSeconds = record.head.anchorProof === undefined ? undefined : lastAnchorTime(record.log)
  return indexRecordOf(record.head, { now, anchoredAtSeconds })
}

/** The chain time of the latest anchor of a log: the last entry that has a time (entries after it have none). */
export function lastAnchorTime (log: readonly LogEntry[]): number | undefined {
  for (let i = log.length - 1; i >= 0; i--) {
    const entry = log[i]!
    if (entry.type === LogEntryType.ANCHOR) return entry.timestamp
    if (entry.timestamp !== undefined) return entry.timestamp
  }
  return undefined
}
