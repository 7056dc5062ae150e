import { InvalidQueryError, QUERY_LIMITS } from '@kiln/interface'
import type { DocIndexRecord, StorageQuery, StorageQueryPage } from '@kiln/interface'
import { decodeCursor, encodeCursor } from './cursor.js'
import { matchesFilter } from './match.js'
import { comparePositions, sortKey } from './sort.js'
import type { SortPosition } from './sort.js'

/**
 * Runs `query` over every record by full evaluation: filter, sort, the page after the cursor, the count. What an
 * in-memory backend does, and the reference any other backend's answers must equal.
 */
export function evaluateQuery (records: Iterable<readonly [string, DocIndexRecord]>, query: StorageQuery): StorageQueryPage {
  checkPageSize(query.first)
  const after = query.after === undefined ? undefined : decodeCursor(query.after, query.sort)
  const matches: SortPosition[] = []
  for (const [id, record] of records) {
    if (query.filter === undefined || matchesFilter(record, query.filter)) matches.push({ key: sortKey(record, query.sort), id })
  }
  matches.sort((a, b) => comparePositions(a, b, query.sort))
  return pageOf(matches, query, after)
}

/**
 * The page of `query` from `matches` (every matching position, in order): the first `query.first` after the cursor
 * position `after`, whether more follow, and the count when asked.
 */
export function pageOf (matches: readonly SortPosition[], query: StorageQuery, after: SortPosition | undefined): StorageQueryPage {
  let start = 0
  if (after !== undefined) {
    // The first position past the cursor: a binary search, since matches are in order.
    let high = matches.length
    while (start < high) {
      const middle = (start + high) >>> 1
      if (comparePositions(matches[middle]!, after, query.sort) <= 0) start = middle + 1
      else high = middle
    }
  }
  const page = matches.slice(start, start + query.first)
  const hasNextPage = start + query.first < matches.length
  const result: StorageQueryPage = { ids: page.map((position) => position.id), hasNextPage }
  if (hasNextPage) result.endCursor = encodeCursor(query.sort, page.at(-1)!)
  if (query.count === true) result.count = matches.length
  return result
}

/** Refuses a page size outside 1 to `QUERY_LIMITS.maxPageSize` with `InvalidQueryError` (field `first`). */
export function checkPageSize (first: unknown): void {
  if (typeof first !== 'number' || !Number.isInteger(first) || first < 1 || first > QUERY_LIMITS.maxPageSize) {
    throw new InvalidQueryError(`Invalid query: first must be an integer from 1 to ${QUERY_LIMITS.maxPageSize}, not ${String(first)}`, { details: { field: 'first' } })
  }
}
