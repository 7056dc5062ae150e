import { QueryTooBroadError } from '@kiln/interface'
import type { DocIndexRecord, QueryFilter, StorageQuery, StorageQueryPage, TimeRange } from '@kiln/interface'
import { checkPageSize, comparePositions, decodeCursor, encodeCursor, matchesFilter, pageOf, sortKey } from '@kiln/query'
import type { SortPosition } from '@kiln/query'
import type { Database, Operation } from './database.js'
import {
  decodeTimeKey, docIdAfter, indexRecordKey, indexRecordRange, prefixRange, termKey, termPrefix, timeKey, timeRange, timeSpan,
  type KeyRange, type TermField, type TimeField
} from './key-layout.js'
import { latin1String } from '@kiln/codec'

/** How many examined records one query may cost by default (see `LevelStorageInit.maxScan`). */
export const DEFAULT_MAX_SCAN = 10_000

/** Records read from LevelDB at a time while scanning. */
const CHUNK = 256

const utf8 = new TextEncoder()
const EMPTY = new Uint8Array(0)
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/** The secondary and time keys of a document's index record: written with it, deleted when it is replaced. */
export function indexKeysOf (docId: string, record: DocIndexRecord): Uint8Array[] {
  const keys: Uint8Array[] = [termKey('doctype', String(record.doctype), docId)]
  const terms = (field: TermField, values: Iterable<string>): void => {
    for (const value of new Set(values)) keys.push(termKey(field, value, docId))
  }
  terms('controller', record.controllers)
  terms('tag', record.tags)
  terms('link', record.links)
  if (record.family !== undefined) terms('family', [record.family])
  if (record.schemaDoc !== undefined) terms('schemaDoc', [record.schemaDoc])
  if (record.schemaCommit !== undefined) terms('schemaCommit', [record.schemaCommit])
  keys.push(timeKey('created', record.createdAt, docId), timeKey('updated', record.updatedAt, docId), timeKey('anchored', record.anchoredAt, docId))
  return keys
}

/**
 * The writes that store `record` as a document's index record in place of `old`, its stored one if any: the first
 * `createdAt` is kept, the old record's secondary keys go and the new one's come. Returns them with the record stored.
 */
export function indexRecordWrites (docId: string, record: DocIndexRecord, old: IndexedKeys | undefined): { stored: DocIndexRecord, keys: IndexedKeys, operations: Operation[] } {
  const stored = old === undefined ? record : { ...record, createdAt: old.createdAt }
  const keys = indexKeysOf(docId, stored)
  const operations: Operation[] = [{ type: 'put', key: indexRecordKey(docId), value: encodeIndexRecord(stored) }]
  // Only the keys that change: an update of the content alone moves the `updated` time key and nothing else.
  const before = new Set(old?.keys.map(keyString))
  const after = new Set(keys.map(keyString))
  for (const key of old?.keys ?? []) if (!after.has(keyString(key))) operations.push({ type: 'del', key })
  for (const key of keys) if (!before.has(keyString(key))) operations.push({ type: 'put', key, value: EMPTY })
  return { stored, keys: { createdAt: stored.createdAt, keys }, operations }
}

/** What a replacement of a document's index record needs of the one stored: its first `createdAt` and its keys. */
export interface IndexedKeys {
  createdAt: number
  keys: Uint8Array[]
}

/** The {@link IndexedKeys} of a stored record. */
export function indexedKeysOf (docId: string, record: DocIndexRecord): IndexedKeys {
  return { createdAt: record.createdAt, keys: indexKeysOf(docId, record) }
}

/** A key as a string that compares equal exactly when the bytes do. */
function keyString (key: Uint8Array): string {
  return latin1String(key)
}

/** An index record as stored under its `x` key. */
export function encodeIndexRecord (record: DocIndexRecord): Uint8Array {
  return utf8.encode(JSON.stringify(record))
}

/** The record {@link encodeIndexRecord} wrote. Throws on bytes it did not write. */
export function decodeIndexRecord (bytes: Uint8Array): DocIndexRecord {
  const record = JSON.parse(utf8Decoder.decode(bytes)) as DocIndexRecord
  if (record === null || typeof record !== 'object' || typeof record.createdAt !== 'number' || !Array.isArray(record.tags)) {
    throw new TypeError('it is not an index record')
  }
  return record
}

/** What a query run needs from the store: its database, its bound, how it reads records and checks the signal. */
export interface QueryContext {
  db: Database
  maxScan: number
  /** The records of these documents (`undefined` for one without a record), in order. */
  readRecords(docIds: string[]): Promise<Array<DocIndexRecord | undefined>>
  /** Throws `AbortError` once the caller's signal has fired. */
  checkAborted(): void
}

/**
 * Runs a query on the LevelDB index. Plan: when the filter (or a member of its top-level `and`) is an indexed equality
 * term listing at most `maxScan` documents, the most selective one's documents are read and evaluated in full (an
 * exact page and count). Otherwise a sort by time streams along that time's keys, examining at most `maxScan` records
 * per call (a short page then continues from its cursor); a count or a content sort evaluates every document in full
 * when there are at most `maxScan`, and is a `QueryTooBroadError` when there are more.
 */
export async function runQuery (query: StorageQuery, context: QueryContext): Promise<StorageQueryPage> {
  checkPageSize(query.first)
  const after = query.after === undefined ? undefined : decodeCursor(query.after, query.sort)
  const indexed = await indexedCandidates(query.filter, context)
  if (indexed !== undefined) return await evaluate(indexed, query, after, context)
  // A time-sorted page streams (on a small store, to the end: an exact page); a count or a content sort needs every
  // candidate at once, which is all of them.
  if (query.count !== true && query.sort.by !== 'content') return await stream(query, query.sort.by, after, context)
  const all = await allDocuments(context)
  if (all !== undefined) return await evaluate(all, query, after, context)
  throw new QueryTooBroadError(`This query would examine more than ${context.maxScan} documents${query.count === true ? ' to count them' : ' to sort them by content'}: add a doctype, controller, family, tags, schema or linksTo filter that matches fewer`, {
    details: { maxScan: context.maxScan }
  })
}

/** Reads and evaluates `docIds` in full: the exact page, and count. */
async function evaluate (docIds: string[], query: StorageQuery, after: SortPosition | undefined, context: QueryContext): Promise<StorageQueryPage> {
  const matches: SortPosition[] = []
  for (let from = 0; from < docIds.length; from += CHUNK) {
    context.checkAborted()
    const ids = docIds.slice(from, from + CHUNK)
    const records = await context.readRecords(ids)
    records.forEach((record, i) => {
      if (record !== undefined && (query.filter === undefined || matchesFilter(record, query.filter))) matches.push({ key: sortKey(record, query.sort), id: ids[i]! })
    })
  }
  matches.sort((a, b) => comparePositions(a, b, query.sort))
  return pageOf(matches, query, after)
}

/**
 * Streams along the time keys of `field` from the cursor on, in the sort's direction (documents without the time
 * after the others, both ways), until the page and one more match are found, the keys end, or `maxScan` records were
 * examined. The cursor of a short page is the last document examined.
 */
async function stream (query: StorageQuery, field: TimeField, after: SortPosition | undefined, context: QueryContext): Promise<StorageQueryPage> {
  const reverse = query.sort.order === 'desc'
  const found: SortPosition[] = []
  let examined = 0
  let last: SortPosition | undefined
  // A range on the sorted time at the top of the filter narrows the scan, and rules out documents without the time.
  const span = spanOf(query.filter, field)
  for (const present of field === 'anchored' && span === undefined ? [true, false] : [true]) {
    const range = present ? timeSpan(field, span?.after, span?.before) : timeRange(field, false)
    // Where the cursor is: in the keys with a time (a number), or after all of them (null).
    let from: Uint8Array | undefined
    if (after !== undefined) {
      if (present && after.key === null) continue
      if (present) from = timeKey(field, after.key as number, after.id)
      else if (after.key === null) from = timeKey(field, undefined, after.id)
    }
    const bounds: { gt?: Uint8Array, gte?: Uint8Array, lt?: Uint8Array, reverse: boolean } = { reverse }
    if (reverse) {
      bounds.gte = range.gte
      bounds.lt = from === undefined || compareBytes(range.lt, from) < 0 ? range.lt : from
    } else {
      bounds.lt = range.lt
      if (from === undefined || compareBytes(from, range.gte) < 0) bounds.gte = range.gte
      else bounds.gt = from
    }
    const iterator = context.db.keys(bounds)
    try {
      while (examined < context.maxScan && found.length <= query.first) {
        context.checkAborted()
        const keys = await iterator.nextv(Math.min(CHUNK, context.maxScan - examined))
        if (keys.length === 0) break
        const positions = keys.map((key) => {
          const { time, docId } = decodeTimeKey(key, present)
          return { key: time ?? null, id: docId }
        })
        const records = await context.readRecords(positions.map((p) => p.id))
        for (const [i, position] of positions.entries()) {
          examined++
          last = position
          const record = records[i]
          if (record !== undefined && (query.filter === undefined || matchesFilter(record, query.filter))) {
            found.push(position)
            if (found.length > query.first) break
          }
        }
      }
    } finally {
      await iterator.close().catch(() => {})
    }
    if (found.length > query.first || examined >= context.maxScan) break
  }
  if (found.length > query.first) {
    const page = found.slice(0, query.first)
    return { ids: page.map((p) => p.id), hasNextPage: true, endCursor: encodeCursor(query.sort, page.at(-1)!) }
  }
  if (examined >= context.maxScan && last !== undefined) {
    return { ids: found.map((p) => p.id), hasNextPage: true, endCursor: encodeCursor(query.sort, last) }
  }
  return { ids: found.map((p) => p.id), hasNextPage: false }
}

/** The intersection of the ranges on `field` at the top of `filter` (itself or its top-level `and`), if any. */
function spanOf (filter: QueryFilter | undefined, field: TimeField): TimeRange | undefined {
  if (filter === undefined) return undefined
  let span: TimeRange | undefined
  for (const term of 'and' in filter ? filter.and : [filter]) {
    const range = field in term ? (term as Record<TimeField, TimeRange>)[field] : undefined
    if (range === undefined) continue
    span ??= {}
    if (range.after !== undefined) span.after = Math.max(span.after ?? -Infinity, range.after)
    if (range.before !== undefined) span.before = Math.min(span.before ?? Infinity, range.before)
  }
  return span
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.byteLength - b.byteLength
}

/**
 * The indexed equality terms of one filter: each a list of (field, value) whose documents together are the term's
 * candidates. None for a filter that is not an indexed equality.
 */
function termRanges (filter: QueryFilter): Array<Array<[TermField, string]>> {
  if ('doctype' in filter) return [[['doctype', String(filter.doctype)]]]
  if ('controller' in filter) return [[['controller', filter.controller]]]
  if ('family' in filter) return [[['family', filter.family]]]
  if ('linksTo' in filter) return [[['link', filter.linksTo]]]
  if ('schema' in filter) return [['doc' in filter.schema ? ['schemaDoc', filter.schema.doc] : ['schemaCommit', filter.schema.commit]]]
  if ('tags' in filter) {
    // Every tag of `all` is a term of its own; the tags of `any` together are one (their union).
    return 'all' in filter.tags ? filter.tags.all.map((tag) => [['tag', tag]]) : [filter.tags.any.map((tag) => ['tag', tag])]
  }
  return []
}

/**
 * The DocIDs of the most selective indexed equality term of `filter` (itself, or a member of its top-level `and`),
 * when one lists at most `maxScan`; `undefined` when there is no such term.
 */
async function indexedCandidates (filter: QueryFilter | undefined, context: QueryContext): Promise<string[] | undefined> {
  if (filter === undefined) return undefined
  const terms = ('and' in filter ? filter.and : [filter]).flatMap(termRanges)
  let best: string[] | undefined
  for (const term of terms) {
    const limit = Math.min(context.maxScan, best === undefined ? Infinity : best.length - 1)
    if (limit < 0) break
    const ids = await listTerm(term, limit, context)
    if (ids !== undefined) best = ids
  }
  return best
}

/** The DocIDs listed under the union of `term`'s values, or `undefined` when there are more than `limit`. */
async function listTerm (term: Array<[TermField, string]>, limit: number, context: QueryContext): Promise<string[] | undefined> {
  const ids = new Set<string>()
  for (const [field, value] of term) {
    context.checkAborted()
    const prefix = termPrefix(field, value)
    const keys = await context.db.keys({ ...prefixRange(prefix), limit: limit + 1 }).all()
    for (const key of keys) ids.add(docIdAfter(key, prefix.byteLength))
    if (ids.size > limit) return undefined
  }
  return [...ids]
}

/** Every indexed document, when there are at most `maxScan`; `undefined` when there are more. */
async function allDocuments (context: QueryContext): Promise<string[] | undefined> {
  context.checkAborted()
  const range: KeyRange = indexRecordRange()
  const keys = await context.db.keys({ ...range, limit: context.maxScan + 1 }).all()
  if (keys.length > context.maxScan) return undefined
  return keys.map((key) => docIdAfter(key, 1))
}
