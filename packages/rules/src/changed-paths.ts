import { InvalidCommitError } from '@kiln/interface'
import { diffJson } from '@kiln/json'
import { canonicalJson } from './schemas.js'
import type { PatchOpName, TransitionMetadata } from './types.js'

/** One patch operation, as the rules read it. */
export interface PatchStep {
  readonly index: number
  readonly op: PatchOpName
  readonly path: string
  readonly from?: string
}

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test'])

/** Reads the update's patch operations; an operation without an `op` and a `path` is an `InvalidCommitError`. */
export function readPatch (patch: readonly unknown[], step: () => void): PatchStep[] {
  if (!Array.isArray(patch)) throw new InvalidCommitError('the update\'s patch must be an array of JSON Patch operations', { details: { field: 'data' } })
  return patch.map((item, index) => {
    step()
    const op = item as Record<string, unknown> | null
    if (typeof op !== 'object' || op === null || typeof op.op !== 'string' || !OPS.has(op.op) || typeof op.path !== 'string') {
      throw new InvalidCommitError(`JSON Patch operation ${index} has no valid "op" and "path"`, { details: { field: `data/${index}` } })
    }
    const from = (op.op === 'move' || op.op === 'copy') && typeof op.from === 'string' ? op.from : undefined
    return { index, op: op.op as PatchOpName, path: op.path, ...(from === undefined ? {} : { from }) }
  })
}

/**
 * The paths a transition changes: the paths of its non-`test` operations (and the source of each `move`), the paths
 * where the content differs before and after, and `#<field>` for each metadata field that differs.
 */
export function changedPaths (ops: readonly PatchStep[], before: unknown, after: unknown, metaBefore: TransitionMetadata, metaAfter: TransitionMetadata, step: () => void): string[] {
  const paths = new Set<string>()
  for (const op of ops) {
    if (op.op === 'test') continue
    paths.add(op.path)
    if (op.op === 'move' && op.from !== undefined) paths.add(op.from)
  }
  for (const path of contentDiff(before, after)) {
    step()
    paths.add(path)
  }
  const fields = new Set([...Object.keys(metaBefore ?? {}), ...Object.keys(metaAfter ?? {})])
  for (const field of fields) {
    step()
    if (canonicalJson(metaBefore?.[field]) !== canonicalJson(metaAfter?.[field])) paths.add(`#${field}`)
  }
  return [...paths].sort()
}

function contentDiff (before: unknown, after: unknown): string[] {
  const isContainer = (v: unknown): v is object => typeof v === 'object' && v !== null
  if (isContainer(before) && isContainer(after) && Array.isArray(before) === Array.isArray(after)) {
    try {
      return diffJson(before, after).map((op) => op.path)
    } catch {
      // not plain JSON: the whole content counts as changed
      return ['']
    }
  }
  return canonicalJson(before) === canonicalJson(after) ? [] : ['']
}
