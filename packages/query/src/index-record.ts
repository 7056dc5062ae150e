import { parseDocOrCommitID } from '@kiln/docid'
import type { DocHead, DocIndexRecord } from '@kiln/interface'
import { linksOf } from './links.js'

/** The times of an index record that the head does not hold. */
export interface IndexRecordTimes {
  /** The node's clock, milliseconds: `createdAt` and `updatedAt` (a backend keeps the first `createdAt` it was given). */
  now: number
  /** The chain time of the document's latest anchor, unix seconds; absent if never anchored. */
  anchoredAtSeconds?: number
}

/**
 * The query index record of a document with this head: its metadata, content and links, `now` for `createdAt` and
 * `updatedAt`, and the latest anchor's chain time in milliseconds. The one mapping from a head to a record: the core
 * writes it with every head, and a backend indexing documents it already holds builds it the same way.
 */
export function indexRecordOf (head: DocHead, times: IndexRecordTimes): DocIndexRecord {
  const metadata = head.metadata
  const record: DocIndexRecord = {
    doctype: head.type,
    controllers: [...metadata.controllers],
    tags: Array.isArray(metadata.tags) ? metadata.tags.filter((tag): tag is string => typeof tag === 'string') : [],
    content: head.content,
    links: linksOf(head.content),
    createdAt: times.now,
    updatedAt: times.now
  }
  if (typeof metadata.family === 'string') record.family = metadata.family
  const schema = schemaOf(metadata.schema)
  if (schema !== undefined) {
    record.schemaDoc = schema.doc
    record.schemaCommit = schema.commit
  }
  if (times.anchoredAtSeconds !== undefined) record.anchoredAt = times.anchoredAtSeconds * 1000
  return record
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

/**
 * A backend's own copy of an index record, as it stores it: its JSON form (a value's `toJSON` applied, `undefined`
 * properties dropped), checked. Throws `TypeError` naming the field for a record a backend must not store; the
 * backend turns that into the `StorageError` that fails the batch.
 */
export function storedIndexRecord (record: DocIndexRecord): DocIndexRecord {
  if (record === null || typeof record !== 'object') throw new TypeError('the index record is not an object')
  const copy = JSON.parse(JSON.stringify(record) ?? 'null') as DocIndexRecord
  const strings = (value: unknown, field: string): void => {
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new TypeError(`its ${field} is not an array of strings`)
  }
  const time = (value: unknown, field: string): void => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`its ${field} is not a finite number of milliseconds`)
  }
  if (typeof record.doctype !== 'number' || !Number.isSafeInteger(record.doctype) || record.doctype < 0) throw new TypeError('its doctype is not a doctype code')
  strings(record.controllers, 'controllers')
  strings(record.tags, 'tags')
  strings(record.links, 'links')
  for (const field of ['family', 'schemaDoc', 'schemaCommit'] as const) {
    if (record[field] !== undefined && typeof record[field] !== 'string') throw new TypeError(`its ${field} is not a string`)
  }
  time(record.createdAt, 'createdAt')
  time(record.updatedAt, 'updatedAt')
  if (record.anchoredAt !== undefined) time(record.anchoredAt, 'anchoredAt')
  if (copy.content === undefined) copy.content = null
  return copy
}
