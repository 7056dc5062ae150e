/**
 * Kiln's query engine, pure: {@link parseQuery} turns the user-facing JSON form of a query into the normalized
 * `StorageQuery` backends run; {@link matchesFilter}, {@link sortKey}/{@link compareForSort} and the cursor helpers
 * define what a backend returns, and {@link evaluateQuery} runs a query by full evaluation (the in-memory backend, and
 * the reference the others must agree with). {@link indexRecordOf} makes a document's index record
 * from its head, with {@link linksOf} for its links.
 * @packageDocumentation
 */
export { parseQuery, type ParseQueryOptions } from './parse-query.js'
export { matchesFilter, meetsCondition } from './match.js'
export { valueAt, parsePointer, formatPointer } from './content-path.js'
export { jsonEquals, compareCodePoints } from './json-values.js'
export { sortKey, comparePositions, compareForSort, type SortPosition } from './sort.js'
export { encodeCursor, decodeCursor, MAX_CURSOR_LENGTH } from './cursor.js'
export { evaluateQuery, pageOf, checkPageSize } from './evaluate.js'
export { linksOf, LINK_LIMITS } from './links.js'
export { indexRecordOf, storedIndexRecord, type IndexRecordTimes } from './index-record.js'
