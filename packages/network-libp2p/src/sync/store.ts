import { compareKeys, type SyncRange } from './keys.js'
import { syncKeyHash, SyncSummer, type SyncSummary } from './summary.js'

/** The sorted set of sync keys a node holds: what a reconciliation session reads and what it learns into. */
export interface SyncKeyStore {
  /** Adds `key`; `false` when it was already there. */
  insert: (key: Uint8Array) => boolean
  /** Removes `key`; `false` when it was not there. */
  remove: (key: Uint8Array) => boolean
  /** Whether `key` is in the set. */
  has: (key: Uint8Array) => boolean
  /** The summary of the keys in `range`. */
  summary: (range: SyncRange) => SyncSummary
  /** The keys in `range`, in order, at most `limit` of them. Callers must not modify them. */
  keys: (range: SyncRange, limit?: number) => Uint8Array[]
  /**
   * `range` cut at keys it holds into at most `parts` adjacent ranges that cover it and hold about as many keys
   * each; `[range]` when it holds fewer than two keys.
   */
  split: (range: SyncRange, parts: number) => SyncRange[]
  /** How many keys the set holds. */
  size: () => number
}

/**
 * A sync key store in memory: a sorted array of keys with their hashes, found by binary search. Inserting is O(n) and
 * summarising a range O(keys in it); a storage-backed store that keeps subtree sums (so a summary is O(log n)) and
 * survives restarts comes with the node wiring.
 */
export function memorySyncKeyStore (keys: Iterable<Uint8Array> = []): SyncKeyStore {
  const sorted: Uint8Array[] = []

  /** The index of the first key not below `bound`. */
  const lowerBound = (bound: Uint8Array): number => {
    let lo = 0
    let hi = sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareKeys(sorted[mid]!, bound) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** The indices `[from, to)` of the keys in `range`. */
  const indices = (range: SyncRange): [number, number] => {
    const from = lowerBound(range.start)
    return [from, Math.max(from, lowerBound(range.end))]
  }

  // a batch of initial keys is sorted once rather than inserted one by one
  const initial = [...keys].map((key) => Uint8Array.from(key)).sort(compareKeys)
  for (const key of initial) {
    if (sorted.length > 0 && compareKeys(sorted[sorted.length - 1]!, key) === 0) continue
    sorted.push(key)
  }
  const hashes = sorted.map(syncKeyHash)

  return {
    insert (key) {
      const at = lowerBound(key)
      if (at < sorted.length && compareKeys(sorted[at]!, key) === 0) return false
      const copy = Uint8Array.from(key)
      sorted.splice(at, 0, copy)
      hashes.splice(at, 0, syncKeyHash(copy))
      return true
    },
    remove (key) {
      const at = lowerBound(key)
      if (at >= sorted.length || compareKeys(sorted[at]!, key) !== 0) return false
      sorted.splice(at, 1)
      hashes.splice(at, 1)
      return true
    },
    has (key) {
      const at = lowerBound(key)
      return at < sorted.length && compareKeys(sorted[at]!, key) === 0
    },
    summary (range) {
      const [from, to] = indices(range)
      const summer = new SyncSummer()
      for (let i = from; i < to; i++) summer.addHash(hashes[i]!)
      return summer.summary()
    },
    keys (range, limit = Infinity) {
      const [from, to] = indices(range)
      return sorted.slice(from, Math.min(to, from + limit))
    },
    split (range, parts) {
      const [from, to] = indices(range)
      const count = to - from
      const n = Math.min(Math.max(1, Math.floor(parts)), count)
      if (n < 2) return [range]
      const out: SyncRange[] = []
      let start = range.start
      for (let i = 1; i < n; i++) {
        const cut = sorted[from + Math.floor((i * count) / n)]!
        out.push({ start, end: cut })
        start = cut
      }
      out.push({ start, end: range.end })
      return out
    },
    size: () => sorted.length
  }
}
