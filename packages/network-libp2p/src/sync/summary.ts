import { sha256 } from '#platform/bytes'

// A range's summary: how many keys it holds and the sum, modulo 2^256, of sha256(key) read as big-endian integers.
// Addition is commutative and associative, so the summary of a set does not depend on the order its keys come in,
// and the summaries of two adjacent ranges add up to the summary of their union without hashing a key again.
// The sum is kept as eight big-endian u32 words, added with carries: no bigint allocation per key.

/** The summary of a set of keys: its size and the sum of its keys' hashes (32 bytes, big-endian). */
export interface SyncSummary {
  count: number
  hash: Uint8Array
}

/** The bytes of a summary's hash. */
export const SYNC_HASH_BYTES = 32

/** sha256 of one key: its term in a summary's sum. */
export function syncKeyHash (key: Uint8Array): Uint8Array {
  return sha256(key)
}

/** A running sum of key hashes: add keys or hashes, then read the summary. */
export class SyncSummer {
  #words = new Uint32Array(8)
  #count = 0

  /** Adds one key (hashing it). */
  addKey (key: Uint8Array): this {
    // node's one-shot hash, read in place: about twice as fast as createHash and a copy
    return this.addHash(sha256(key))
  }

  /** Adds one key's hash (32 bytes), as a sorted store that keeps its keys' hashes does. */
  addHash (hash: Uint8Array): this {
    this.#add(hash, 1)
    return this
  }

  /** Adds a whole summary (a range's count and hash). */
  addSummary (summary: SyncSummary): this {
    this.#add(summary.hash, summary.count)
    return this
  }

  #add (hash: Uint8Array, count: number): void {
    const view = new DataView(hash.buffer, hash.byteOffset, SYNC_HASH_BYTES)
    const words = this.#words
    let carry = 0
    for (let i = 7; i >= 0; i--) {
      const sum = words[i]! + view.getUint32(i * 4, false) + carry
      words[i] = sum
      carry = sum > 0xffff_ffff ? 1 : 0
    }
    this.#count += count
  }

  /** The summary of everything added so far. */
  summary (): SyncSummary {
    const hash = new Uint8Array(SYNC_HASH_BYTES)
    const view = new DataView(hash.buffer)
    for (let i = 0; i < 8; i++) view.setUint32(i * 4, this.#words[i]!, false)
    return { count: this.#count, hash }
  }
}

/** The summary of `keys`, in any order. */
export function summariseSyncKeys (keys: Iterable<Uint8Array>): SyncSummary {
  const summer = new SyncSummer()
  for (const key of keys) summer.addKey(key)
  return summer.summary()
}

/** The summary of the union of two disjoint sets, from their summaries. */
export function combineSyncSummaries (a: SyncSummary, b: SyncSummary): SyncSummary {
  return new SyncSummer().addSummary(a).addSummary(b).summary()
}

/** Whether two summaries are the same (same count, same hash): the sets they summarise are then taken as equal. */
export function syncSummariesEqual (a: SyncSummary, b: SyncSummary): boolean {
  if (a.count !== b.count || a.hash.length !== b.hash.length) return false
  for (let i = 0; i < a.hash.length; i++) if (a.hash[i] !== b.hash[i]) return false
  return true
}
