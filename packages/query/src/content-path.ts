import { QUERY_LIMITS } from '@kiln/interface'
import type { ContentPath } from '@kiln/interface'

/** A canonical decimal array index: `0`, `12`, not `01`, `-1` or `1e0`. */
const INDEX = /^(?:0|[1-9][0-9]*)$/

/**
 * The value at `path` in `content`, or `undefined` when the path reads nothing (a missing key, an index past the end
 * or not canonical, a step into a string, number, boolean or `null`).
 */
export function valueAt (content: unknown, path: ContentPath): unknown {
  let node: unknown = content
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined
    if (Array.isArray(node)) {
      if (!INDEX.test(segment)) return undefined
      const at = Number(segment)
      if (at >= node.length) return undefined
      node = node[at]
    } else {
      if (!Object.hasOwn(node, segment)) return undefined
      node = (node as Record<string, unknown>)[segment]
    }
  }
  return node
}

/** Why `pointer` is not a JSON Pointer of at most `QUERY_LIMITS.maxPathDepth` segments, or its segments. */
export function parsePointer (pointer: string): ContentPath | string {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) return 'a JSON Pointer starts with "/" (or is "" for the whole content)'
  const raw = pointer.slice(1).split('/')
  if (raw.length > QUERY_LIMITS.maxPathDepth) return `it has ${raw.length} segments, more than ${QUERY_LIMITS.maxPathDepth}`
  const path: ContentPath = []
  for (const segment of raw) {
    if (/~(?![01])/.test(segment)) return `segment ${JSON.stringify(segment)} holds a "~" not followed by 0 or 1 (write ~0 for "~" and ~1 for "/")`
    path.push(segment.replaceAll('~1', '/').replaceAll('~0', '~'))
  }
  return path
}

/** The JSON Pointer string of `path`: `['a', 'b/c']` is `/a/b~1c`. */
export function formatPointer (path: ContentPath): string {
  return path.map((segment) => `/${segment.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
}
