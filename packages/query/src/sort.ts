import type { DocIndexRecord, QuerySort } from '@kiln/interface'
import { valueAt } from './content-path.js'
import { compareCodePoints } from './json-values.js'

/**
 * Where a document sorts: its key under a sort (a time, a number or string at a content path, or `null` when missing
 * or of another type) and its DocID, which breaks ties. Cursors hold one.
 */
export interface SortPosition {
  key: number | string | null
  id: string
}

/** The sort key of `record` under `sort`: its time, or its number or string at the content path; `null` when none. */
export function sortKey (record: DocIndexRecord, sort: QuerySort): number | string | null {
  switch (sort.by) {
    case 'created': return record.createdAt
    case 'updated': return record.updatedAt
    case 'anchored': return record.anchoredAt ?? null
    case 'content': {
      const value = valueAt(record.content, sort.path)
      return typeof value === 'number' || typeof value === 'string' ? value : null
    }
  }
}

/**
 * Compares two positions in the order of `sort`: present keys ascending (numbers by value before strings by code
 * point) or the reverse for `desc`; `null` keys last in both directions; ties by DocID code points in the sort's
 * direction. Negative when `a` comes first.
 */
export function comparePositions (a: SortPosition, b: SortPosition, sort: QuerySort): number {
  const direction = sort.order === 'desc' ? -1 : 1
  if (a.key === null || b.key === null) {
    if (a.key !== b.key) return a.key === null ? 1 : -1
  } else {
    const byKey = compareKeys(a.key, b.key)
    if (byKey !== 0) return direction * byKey
  }
  return direction * compareCodePoints(a.id, b.id)
}

/** Compares two records (with their DocIDs) in the order of `sort`; negative when `a` comes first. */
export function compareForSort (a: DocIndexRecord, b: DocIndexRecord, sort: QuerySort, idA: string, idB: string): number {
  return comparePositions({ key: sortKey(a, sort), id: idA }, { key: sortKey(b, sort), id: idB }, sort)
}

/** Ascending order of two present keys: numbers by value before strings by code point. */
function compareKeys (a: number | string, b: number | string): number {
  if (typeof a === 'number') {
    if (typeof b === 'string') return -1
    return a < b ? -1 : a > b ? 1 : 0
  }
  if (typeof b === 'number') return 1
  return compareCodePoints(a, b)
}
