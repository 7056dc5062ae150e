import { LogEntryType, type LogEntry } from '@kiln/interface'

/** Which of two branches won. */
export type BranchChoice = 'a' | 'b'

/**
 * Picks the winner between two logs of one document (each from its genesis to its tip), by the rule every node
 * applies the same way. After their common ancestor: a branch with an anchor beats one without; of two anchored
 * branches the one whose first anchor is earlier wins; if tied or neither is anchored, the longer branch (counted up
 * to and including its first anchor) wins; if still tied, the branch whose tip CID is lower, comparing bytes.
 * Equal logs give `'a'`.
 */
export function pickWinningBranch (a: readonly LogEntry[], b: readonly LogEntry[]): BranchChoice {
  let common = 0
  while (common < a.length && common < b.length && a[common]!.cid.equals(b[common]!.cid)) common++
  const restA = a.slice(common)
  const restB = b.slice(common)
  if (restA.length === 0 && restB.length === 0) return 'a'

  const anchorA = firstAnchor(restA)
  const anchorB = firstAnchor(restB)
  if (anchorA !== undefined && anchorB === undefined) return 'a'
  if (anchorB !== undefined && anchorA === undefined) return 'b'
  if (anchorA !== undefined && anchorB !== undefined) {
    const timeA = restA[anchorA]!.timestamp ?? Number.POSITIVE_INFINITY
    const timeB = restB[anchorB]!.timestamp ?? Number.POSITIVE_INFINITY
    if (timeA !== timeB) return timeA < timeB ? 'a' : 'b'
  }

  const lengthA = anchorA === undefined ? restA.length : anchorA + 1
  const lengthB = anchorB === undefined ? restB.length : anchorB + 1
  if (lengthA !== lengthB) return lengthA > lengthB ? 'a' : 'b'

  // Both non-empty here: equal lengths after a common prefix, and equal empty rests returned above.
  return compareBytes(restA[restA.length - 1]!.cid.bytes, restB[restB.length - 1]!.cid.bytes) <= 0 ? 'a' : 'b'
}

function firstAnchor (entries: readonly LogEntry[]): number | undefined {
  const index = entries.findIndex((e) => e.type === LogEntryType.ANCHOR)
  return index === -1 ? undefined : index
}

/** Lexicographic comparison of two byte arrays (a shorter prefix sorts first). */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return a.length - b.length
}
