import { DoctypeRuleError, isKilnError, LimitExceededError } from '@kiln/interface'
import jsonpatch, { type Operation } from 'fast-json-patch'
import { checkPlainJson, cloneJson, kindOfJson } from './json.js'

/** One JSON-Patch (RFC 6902) operation, as fast-json-patch types it: what an update's `data` array holds. */
export type JsonPatchOperation = Operation

/** Options of {@link applyJsonPatch}. */
export interface JsonPatchOptions {
  /** What the patch is, for messages: `'tile update data'`. */
  what: string
  /**
   * Called with the document after `copy` operations, the one operation that can grow a document faster than the
   * patch grows (64 copies of the root make 2^64 times the content): at the latest once 64 Ki characters of JSON have
   * been copied, and after the last operation. Throw a `KilnError` to stop the patch there.
   */
  afterCopy?: (document: unknown) => void
}

/** Most operations one patch may have: each may cost up to the document's size (an array `remove` shifts the rest). */
export const MAX_PATCH_OPERATIONS = 10_000

/**
 * How many characters of JSON `copy` operations may add before `afterCopy` is called again. Calling it after every
 * copy would read the whole document each time: 10 000 one-character copies into a 256 KiB document cost 2.5 GB.
 */
const COPY_CHECK_INTERVAL = 64 * 1024

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test'])

/** Short JSON of an operation for messages: its `op`, `path` and `from`, never its (possibly large) value. */
function summary (op: unknown): string {
  if (typeof op !== 'object' || op === null || Array.isArray(op)) return JSON.stringify(op ?? null)?.slice(0, 100) ?? String(op)
  const { op: name, path, from } = op as Record<string, unknown>
  return JSON.stringify({ op: name, path, from })
}

function fail (index: number, op: unknown, reason: string, cause?: unknown): never {
  const operation = summary(op)
  throw new DoctypeRuleError(`JSON-Patch operation ${index} ${operation} cannot be applied: ${reason}`, {
    cause,
    details: { index, operation }
  })
}

/** Checks one operation's shape (RFC 6902 §4) and that its `value` is plain JSON; `fail`s with its index otherwise. */
function checkOperation (op: unknown, index: number): asserts op is Operation {
  if (typeof op !== 'object' || op === null || Array.isArray(op) || ![Object.prototype, null].includes(Object.getPrototypeOf(op))) {
    fail(index, op, 'an operation must be an object')
  }
  const { op: name, path, from } = op as Record<string, unknown>
  if (typeof name !== 'string' || !OPS.has(name)) fail(index, op, '`op` must be one of add, remove, replace, move, copy, test')
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) fail(index, op, '`path` must be a JSON pointer string ("" or starting with "/")')
  if (name === 'move' || name === 'copy') {
    if (typeof from !== 'string' || (from !== '' && !from.startsWith('/'))) fail(index, op, '`from` must be a JSON pointer string')
  }
  if (name === 'add' || name === 'replace' || name === 'test') {
    if (!('value' in op)) fail(index, op, '`value` is missing')
    try {
      checkPlainJson((op as { value: unknown }).value, 'its value')
    } catch (err) {
      fail(index, op, (err as Error).message, err)
    }
  }
}

/**
 * fast-json-patch's own checks, but without its check of a `move` or `copy` source, which deep-copies the whole
 * document for every such operation (10 000 copies in a 256 KiB document: 2.5 GB copied). The source is looked up
 * in place instead, with the same error.
 */
function validateInPlace (operation: Operation, index: number, document: unknown, existingPath: string): void {
  if (operation.op !== 'move' && operation.op !== 'copy') {
    jsonpatch.validator(operation, index, document, existingPath)
    return
  }
  jsonpatch.validator(operation, index)
  try {
    jsonpatch.applyOperation(document, { op: '_get', path: operation.from, value: undefined } as unknown as Operation, jsonpatch.validator, true, true, index)
  } catch (err) {
    if (!(err instanceof jsonpatch.JsonPatchError) || err.name !== 'OPERATION_PATH_UNRESOLVABLE') throw err
    throw new jsonpatch.JsonPatchError('Cannot perform the operation from a path that does not exist', 'OPERATION_FROM_UNRESOLVABLE', index, operation, document)
  }
}

/** The tokens of a JSON pointer (`''` is the root: none), unescaped. */
function tokensOf (pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
}

/**
 * Why `pointer` cannot be followed in `document`, if it names an inherited member of an object where fast-json-patch
 * would follow it (`/constructor` found Object, and a copy of it put a function into the document), or `undefined`.
 * The last token may name a new member when `lastMayBeNew` (the target of add, move and copy). Missing members and
 * array indexes are left to fast-json-patch's own checks.
 */
function inheritedMember (document: unknown, pointer: string, lastMayBeNew: boolean): string | undefined {
  const tokens = tokensOf(pointer)
  let node = document
  for (let i = 0; i < tokens.length; i++) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined
    const token = tokens[i]!
    if (!Object.hasOwn(node, token)) {
      if (token in node && !(lastMayBeNew && i === tokens.length - 1)) return token
      return undefined
    }
    node = (node as Record<string, unknown>)[token]
  }
  return undefined
}

/** Refuses what fast-json-patch would wrongly apply: a pointer through an inherited member, a move into itself. */
function checkPointers (document: unknown, op: Operation, index: number): void {
  const adds = op.op === 'add' || op.op === 'move' || op.op === 'copy'
  const inPath = inheritedMember(document, op.path, adds)
  if (inPath !== undefined) fail(index, op, `\`path\` names ${JSON.stringify(inPath)}, which is not a member of the document`)
  if (op.op === 'move' || op.op === 'copy') {
    const inFrom = inheritedMember(document, op.from, false)
    if (inFrom !== undefined) fail(index, op, `\`from\` names ${JSON.stringify(inFrom)}, which is not a member of the document`)
  }
  // RFC 6902 §4.4; fast-json-patch made the document contain itself (`move` from "" to "/a")
  if (op.op === 'move' && op.path.startsWith(`${op.from}/`)) fail(index, op, 'a location cannot be moved into one of its children')
}

/** The reason fast-json-patch gives, without the document dump it appends after the first line. */
function reasonOf (err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n')[0] ?? message
}

/**
 * Applies a JSON-Patch (RFC 6902) to a copy of `content` (plain JSON) and returns the result; `content` and `patch`
 * are not touched. Any failure (data not an array, malformed operation, value not plain JSON, failing `test`, missing
 * path, `__proto__` path) is a `DoctypeRuleError` whose `details.index` is the index of the operation.
 */
export function applyJsonPatch (content: unknown, patch: unknown, options: JsonPatchOptions): unknown {
  if (!Array.isArray(patch)) {
    const found = kindOfJson(patch)
    throw new DoctypeRuleError(`${options.what} must be a JSON-Patch array of operations, got ${found}`, { details: { found } })
  }
  if (patch.length > MAX_PATCH_OPERATIONS) {
    throw new LimitExceededError(`${options.what} has ${patch.length} JSON-Patch operations, more than the limit of ${MAX_PATCH_OPERATIONS}`, {
      details: { operations: patch.length, limit: MAX_PATCH_OPERATIONS }
    })
  }
  patch.forEach(checkOperation)
  // fast-json-patch inserts `value`s by reference and edits the document in place: give it copies of both
  let document = cloneJson(content)
  // characters of JSON copied since `afterCopy` last saw the document
  let copied = 0
  const checkCopies = (index: number, op: Operation): void => {
    copied = 0
    try {
      options.afterCopy?.(document)
    } catch (err) {
      if (!isKilnError(err)) throw err
      fail(index, op, err.message, err)
    }
  }
  patch.forEach((op: Operation, index) => {
    checkPointers(document, op, index)
    try {
      document = jsonpatch.applyOperation(document, cloneJson(op), validateInPlace, true, true, index).newDocument
    } catch (err) {
      // its own error index is not reliable (it reports 0 for most operations), so report ours
      fail(index, op, reasonOf(err), err)
    }
    if (op.op === 'copy' && options.afterCopy !== undefined) {
      // the copy's size costs what the copy itself cost; the whole document is read only every 64 Ki characters
      copied += (JSON.stringify(jsonpatch.getValueByPointer(document, op.from)) ?? '').length
      if (copied >= COPY_CHECK_INTERVAL) checkCopies(index, op)
    }
  })
  const last = patch.length - 1
  if (copied > 0) checkCopies(last, patch[last] as Operation)
  return document
}

/**
 * The JSON-Patch that turns `from` into `to` (both plain JSON objects or arrays), as fast-json-patch's `compare` makes
 * it. Throws `DoctypeRuleError` naming the pointer when either is not plain JSON: fast-json-patch silently leaves out
 * what it cannot copy (an own `__proto__` key gave an empty patch).
 */
export function diffJson (from: object, to: object): JsonPatchOperation[] {
  checkPlainJson(from, 'the value to diff from')
  checkPlainJson(to, 'the value to diff to')
  return jsonpatch.compare(cloneJson(from), cloneJson(to))
}
