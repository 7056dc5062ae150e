/** Splits a JSON Pointer (`''` or `/a/b`) into its unescaped segments; `undefined` when it is not a pointer. */
export function pointerSegments (pointer: string): string[] | undefined {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) return undefined
  const segments: string[] = []
  for (const raw of pointer.slice(1).split('/')) {
    if (/~(?![01])/.test(raw)) return undefined
    segments.push(raw.replace(/~1/g, '/').replace(/~0/g, '~'))
  }
  return segments
}

/** Escapes one segment for a JSON Pointer. */
export function escapeSegment (segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1')
}

/** True for a metadata pseudo-path such as `#controllers`. */
export function isPseudoPath (path: string): boolean {
  return path.startsWith('#')
}

/** A scope pattern, parsed once: a JSON Pointer whose `*` segments match any one segment, or a pseudo-path. */
export interface PathPattern {
  readonly source: string
  readonly pseudo: boolean
  readonly segments: readonly string[]
  readonly wildcards: number
}

/** Parses a checked pattern. */
export function compilePattern (source: string): PathPattern {
  if (isPseudoPath(source)) return { source, pseudo: true, segments: [source], wildcards: 0 }
  const segments = pointerSegments(source) ?? []
  return { source, pseudo: false, segments, wildcards: segments.filter((s) => s === '*').length }
}

/** A changed path, split once. */
export interface ChangedPath {
  readonly path: string
  readonly pseudo: boolean
  readonly segments: readonly string[]
}

/** Splits a changed path (pointer or pseudo-path). */
export function changedPath (path: string): ChangedPath {
  if (isPseudoPath(path)) return { path, pseudo: true, segments: [path] }
  return { path, pseudo: false, segments: pointerSegments(path) ?? [path] }
}

/** True when `pattern` is `path` or one of its ancestors, `*` matching any one segment. Pseudo-paths match only themselves. */
export function patternCovers (pattern: PathPattern, path: ChangedPath): boolean {
  if (pattern.pseudo || path.pseudo) return pattern.pseudo && path.pseudo && pattern.source === path.path
  if (pattern.segments.length > path.segments.length) return false
  return pattern.segments.every((segment, i) => segment === '*' || segment === path.segments[i])
}

/** How specific a pattern is: longer first, then fewer wildcards. Larger is more specific. */
export function specificity (pattern: PathPattern): number {
  return pattern.segments.length * 1024 - pattern.wildcards
}

/** True when pointer `a` is `b` or an ancestor of it (segment-wise). */
export function isAncestorOrSelf (a: readonly string[], b: readonly string[]): boolean {
  return a.length <= b.length && a.every((segment, i) => segment === b[i])
}
