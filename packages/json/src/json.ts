import { DoctypeRuleError } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { utf8ByteLength } from '@kiln/codec'

/** Deepest nesting a JSON value may have; deeper values would overflow the stack of recursive JSON code. */
export const MAX_JSON_DEPTH = 1000

/** A JSON pointer for messages; the root is written `(the root)`. */
function pointer (path: readonly (string | number)[]): string {
  return path.length === 0 ? '(the root)' : '/' + path.map((key) => String(key).replaceAll('~', '~0').replaceAll('/', '~1')).join('/')
}

function reject (what: string, path: readonly (string | number)[], found: string): never {
  const at = pointer(path)
  throw new DoctypeRuleError(`${what} must be plain JSON, but at ${at} it holds ${found}`, { details: { path: at, found } })
}

function describeNonJson (value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined
    case 'number':
      return Number.isFinite(value) ? undefined : `the non-finite number ${String(value)}`
    case 'undefined':
      return 'undefined'
    case 'bigint':
      return `the bigint ${String(value)}`
    case 'object':
      if (value === null || Array.isArray(value)) return undefined
      if (value instanceof Uint8Array) return `bytes (a ${value.constructor.name})`
      if (CID.asCID(value) !== null) return `a CID (${String(value)})`
      {
        const proto = Object.getPrototypeOf(value) as unknown
        if (proto !== Object.prototype && proto !== null) {
          const name = (value as { constructor?: { name?: unknown } }).constructor?.name
          if (name === 'Object' || typeof name !== 'string' || name === '') return 'an object with a non-standard prototype'
          return `an instance of ${name}`
        }
      }
      return undefined
    default:
      return `a ${typeof value}`
  }
}

/**
 * Checks that `value` is plain JSON: `null`, booleans, finite numbers, strings, arrays and plain objects only, no
 * `__proto__` keys, nested at most {@link MAX_JSON_DEPTH} deep. Throws `DoctypeRuleError` naming `what` and the pointer.
 */
export function checkPlainJson (value: unknown, what: string, path: (string | number)[] = []): void {
  const found = describeNonJson(value)
  if (found !== undefined) reject(what, path, found)
  if (typeof value !== 'object' || value === null) return
  if (path.length >= MAX_JSON_DEPTH) reject(what, path, `nesting deeper than ${MAX_JSON_DEPTH} levels`)
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) reject(what, path, 'an array subclass')
    // indexes, not forEach: holes of a sparse array are undefined and must be caught
    for (let i = 0; i < value.length; i++) {
      path.push(i)
      checkPlainJson(value[i], what, path)
      path.pop()
    }
    return
  }
  for (const key of Object.keys(value)) {
    // an own `__proto__` key is valid JSON, but copying it into an object literal changes the prototype instead
    if (key === '__proto__') reject(what, [...path, key], 'the key "__proto__"')
    path.push(key)
    checkPlainJson((value as Record<string, unknown>)[key], what, path)
    path.pop()
  }
}

/** Copies a value already checked with {@link checkPlainJson}; the copy shares nothing with the original. */
export function cloneJson<T> (value: T): T {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map((item: unknown) => cloneJson(item)) as T
  const copy: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) copy[key] = cloneJson(item)
  return copy as T
}

/** Names what a JSON value is, for messages: `null`, `an array`, `a string`, `an object`. */
export function kindOfJson (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/**
 * Throws `DoctypeRuleError` when the UTF-8 JSON encoding of `value` (plain JSON) is longer than `maxBytes`. Key order
 * does not change the length, so every node reaches the same verdict.
 */
export function checkJsonSize (value: unknown, maxBytes: number, what: string): void {
  const size = utf8ByteLength(JSON.stringify(value) ?? '')
  if (size > maxBytes) {
    throw new DoctypeRuleError(`${what} is ${size} bytes as JSON, more than the limit of ${maxBytes} bytes`, { details: { size, limit: maxBytes } })
  }
}
