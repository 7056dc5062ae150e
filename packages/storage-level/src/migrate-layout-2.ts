import { LogEntryType, StorageError } from '@kiln/interface'
import type { DocHead, DocIndexRecord, Logger } from '@kiln/interface'
import { decodeHeadRecord, looksLikeDocHead } from '@kiln/codec'
import { indexRecordOf, storedIndexRecord } from '@kiln/query'
import type { Database, Operation } from './database.js'
import { LAYOUT_KEY, docIdOfKey, headRange, indexRecordKey, logEntryKey, logRange } from './key-layout.js'
import { indexRecordWrites } from './query-index.js'
import { decodeLogEntry } from './values.js'

// Layout 3 is layout 2 with an index record ('x', and its 'i' and 't' keys) for every document that has a head.
// Layout-2 stores written before the query index existed hold documents without one, which queries would miss.

/** Documents examined per batch: bounds a batch's size, and what a migration stopped by a failed write redoes. */
export const INDEX_BATCH_SIZE = 500

/** What {@link migrateFromLayout2} needs besides the database. */
export interface MigrateLayout2Options {
  path: string
  logger?: Logger
  /** Writes one batch. */
  write: (operations: Operation[]) => Promise<void>
  /** The migration's clock, milliseconds: the `createdAt` and `updatedAt` of the records it writes. */
  now: number
}

/**
 * Rewrites a layout-2 database as layout 3: each document with a head and no index record gets the record
 * `@kiln/query`'s `indexRecordOf` makes of its head, anchored at its log's latest anchor time, created and updated at
 * `now` (when the store was indexed: the time a document was first seen was never kept). Documents go
 * {@link INDEX_BATCH_SIZE} at a time, one LevelDB batch each, through the index writes a commit makes; the last batch
 * also sets the version to 3. A migration stopped half-way is finished by the next one, which skips the documents
 * that have a record. Returns how many documents it indexed.
 */
export async function migrateFromLayout2 (db: Database, options: MigrateLayout2Options): Promise<number> {
  const { path, logger, write, now } = options
  let indexed = 0
  let examined = 0
  const heads = db.iterator(headRange())
  try {
    let chunk = await nextChunk(heads)
    while (true) {
      const { operations, documents } = await indexWritesOf(db, path, chunk, now)
      // Read ahead one chunk: the batch of the last one is the one that sets the version.
      const next = chunk.length === 0 ? [] : await nextChunk(heads)
      if (next.length === 0) operations.push({ type: 'put', key: LAYOUT_KEY, value: Uint8Array.of(3) })
      if (operations.length > 0) await write(operations)
      indexed += documents
      examined += chunk.length
      if (next.length === 0) return indexed
      logger?.info({ path, examined, indexed }, 'indexing the LevelDB store for queries (key layout 2 to 3)')
      chunk = next
    }
  } finally {
    await heads.close().catch(() => {})
  }
}

/** The next {@link INDEX_BATCH_SIZE} heads, fewer only at the end: one `nextv` may give fewer (it is bounded in bytes too). */
async function nextChunk (heads: { nextv: (size: number) => Promise<Array<[Uint8Array, Uint8Array]>> }): Promise<Array<[Uint8Array, Uint8Array]>> {
  const chunk: Array<[Uint8Array, Uint8Array]> = []
  while (chunk.length < INDEX_BATCH_SIZE) {
    const more = await heads.nextv(INDEX_BATCH_SIZE - chunk.length)
    if (more.length === 0) break
    chunk.push(...more)
  }
  return chunk
}

/** The index writes of the documents of `heads` that have no index record yet, and how many they are. */
async function indexWritesOf (db: Database, path: string, heads: Array<[Uint8Array, Uint8Array]>, now: number): Promise<{ operations: Operation[], documents: number }> {
  const docIds = heads.map(([key]) => {
    try {
      return docIdOfKey(key)
    } catch (err) {
      throw failure(path, 'a head key', 'it does not end in a UTF-8 document ID', err)
    }
  })
  const stored = await db.getMany(docIds.map(indexRecordKey))
  const missing: Array<{ docId: string, head: DocHead }> = []
  for (const [i, docId] of docIds.entries()) {
    if (stored[i] === undefined) missing.push({ docId, head: await decodeHead(path, docId, heads[i]![1]) })
  }
  // The last entry of every log in one read: it settles most documents (an anchor entry, or a genesis alone); only
  // the others read their log backwards, one iterator each, which costs far more than a key of a getMany.
  const lastEntries = await db.getMany(missing.map(({ docId, head }) => logEntryKey(docId, head.logLength - 1)))
  // All at once: a log read backwards waits on LevelDB's thread pool, and one at a time those waits would add up.
  const anchorTimes = await Promise.all(missing.map(async ({ docId, head }, i) => await latestAnchorTime(db, path, docId, head.logLength, lastEntries[i])))
  const operations: Operation[] = []
  for (const [i, { docId, head }] of missing.entries()) {
    const anchoredAtSeconds = anchorTimes[i]
    let record: DocIndexRecord
    try {
      record = storedIndexRecord(indexRecordOf(head, { now, anchoredAtSeconds }))
    } catch (err) {
      throw failure(path, docId, 'its head does not make an index record', err)
    }
    operations.push(...indexRecordWrites(docId, record, undefined).operations)
  }
  return { operations, documents: missing.length }
}

/** A stored head, checked. */
async function decodeHead (path: string, docId: string, bytes: Uint8Array): Promise<DocHead> {
  let head: unknown
  try {
    head = await decodeHeadRecord(bytes)
  } catch (err) {
    throw failure(path, docId, 'its head does not decode', err)
  }
  if (!looksLikeDocHead(head) || head.logLength < 1) throw failure(path, docId, 'its head is not a document head', undefined)
  return head
}

/**
 * The chain time of a document's latest anchor, read from the end of its stored log: the time of the last entry that
 * is an anchor or has a time (only anchor entries carry one), as the core reads it from a loaded log. `last` is the
 * entry at the head's last position, read already; when it is missing (a log that disagrees with its head) the whole
 * log is read from its end.
 */
async function latestAnchorTime (db: Database, path: string, docId: string, logLength: number, last: Uint8Array | undefined): Promise<number | undefined> {
  const settled = (bytes: Uint8Array): { time: number | undefined } | undefined => {
    let entry
    try {
      entry = decodeLogEntry(bytes)
    } catch (err) {
      throw failure(path, docId, 'a log entry is not one', err)
    }
    return entry.type === LogEntryType.ANCHOR || entry.timestamp !== undefined ? { time: entry.timestamp } : undefined
  }
  if (last !== undefined) {
    const found = settled(last)
    if (found !== undefined) return found.time
    if (logLength === 1) return undefined
  }
  for await (const bytes of db.values({ ...logRange(docId, 0, last === undefined ? undefined : logLength - 1), reverse: true })) {
    const found = settled(bytes)
    if (found !== undefined) return found.time
  }
  return undefined
}

function failure (path: string, what: string, why: string, err: unknown): StorageError {
  return new StorageError(
    `Cannot index ${what} in the LevelDB store at ${path} for key layout 3: ${why}${err instanceof Error ? `: ${err.message}` : ''}`,
    { cause: err, details: { operation: 'migrate', key: what, path } }
  )
}
