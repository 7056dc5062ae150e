import { InvalidQueryError, QUERY_LIMITS } from '@kiln/interface'
import type { ContentCondition, ContentPath, QueryFilter, QuerySort, StorageQuery, TimeRange } from '@kiln/interface'
import { parseDocOrCommitID } from '@kiln/docid'
import { parsePointer } from './content-path.js'
import { decodeCursor } from './cursor.js'

/** What {@link parseQuery} needs from the node. */
export interface ParseQueryOptions {
  /** The code of a doctype given by name or code; throws (any error) for one the node does not know. */
  doctypeCode(nameOrCode: string | number): number
}

const QUERY_KEYS = new Set(['filter', 'sort', 'first', 'after', 'count'])
const SORT_KEYS = new Set(['by', 'path', 'order'])
const SORT_BY = new Set(['created', 'updated', 'anchored', 'content'])
const OPERATORS = new Set(['equalTo', 'notEqualTo', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'isNull', 'exists'])
const DEFAULT_SORT: QuerySort = { by: 'created', order: 'asc' }
/** Nesting of a compared JSON value: its size limit would stop it anyway, this stops the walk early. */
const MAX_VALUE_DEPTH = 32
const utf8 = new TextEncoder()

/**
 * Validates a query in its user-facing JSON form and normalizes it for storage: doctype names to codes, DocIDs and
 * CommitIDs to canonical strings, JSON Pointers to paths, times to milliseconds, defaults filled in. Every problem is
 * an `InvalidQueryError` whose `details.field` names where it is (`filter.and[1].content.gt`).
 */
export function parseQuery (input: unknown, options: ParseQueryOptions): StorageQuery {
  const query = objectAt(input, 'query')
  for (const key of Object.keys(query)) {
    if (!QUERY_KEYS.has(key)) throw invalid(key, `unknown key "${clip(key)}" (a query takes filter, sort, first, after and count)`)
  }
  const sort = query.sort === undefined ? DEFAULT_SORT : parseSort(query.sort)
  const parsed: StorageQuery = { sort, first: parseFirst(query.first) }
  if (query.filter !== undefined) parsed.filter = new FilterParser(options).parse(query.filter, 'filter', 1)
  if (query.after !== undefined) {
    decodeCursor(query.after, sort)
    parsed.after = query.after as string
  }
  if (query.count !== undefined) {
    if (typeof query.count !== 'boolean') throw invalid('count', 'must be true or false')
    parsed.count = query.count
  }
  return parsed
}

function parseFirst (value: unknown): number {
  if (value === undefined) return QUERY_LIMITS.defaultPageSize
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > QUERY_LIMITS.maxPageSize) {
    throw invalid('first', `must be an integer from 1 to ${QUERY_LIMITS.maxPageSize}, not ${describe(value)}`)
  }
  return value
}

function parseSort (value: unknown): QuerySort {
  const sort = objectAt(value, 'sort')
  for (const key of Object.keys(sort)) {
    if (!SORT_KEYS.has(key)) throw invalid(`sort.${key}`, `unknown key "${clip(key)}" (a sort takes by, path and order)`)
  }
  const by = sort.by ?? 'created'
  if (typeof by !== 'string' || !SORT_BY.has(by)) throw invalid('sort.by', `must be one of created, updated, anchored, content, not ${describe(by)}`)
  const order = sort.order ?? 'asc'
  if (order !== 'asc' && order !== 'desc') throw invalid('sort.order', `must be "asc" or "desc", not ${describe(order)}`)
  if (by !== 'content') {
    if (sort.path !== undefined) throw invalid('sort.path', 'is only for a sort by content')
    return { by: by as 'created' | 'updated' | 'anchored', order }
  }
  if (sort.path === undefined) throw invalid('sort.path', 'is required for a sort by content (a JSON Pointer such as "/title")')
  return { by: 'content', path: pathAt(sort.path, 'sort.path'), order }
}

/** Parses one filter tree, counting its terms across the whole tree. */
class FilterParser {
  #terms = 0
  readonly #options: ParseQueryOptions

  constructor (options: ParseQueryOptions) {
    this.#options = options
  }

  parse (value: unknown, field: string, depth: number): QueryFilter {
    const filter = objectAt(value, field)
    const keys = Object.keys(filter)
    if (keys.length !== 1) {
      throw invalid(field, keys.length === 0 ? 'a filter needs one kind (and, or, not, doctype, controller, family, tags, schema, linksTo, content, created, updated, anchored)' : `a filter has exactly one kind, not ${keys.length} (${keys.slice(0, 4).map(clip).join(', ')}); combine them with "and"`)
    }
    const kind = keys[0]!
    const body = filter[kind]
    const at = `${field}.${kind}`
    if (kind === 'and' || kind === 'or' || kind === 'not') {
      if (depth > QUERY_LIMITS.maxFilterDepth) throw invalid(at, `filters nest at most ${QUERY_LIMITS.maxFilterDepth} levels deep`)
      if (kind === 'not') return { not: this.parse(body, at, depth + 1) }
      if (!Array.isArray(body) || body.length === 0) throw invalid(at, 'must be a non-empty array of filters')
      if (body.length > QUERY_LIMITS.maxFilterTerms) throw invalid(at, `a filter holds at most ${QUERY_LIMITS.maxFilterTerms} terms`)
      const members = body.map((member, i) => this.parse(member, `${at}[${i}]`, depth + 1))
      return kind === 'and' ? { and: members } : { or: members }
    }
    if (++this.#terms > QUERY_LIMITS.maxFilterTerms) throw invalid(at, `a filter holds at most ${QUERY_LIMITS.maxFilterTerms} terms`)
    switch (kind) {
      case 'doctype': return { doctype: this.#doctype(body, at) }
      case 'controller': return { controller: stringAt(body, at, false) }
      case 'family': return { family: stringAt(body, at, true) }
      case 'tags': return { tags: parseTags(body, at) }
      case 'schema': {
        const id = idAt(body, at)
        return { schema: 'commit' in id ? { commit: id.commit } : { doc: id.doc } }
      }
      case 'linksTo': return { linksTo: idAt(body, at).doc }
      case 'content': return { content: parseContent(body, at) }
      case 'created': return { created: parseTimeRange(body, at) }
      case 'updated': return { updated: parseTimeRange(body, at) }
      case 'anchored': return { anchored: parseTimeRange(body, at) }
      default:
        throw invalid(at, `unknown filter kind "${clip(kind)}" (one of and, or, not, doctype, controller, family, tags, schema, linksTo, content, created, updated, anchored)`)
    }
  }

  #doctype (value: unknown, field: string): number {
    if (typeof value === 'number' ? !Number.isSafeInteger(value) || value < 0 : typeof value !== 'string' || value === '') {
      throw invalid(field, `must be a doctype name or a non-negative integer code, not ${describe(value)}`)
    }
    let code: unknown
    try {
      code = this.#options.doctypeCode(value as string | number)
    } catch (err) {
      throw invalid(field, `unknown doctype ${describe(value)}`, err)
    }
    if (typeof code !== 'number' || !Number.isSafeInteger(code) || code < 0) throw invalid(field, `unknown doctype ${describe(value)}`)
    return code
  }
}

function parseTags (value: unknown, field: string): { all: string[] } | { any: string[] } {
  const tags = objectAt(value, field)
  const keys = Object.keys(tags)
  if (keys.length !== 1 || (keys[0] !== 'all' && keys[0] !== 'any')) throw invalid(field, 'must be { all: [tags] } or { any: [tags] }')
  const mode = keys[0]
  const at = `${field}.${mode}`
  const list = listAt(tags[mode], at)
  const values = [...new Set(list.map((tag, i) => stringAt(tag, `${at}[${i}]`, true)))].sort()
  return mode === 'all' ? { all: values } : { any: values }
}

function parseContent (value: unknown, field: string): { path: ContentPath } & ContentCondition {
  const content = objectAt(value, field)
  if (!Object.hasOwn(content, 'path')) throw invalid(`${field}.path`, 'is required: a JSON Pointer such as "/title"')
  const path = pathAt(content.path, `${field}.path`)
  const operators = Object.keys(content).filter((key) => key !== 'path')
  for (const key of operators) {
    if (!OPERATORS.has(key)) throw invalid(`${field}.${key}`, `unknown operator "${clip(key)}" (one of ${[...OPERATORS].join(', ')})`)
  }
  if (operators.length !== 1) {
    throw invalid(operators.length === 0 ? field : `${field}.${operators[1]!}`, `a content condition has exactly one operator, not ${operators.length}`)
  }
  const operator = operators[0]!
  const at = `${field}.${operator}`
  const operand = content[operator]
  switch (operator) {
    case 'equalTo': return { path, equalTo: jsonAt(operand, at) }
    case 'notEqualTo': return { path, notEqualTo: jsonAt(operand, at) }
    case 'in': return { path, in: listAt(operand, at).map((v, i) => jsonAt(v, `${at}[${i}]`)) }
    case 'notIn': return { path, notIn: listAt(operand, at).map((v, i) => jsonAt(v, `${at}[${i}]`)) }
    case 'isNull': return { path, isNull: booleanAt(operand, at) }
    case 'exists': return { path, exists: booleanAt(operand, at) }
    default: {
      const bound = typeof operand === 'string' ? stringAt(operand, at, true) : operand
      if (typeof bound !== 'number' && typeof bound !== 'string') throw invalid(at, `must be a number or a string, not ${describe(operand)}`)
      if (typeof bound === 'number' && !Number.isFinite(bound)) throw invalid(at, 'must be a finite number')
      return { path, [operator]: bound } as { path: ContentPath } & ContentCondition
    }
  }
}

function parseTimeRange (value: unknown, field: string): TimeRange {
  const range = objectAt(value, field)
  const out: TimeRange = {}
  for (const key of Object.keys(range)) {
    if (key !== 'after' && key !== 'before') throw invalid(`${field}.${key}`, `unknown key "${clip(key)}" (a time range takes after and before)`)
    out[key] = timeAt(range[key], `${field}.${key}`)
  }
  return out
}

/** ISO-8601: a date, or a date and time with seconds and fraction optional and an offset (`Z` or `±hh:mm`) required. */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/

function timeAt (value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalid(field, `must be an ISO-8601 time or whole milliseconds since the epoch, not ${describe(value)}`)
    return value
  }
  if (typeof value !== 'string') throw invalid(field, `must be an ISO-8601 time or milliseconds since the epoch, not ${describe(value)}`)
  const match = ISO_8601.exec(value)
  const bad = (): InvalidQueryError => invalid(field, `${describe(value)} is not an ISO-8601 time such as "2026-01-31" or "2026-01-31T12:00:00Z" (a time of day needs its offset)`)
  if (match === null) throw bad()
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map((part) => part === undefined ? undefined : Number(part)) as number[]
  const millis = match[7] === undefined ? 0 : Number(match[7].padEnd(3, '0').slice(0, 3))
  const offset = match[8]
  if (month! < 1 || month! > 12 || day! < 1 || hour > 23 || minute > 59 || second > 59) throw bad()
  const date = new Date(Date.UTC(year!, month! - 1, day!, hour, minute, second, millis))
  date.setUTCFullYear(year!)
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month! - 1) throw bad()
  let ms = date.getTime()
  if (offset !== undefined && offset !== 'Z') {
    const hours = Number(offset.slice(1, 3))
    const minutes = Number(offset.slice(4, 6))
    if (hours > 23 || minutes > 59) throw bad()
    ms -= (offset[0] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000
  }
  return ms
}

function idAt (value: unknown, field: string): { doc: string } | { doc: string, commit: string } {
  if (typeof value !== 'string') throw invalid(field, `must be a DocID or CommitID string, not ${describe(value)}`)
  stringAt(value, field, false)
  try {
    const id = parseDocOrCommitID(value)
    const doc = id.baseID.toString()
    return id.equals(id.baseID) ? { doc } : { doc, commit: id.toString() }
  } catch (err) {
    throw invalid(field, `${describe(value)} is not a DocID or CommitID`, err)
  }
}

function pathAt (value: unknown, field: string): ContentPath {
  if (typeof value !== 'string') throw invalid(field, `must be a JSON Pointer string such as "/title", not ${describe(value)}`)
  stringAt(value, field, true)
  const path = parsePointer(value)
  if (typeof path === 'string') throw invalid(field, `${describe(value)} is not a usable JSON Pointer: ${path}`)
  return path
}

function objectAt (value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(field, `must be an object, not ${describe(value)}`)
  return value as Record<string, unknown>
}

function listAt (value: unknown, field: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid(field, 'must be a non-empty array')
  if (value.length > QUERY_LIMITS.maxListValues) throw invalid(field, `holds at most ${QUERY_LIMITS.maxListValues} values, not ${value.length}`)
  return value
}

function booleanAt (value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw invalid(field, `must be true or false, not ${describe(value)}`)
  return value
}

function stringAt (value: unknown, field: string, emptyOk: boolean): string {
  if (typeof value !== 'string' || (!emptyOk && value === '')) throw invalid(field, `must be a${emptyOk ? '' : ' non-empty'} string, not ${describe(value)}`)
  if (value.length > QUERY_LIMITS.maxValueBytes || utf8.encode(value).byteLength > QUERY_LIMITS.maxValueBytes) {
    throw invalid(field, `is longer than ${QUERY_LIMITS.maxValueBytes} bytes`)
  }
  return value
}

/** A JSON value to compare with: plain JSON (no `undefined`, no non-finite number), at most `maxValueBytes` as JSON. */
function jsonAt (value: unknown, field: string): unknown {
  let budget = QUERY_LIMITS.maxValueBytes
  const spend = (bytes: number): void => {
    budget -= bytes
    if (budget < 0) throw invalid(field, `is larger than ${QUERY_LIMITS.maxValueBytes} bytes as JSON`)
  }
  const copy = (node: unknown, depth: number): unknown => {
    if (depth > MAX_VALUE_DEPTH) throw invalid(field, `nests deeper than ${MAX_VALUE_DEPTH} levels`)
    if (node === null || typeof node === 'boolean') { spend(5); return node }
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) throw invalid(field, 'holds a number JSON cannot carry')
      spend(String(node).length)
      return node === 0 ? 0 : node
    }
    if (typeof node === 'string') {
      spend(node.length + 2)
      spend(utf8.encode(node).byteLength - node.length)
      return node
    }
    if (Array.isArray(node)) {
      spend(2 + node.length)
      return node.map((item) => copy(item, depth + 1))
    }
    if (typeof node === 'object' && (Object.getPrototypeOf(node) === Object.prototype || Object.getPrototypeOf(node) === null)) {
      const keys = Object.keys(node)
      spend(2 + keys.length)
      const out: Record<string, unknown> = {}
      for (const key of keys) {
        spend(key.length + 3)
        Object.defineProperty(out, key, { value: copy((node as Record<string, unknown>)[key], depth + 1), enumerable: true, writable: true, configurable: true })
      }
      return out
    }
    throw invalid(field, `holds ${describe(node)}, which JSON cannot carry`)
  }
  if (value === undefined) throw invalid(field, 'is missing a value')
  return copy(value, 0)
}

function invalid (field: string, reason: string, cause?: unknown): InvalidQueryError {
  return new InvalidQueryError(`Invalid query: ${field} ${reason}`, { cause, details: { field } })
}

function clip (text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text
}

function describe (value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'string') return JSON.stringify(clip(value))
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return `a ${typeof value}`
}
