import { parseDocOrCommitID } from '@kiln/docid'

/**
 * The bounds of {@link linksOf}: content a hostile writer built to be expensive to index is read only this far.
 * Strings past them are not links.
 */
export const LINK_LIMITS = {
  /** Nesting levels of arrays and objects read below the root (the root is level 0). */
  maxDepth: 32,
  /** JSON values (of any kind, containers included) visited. */
  maxNodes: 10_000,
  /** Characters of a string tried as a DocID (real ones are under 300). */
  maxIdLength: 300,
  /** Strings tried as DocIDs (each is a base36 decode). */
  maxCandidates: 1_000
} as const

const PREFIX = 'ceramic://'

/**
 * The DocIDs `content` links to, sorted and unique: every string value (not object key) that parses as a DocID or
 * CommitID, bare or after `ceramic://`, a CommitID counting as its DocID. Walks at most {@link LINK_LIMITS}.
 */
export function linksOf (content: unknown): string[] {
  const links = new Set<string>()
  const stack: Array<[unknown, number]> = [[content, 0]]
  let nodes = 0
  let candidates = 0
  while (stack.length > 0 && nodes < LINK_LIMITS.maxNodes) {
    const [node, depth] = stack.pop()!
    nodes++
    if (typeof node === 'string') {
      const id = node.startsWith(PREFIX) ? node.slice(PREFIX.length) : node
      // Only the two spellings the contract names: not `/ceramic/…`, not `…?commit=`.
      if (id.length > LINK_LIMITS.maxIdLength || id[0] !== 'k' || id.includes('?') || candidates >= LINK_LIMITS.maxCandidates) continue
      candidates++
      try {
        links.add(parseDocOrCommitID(id).baseID.toString())
      } catch {
        // not a DocID: an ordinary string
      }
      continue
    }
    if (node === null || typeof node !== 'object' || depth >= LINK_LIMITS.maxDepth) continue
    const children = Array.isArray(node) ? node : Object.values(node)
    // Only as many as may still be visited; pushed in reverse so that values are visited in document order and the
    // bounds cut the same strings every time.
    const room = Math.min(children.length, LINK_LIMITS.maxNodes - nodes - stack.length)
    for (let i = room - 1; i >= 0; i--) stack.push([children[i], depth + 1])
  }
  return [...links].sort()
}
