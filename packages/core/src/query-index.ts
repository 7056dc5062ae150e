import { parseDocOrCommitID } from '@kiln/docid'
import { LogEntryType, type DocIndexRecord, type LogEntry } from '@kiln/interface'
import { linksOf } from '@kiln/query'
import type { DocRecord } from './documents.js'

/**
 * The query index record of a document as it is after a write: its metadata, content and links, the node's clock for
 * `createdAt`/`updatedAt` (storage keeps the first `createdAt`) and the chain time of its latest anchor.
 */
export function indexRecordOf (record: DocRecord, now: number): DocIndexRecord {
  const { head } = record
  const metadata = head.metadata
  const index: DocIndexRecord = {
    doctype: head.type,
    controllers: [...metadata.controllers],
    tags: Array.isArray(metadata.tags) ? metadata.tags.filter((tag): tag is string => typeof tag === 'string') : [],
    content: head.content,
    links: linksOf(head.content),
    createdAt: now,
    updatedAt: now
  }
  if (typeof metadata.family === 'string') index.family = metadata.family
  const schema = schemaOf(metadata.schema)
  if (schema !== undefined) {
    index.schemaDoc = schema.doc
    index.schemaCommit = schema.commit
  }
  const anchoredAt = lastAnchorTime(record.log)
  if (anchoredAt !== undefined) index.anchoredAt = anchoredAt * 1000
  return index
}

/** The schema a document's metadata names, as its DocID and its exact CommitID; nothing for a value that is not one. */
function schemaOf (value: unknown): { doc: string, commit: string } | undefined {
  if (typeof value !== 'string') return undefined
  try {
    const ref = parseDocOrCommitID(value)
    return { doc: ref.baseID.toString(), commit: ref.toString() }
  } catch {
    return undefined
  }
}

/** The chain time of the latest anchor of a log: the last entry that has a time (entries after it have none). */
function lastAnchorTime (log: readonly LogEntry[]): number | undefined {
  for (let i = log.length - 1; i >= 0; i--) {
    const entry = log[i]!
    if (entry.type === LogEntryType.ANCHOR) return entry.timestamp
    if (entry.timestamp !== undefined) return entry.timestamp
  }
  return undefined
}
