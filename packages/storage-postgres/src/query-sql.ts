import { InvalidQueryError, QUERY_LIMITS } from '@kiln/interface'
import type { ContentPath, QueryFilter, QuerySort, TimeRange } from '@kiln/interface'
import { jsonText } from './batch-writes.js'

// Compiles a normalized query to SQL over `kiln_documents` with numbered parameters. Every value travels as a
// parameter; only column names, operators and parameter numbers are written into the text.
//
// Three-valued logic is the trap: a condition on a missing value is NULL in SQL, and NOT NULL is NULL, so `not` would
// drop documents it must keep. Negation is therefore pushed down to the leaves (De Morgan), and a negated leaf is
// `NOT coalesce(leaf, false)`. Un-negated leaves stay plain, so the planner can match them to the indexes.

/** Collects parameters and hands out their placeholders. */
export class Params {
  readonly values: unknown[] = []

  /** The placeholder of a new parameter holding `value`, cast to `type`. */
  add (value: unknown, type: string): string {
    this.values.push(value)
    return `$${this.values.length}::${type}`
  }

  /** A jsonb parameter: its JSON text (U+0000 replaced as stored), cast on the server. */
  json (value: unknown, field: string): string {
    const text = jsonText(value)
    if (text === undefined) throw new InvalidQueryError(`The value of ${field} is not JSON`, { details: { field } })
    checkBytes(text, field)
    return `${this.add(text, 'text')}::jsonb`
  }
}

interface Budget { terms: number }

/** The WHERE condition of `filter` (`TRUE` when absent); InvalidQueryError for a filter outside the query contract. */
export function compileFilter (filter: QueryFilter | undefined, params: Params): string {
  if (filter === undefined) return 'TRUE'
  return compile(filter, false, params, 1, { terms: 0 }, 'filter')
}

function compile (filter: QueryFilter, negated: boolean, params: Params, depth: number, budget: Budget, field: string): string {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) invalid(`${field} is not a filter object`, field)
  const keys = Object.keys(filter)
  if (keys.length !== 1) invalid(`${field} must have exactly one kind, not ${keys.length === 0 ? 'none' : keys.join(', ')}`, field)
  const kind = keys[0]!
  // As @kiln/query counts them: nesting is and/or/not levels, terms are the other filters.
  const combinator = kind === 'and' || kind === 'or' || kind === 'not'
  if (combinator && depth > QUERY_LIMITS.maxFilterDepth) invalid(`${field} nests deeper than ${QUERY_LIMITS.maxFilterDepth} levels`, field)
  if (!combinator && ++budget.terms > QUERY_LIMITS.maxFilterTerms) invalid(`the filter has more than ${QUERY_LIMITS.maxFilterTerms} terms`, field)
  const f = filter as Record<string, unknown>
  const value = f[kind]
  const at = `${field}.${kind}`
  switch (kind) {
    case 'and':
    case 'or': {
      const children = list(value, at)
      const parts = children.map((child, i) => compile(child as QueryFilter, negated, params, depth + 1, budget, `${at}[${i}]`))
      // Under a negation, and becomes or and the other way round.
      const conjunction = (kind === 'and') !== negated
      if (parts.length === 0) return conjunction ? 'TRUE' : 'FALSE'
      return `(${parts.join(conjunction ? ' AND ' : ' OR ')})`
    }
    case 'not':
      return compile(value as QueryFilter, !negated, params, depth + 1, budget, at)
    default: {
      const leaf = compileLeaf(kind, value, params, at)
      return negated ? `NOT coalesce(${leaf}, false)` : leaf
    }
  }
}

function compileLeaf (kind: string, value: unknown, params: Params, field: string): string {
  switch (kind) {
    case 'doctype':
      if (!Number.isSafeInteger(value)) invalid(`${field} must be a doctype code`, field)
      return `(doctype = ${params.add(value, 'int4')})`
    case 'controller':
      return `(controllers @> ARRAY[${params.add(text(value, field), 'text')}])`
    case 'family':
      return `(family = ${params.add(text(value, field), 'text')})`
    case 'tags': {
      const tags = object(value, field)
      if ('all' in tags && Object.keys(tags).length === 1) return `(tags @> ${params.add(texts(tags.all, `${field}.all`), 'text[]')})`
      if ('any' in tags && Object.keys(tags).length === 1) return `(tags && ${params.add(texts(tags.any, `${field}.any`), 'text[]')})`
      return invalid(`${field} must be { all: [...] } or { any: [...] }`, field)
    }
    case 'schema': {
      const schema = object(value, field)
      if ('doc' in schema && Object.keys(schema).length === 1) return `(schema_doc = ${params.add(text(schema.doc, `${field}.doc`), 'text')})`
      if ('commit' in schema && Object.keys(schema).length === 1) return `(schema_commit = ${params.add(text(schema.commit, `${field}.commit`), 'text')})`
      return invalid(`${field} must be { doc } or { commit }`, field)
    }
    case 'linksTo':
      return `(links @> ARRAY[${params.add(text(value, field), 'text')}])`
    case 'created':
      return timeRange('created_at', value, params, field)
    case 'updated':
      return timeRange('updated_at', value, params, field)
    case 'anchored':
      return timeRange('anchored_at', value, params, field)
    case 'content':
      return contentCondition(object(value, field), params, field)
    default:
      return invalid(`${field} is not a filter kind`, field)
  }
}

function timeRange (column: string, value: unknown, params: Params, field: string): string {
  const range = object(value, field) as TimeRange
  const parts: string[] = []
  for (const key of Object.keys(range)) if (key !== 'after' && key !== 'before') invalid(`${field}.${key} is not a time bound (after, before)`, field)
  // Times are whole milliseconds: t > a ⟺ t > floor(a) and t < b ⟺ t < ceil(b), compared as int8 so the index applies.
  if (range.after !== undefined) parts.push(`${column} > ${params.add(clampTime(Math.floor(time(range.after, `${field}.after`))), 'int8')}`)
  if (range.before !== undefined) parts.push(`${column} < ${params.add(clampTime(Math.ceil(time(range.before, `${field}.before`))), 'int8')}`)
  // An empty range still needs the time: a never-anchored document matches no anchored range.
  if (parts.length === 0) parts.push(`${column} IS NOT NULL`)
  return `(${parts.join(' AND ')})`
}

const OPERATORS = ['equalTo', 'notEqualTo', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'isNull', 'exists'] as const

function contentCondition (condition: Record<string, unknown>, params: Params, field: string): string {
  const path = contentPath(condition.path, `${field}.path`)
  const ops = Object.keys(condition).filter((k) => k !== 'path')
  if (ops.length !== 1 || !(OPERATORS as readonly string[]).includes(ops[0]!)) {
    invalid(`${field} must have a path and exactly one of ${OPERATORS.join(', ')}`, field)
  }
  const op = ops[0] as typeof OPERATORS[number]
  const operand = condition[op]
  const at = `${field}.${op}`
  const v = valueAt(path, params)
  switch (op) {
    case 'equalTo':
      return equalTo(path, v, operand, params, at)
    case 'notEqualTo':
      return `NOT coalesce(${equalTo(path, v, operand, params, at)}, false)`
    case 'in':
    case 'notIn': {
      const values = list(operand, at)
      if (values.length > QUERY_LIMITS.maxListValues) invalid(`${at} has more than ${QUERY_LIMITS.maxListValues} values`, at)
      const any = values.length === 0 ? 'FALSE' : `(${values.map((x, i) => equalTo(path, v, x, params, `${at}[${i}]`)).join(' OR ')})`
      return op === 'in' ? any : `NOT coalesce(${any}, false)`
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const sqlOp = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[op]
      if (typeof operand === 'number' && Number.isFinite(operand)) {
        return `(CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::numeric ${sqlOp} ${params.add(String(operand), 'numeric')} ELSE false END)`
      }
      if (typeof operand === 'string') {
        checkBytes(operand, at)
        return `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN (${v} #>> '{}') COLLATE "C" ${sqlOp} ${params.add(pgText(operand), 'text')} COLLATE "C" ELSE false END)`
      }
      return invalid(`${at} must be a number or a string`, at)
    }
    case 'isNull':
      if (typeof operand !== 'boolean') invalid(`${at} must be true or false`, at)
      return operand ? `(${v} IS NULL OR jsonb_typeof(${v}) = 'null')` : `(${v} IS NOT NULL AND jsonb_typeof(${v}) <> 'null')`
    case 'exists':
      if (typeof operand !== 'boolean') invalid(`${at} must be true or false`, at)
      return operand ? `(${v} IS NOT NULL)` : `(${v} IS NULL)`
  }
}

/**
 * The value at `path` equals `operand` (jsonb equality is deep: numbers by value, objects whatever their key order).
 * When every segment can only be an object key, a containment test on the whole content comes first: it is implied
 * by the equality and lets the planner use the content's GIN index.
 */
function equalTo (path: ContentPath, v: string, operand: unknown, params: Params, field: string): string {
  if (operand === undefined) invalid(`${field} needs a value`, field)
  const exact = `${v} = ${params.json(operand, field)}`
  if (path.some(isIndex)) return `(${exact})`
  let nested: unknown = operand
  for (const key of [...path].reverse()) nested = { [key]: nested }
  // At the root, containment is not equality (an array contains its elements): only the exact test applies there.
  if (path.length === 0) return `(${exact})`
  return `(content @> ${params.json(nested, field)} AND ${exact})`
}

/**
 * The SQL expression reading `path` in the content: NULL when the path reads nothing (missing), jsonb `null` for a
 * present null. A canonical decimal segment reads an object's key or an array's element (`#>`); any other segment
 * reads only an object's key (`->` with text reads nothing in an array, where `#>` would take `01` or `-1` as indexes).
 */
export function valueAt (path: ContentPath, params: Params): string {
  let expr = 'content'
  for (const segment of path) {
    expr = isIndex(segment) ? `(${expr} #> ARRAY[${params.add(segment, 'text')}])` : `(${expr} -> ${params.add(segment, 'text')})`
  }
  return expr
}

function isIndex (segment: string): boolean {
  return /^(0|[1-9][0-9]{0,8})$/.test(segment)
}

/** Checks a content path. */
export function contentPath (value: unknown, field: string): ContentPath {
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) invalid(`${field} must be a list of strings`, field)
  if (value.length > QUERY_LIMITS.maxPathDepth) invalid(`${field} is deeper than ${QUERY_LIMITS.maxPathDepth} segments`, field)
  for (const segment of value) checkBytes(segment, field)
  return value.map(pgText)
}

/** The ORDER BY parts and the keyset expressions of a sort: see {@link SortPlan}. */
export interface SortPlan {
  /** Expressions of the sort key, in order, each non-null, compared in `directions`. */
  keys: string[]
  /** `ASC` or `DESC` per key. */
  directions: Array<'ASC' | 'DESC'>
  /** SQL types of the keys, for the cursor's parameters. */
  types: string[]
}

/**
 * The sort key of a query as non-null expressions ending in the DocID. Missing values must come last in both
 * directions, so the first key is a "last group" flag sorted ascending whatever the order; the rest follow the order.
 */
export function sortPlan (sort: QuerySort, params: Params): SortPlan {
  if (sort === null || typeof sort !== 'object') return invalid('sort must be an object', 'sort')
  if (sort.order !== 'asc' && sort.order !== 'desc') invalid('sort.order must be asc or desc', 'sort.order')
  const dir = sort.order === 'asc' ? 'ASC' : 'DESC'
  switch (sort.by) {
    case 'created':
    case 'updated':
      return { keys: [`${sort.by}_at`, 'doc_id'], directions: [dir, dir], types: ['int8', 'text'] }
    case 'anchored':
      return {
        keys: ['(anchored_at IS NULL)::int', 'coalesce(anchored_at, 0)', 'doc_id'],
        directions: ['ASC', dir, dir],
        types: ['int4', 'int8', 'text']
      }
    case 'content': {
      const v = valueAt(contentPath(sort.path, 'sort.path'), params)
      const rank = `(CASE jsonb_typeof(${v}) WHEN 'number' THEN 0 WHEN 'string' THEN 1 ELSE 2 END)`
      return {
        keys: [
          `(${rank} = 2)::int`,
          rank,
          `(CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::numeric ELSE 0 END)`,
          `(CASE WHEN jsonb_typeof(${v}) = 'string' THEN ${v} #>> '{}' ELSE '' END) COLLATE "C"`,
          'doc_id'
        ],
        directions: ['ASC', dir, dir, dir, dir],
        types: ['int4', 'int4', 'numeric', 'text', 'text']
      }
    }
    default:
      return invalid(`sort.by ${JSON.stringify((sort as { by?: unknown }).by)} is not created, updated, anchored or content`, 'sort.by')
  }
}

/**
 * The condition "the row's key comes after `cursor`" for a keyset page: the keys compared left to right, each in its
 * own direction, as nested (k1 > c1 OR (k1 = c1 AND (k2 > c2 OR …))). Row comparisons would need one direction.
 */
export function afterCondition (plan: SortPlan, cursor: unknown[], params: Params): string {
  let condition = ''
  for (let i = plan.keys.length - 1; i >= 0; i--) {
    const key = plan.keys[i]!
    const type = plan.types[i]!
    const placeholder = params.add(cursor[i], type)
    const value = type === 'text' ? `${placeholder} COLLATE "C"` : placeholder
    const beyond = `${key} ${plan.directions[i] === 'ASC' ? '>' : '<'} ${value}`
    condition = condition === '' ? beyond : `(${beyond} OR (${key} = ${value} AND ${condition}))`
  }
  return condition
}

function object (value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid(`${field} must be an object`, field)
  return value as Record<string, unknown>
}

function list (value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) invalid(`${field} must be a list`, field)
  return value as unknown[]
}

function text (value: unknown, field: string): string {
  if (typeof value !== 'string') invalid(`${field} must be a string`, field)
  checkBytes(value as string, field)
  return pgText(value as string)
}

/** PostgreSQL text cannot hold U+0000; stored strings hold U+FFFD in its place, and so do the compared ones. */
function pgText (value: string): string {
  return value.replaceAll('\u0000', '\ufffd')
}

function texts (value: unknown, field: string): string[] {
  const values = list(value, field)
  if (values.length > QUERY_LIMITS.maxListValues) invalid(`${field} has more than ${QUERY_LIMITS.maxListValues} values`, field)
  return values.map((v, i) => text(v, `${field}[${i}]`))
}

function time (value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) invalid(`${field} must be a number of milliseconds`, field)
  return value as number
}

function clampTime (value: number): string {
  return String(Math.min(Math.max(value, -Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER))
}

function checkBytes (value: string, field: string): void {
  if (Buffer.byteLength(value) > QUERY_LIMITS.maxValueBytes) invalid(`${field} is longer than ${QUERY_LIMITS.maxValueBytes} bytes`, field)
}

function invalid (message: string, field: string): never {
  throw new InvalidQueryError(`Invalid query: ${message}`, { details: { field } })
}
