import { isKilnError, SchemaValidationError } from '@kiln/interface'
import { Ajv, type AnySchemaObject, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { LRUCache } from 'lru-cache'
import { addKilnFormats } from './formats.js'
import { checkPlainJson, kindOfJson } from './json.js'
import { compileLinearPattern } from './linear-pattern.js'
import { parseSchemaRef } from './schema-ref.js'

/** `$schema` of JSON Schema draft 2020-12, the draft used when a schema names none. */
export const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema'

/** `$schema` of JSON Schema draft-07. */
export const DRAFT_07 = 'http://json-schema.org/draft-07/schema#'

/** One way content fails a schema: the JSON pointer into the content (`''` for the root) and ajv's message. */
export interface SchemaIssue {
  path: string
  message: string
  /** The JSON Schema keyword that failed (`type`, `required`, `format`, …). */
  keyword: string
}

/** A compiled schema: the issues of `content` against it, none when it is valid. */
export type ContentValidator = (content: unknown) => SchemaIssue[]

/** Options of {@link schemaValidator}. */
export interface SchemaValidatorInit {
  /** How many compiled schemas to keep, keyed by schema CommitID (least recently used go first). Default 100. */
  cacheSize?: number
}

/** Compiles JSON Schemas (draft 2020-12 and draft-07) with ajv and validates content against them. */
export interface SchemaValidator {
  /**
   * Compiles `schema`, a JSON object. Throws `SchemaValidationError` when it is not a valid schema of its draft (the
   * message lists the failing paths, `details.errors` the issues), names an unsupported `$schema`, a `$ref` outside
   * itself or an invalid pattern, or is `$async`. `name` says what the schema is in messages (default `the schema`).
   */
  compile(schema: unknown, name?: string): ContentValidator
  /**
   * Validates `content` against `schemaContent`, the content of the schema document at `schemaCommitId`, compiling it
   * once per CommitID. Throws `SchemaValidationError` listing each failing path (`/age must be integer`).
   */
  validate(schemaCommitId: string, schemaContent: unknown, content: unknown): void
  /**
   * Validates `content` against the schema at `schemaCommitId`, calling `loadSchema` (with the normalised CommitID) for
   * the schema's content only when its compiled form is not cached. The caller decides which documents may serve as a
   * schema: `loadSchema` throws to refuse one.
   */
  validateDocument(content: unknown, schemaCommitId: string, loadSchema: SchemaLoader): Promise<void>
}

/** Reads the content of the schema at a CommitID, for {@link SchemaValidator.validateDocument}. */
export type SchemaLoader = (schemaCommitId: string) => Promise<unknown>

/** The issues listed in a message; the rest are counted, and kept in `details.errors` up to {@link MAX_DETAILED}. */
const MAX_LISTED = 20
const MAX_DETAILED = 100

/** Largest schema compiled, in bytes of its JSON encoding: the schema doctype's default limit on its content. */
export const MAX_SCHEMA_BYTES = 256 * 1024

/** Deepest nesting of a schema's JSON (a property of a property of … counts two levels each). */
export const MAX_SCHEMA_DEPTH = 64

/**
 * Most objects and arrays in a schema's JSON. ajv's compile time grows with them (about 0.6 ms each on one core),
 * not with bytes: 1000 keeps the worst compile near half a second, and real schemas far below it.
 */
export const MAX_SCHEMA_NODES = 1000

/**
 * The regular-expression engine ajv compiles `pattern` and `patternProperties` with: ECMAScript patterns run on RE2
 * (linear time). A pattern RE2 cannot run throws `SchemaValidationError` naming it, so its schema does not compile.
 */
function linearRegExp (pattern: string, flags: string): { test(input: string): boolean, toString(): string } {
  const compiled = compileLinearPattern(pattern)
  // ajv keys its cache of compiled patterns by `toString()`, as it would a RegExp
  return { test: (input) => compiled.test(input), toString: () => `/${pattern}/${flags}` }
}
// only read when ajv writes standalone code, which Kiln never does
linearRegExp.code = 'kilnLinearRegExp'

/** Ajv options every node must share, so that every node reaches the same verdict. */
const AJV_OPTIONS: Options = {
  // every failing path in one error, as users fix them all at once
  allErrors: true,
  // Ceramic compiles schemas with `strict: false`; a schema it accepts must be accepted here, or logs would diverge
  strict: false,
  // unknown formats and keywords are ignored silently: ajv would otherwise print to the console
  logger: false,
  code: {
    // patterns come from schemas anyone may publish: they run in linear time, never on the backtracking RegExp
    regExp: linearRegExp,
    // ajv's optimisation passes change no verdict and take half of the compile time of a large schema
    optimize: false
  }
}

type Draft = '2020-12' | '07'

function draftOf (schema: AnySchemaObject, name: string): Draft {
  const declared: unknown = schema.$schema
  if (declared === undefined) return '2020-12'
  if (declared === DRAFT_2020_12 || declared === `${DRAFT_2020_12}#`) return '2020-12'
  if (declared === DRAFT_07 || declared === DRAFT_07.slice(0, -1)) return '07'
  throw new SchemaValidationError(
    `${name} declares $schema ${JSON.stringify(declared)}; Kiln validates draft 2020-12 ("${DRAFT_2020_12}", the default) and draft-07 ("${DRAFT_07}")`,
    { details: { $schema: typeof declared === 'string' ? declared : kindOfJson(declared) } }
  )
}

function issuesOf (errors: ErrorObject[] | null | undefined): SchemaIssue[] {
  return (errors ?? []).map((e) => ({ path: e.instancePath, message: e.message ?? `fails ${e.keyword}`, keyword: e.keyword }))
}

/** `/age must be integer; (root) must have required property 'name'`, at most 20 of them (the rest are counted). */
export function describeIssues (issues: readonly SchemaIssue[]): string {
  const listed = issues.slice(0, MAX_LISTED).map((i) => `${i.path === '' ? '(root)' : i.path} ${i.message}`).join('; ')
  return issues.length > MAX_LISTED ? `${listed}; and ${issues.length - MAX_LISTED} more` : listed
}

function detailed (issues: readonly SchemaIssue[]): SchemaIssue[] {
  return issues.slice(0, MAX_DETAILED)
}

/** The deepest nesting of a JSON value (plain JSON, already checked) and how many objects and arrays it holds. */
function shapeOf (value: unknown): { depth: number, nodes: number } {
  let depth = 0
  let nodes = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [item, level] = stack.pop()!
    if (typeof item !== 'object' || item === null) continue
    nodes++
    depth = Math.max(depth, level + 1)
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, level + 1])
  }
  return { depth, nodes }
}

/** Refuses a schema too large, too deep or with too many parts to compile in bounded time. */
function checkSchemaBounds (schema: object, name: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(schema), 'utf8')
  if (bytes > MAX_SCHEMA_BYTES) {
    throw new SchemaValidationError(`${name} is ${bytes} bytes as JSON, more than the ${MAX_SCHEMA_BYTES} bytes a schema may have`, {
      details: { size: bytes, limit: MAX_SCHEMA_BYTES }
    })
  }
  const { depth, nodes } = shapeOf(schema)
  if (depth > MAX_SCHEMA_DEPTH) {
    throw new SchemaValidationError(`${name} nests ${depth} levels deep, more than the ${MAX_SCHEMA_DEPTH} levels a schema may have`, {
      details: { depth, limit: MAX_SCHEMA_DEPTH }
    })
  }
  if (nodes > MAX_SCHEMA_NODES) {
    throw new SchemaValidationError(`${name} has ${nodes} objects and arrays, more than the ${MAX_SCHEMA_NODES} a schema may have`, {
      details: { nodes, limit: MAX_SCHEMA_NODES }
    })
  }
}

/** Keywords whose value is a schema, a list of schemas, or a map of them (drafts 2020-12 and 07). */
const SCHEMA_KEYWORDS = new Set(['additionalItems', 'additionalProperties', 'contains', 'else', 'if', 'items', 'not', 'propertyNames', 'then', 'unevaluatedItems', 'unevaluatedProperties'])
const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'])
const SCHEMA_MAP_KEYWORDS = new Set(['$defs', 'definitions', 'dependentSchemas', 'dependencies', 'patternProperties', 'properties'])

/**
 * Compiles every `pattern` and `patternProperties` key of the schema, reachable or not, so that a pattern RE2 cannot
 * run refuses the schema even where ajv would never compile it (an unused `$defs` entry, a key whose schema is `{}`).
 */
function checkPatterns (schema: object): void {
  const stack: unknown[] = [schema]
  while (stack.length > 0) {
    const node = stack.pop()
    if (typeof node !== 'object' || node === null || Array.isArray(node)) continue
    for (const [keyword, value] of Object.entries(node)) {
      if (keyword === 'pattern' && typeof value === 'string') compileLinearPattern(value)
      if (keyword === 'patternProperties' && typeof value === 'object' && value !== null) {
        for (const key of Object.keys(value)) compileLinearPattern(key)
      }
      if (SCHEMA_KEYWORDS.has(keyword)) stack.push(value)
      if (SCHEMA_LIST_KEYWORDS.has(keyword) && Array.isArray(value)) stack.push(...value)
      if (SCHEMA_MAP_KEYWORDS.has(keyword) && typeof value === 'object' && value !== null) stack.push(...Object.values(value))
    }
  }
}

/** A compiled schema, or why the schema at that CommitID does not compile (kept too: it will not compile next time either). */
type CacheEntry = { validator: ContentValidator } | { error: { message: string, details: Record<string, unknown> } }

/**
 * Creates a validator with its own ajv instances (one per draft, with `ajv-formats`) and its own cache of compiled
 * schemas. Strictness: `strict: false` (unknown keywords and formats are ignored, as Ceramic does) and `allErrors`.
 */
export function schemaValidator (init: SchemaValidatorInit = {}): SchemaValidator {
  const cacheSize = init.cacheSize ?? 100
  if (!Number.isSafeInteger(cacheSize) || cacheSize <= 0) {
    throw new RangeError(`schemaValidator: cacheSize must be a positive integer, got ${String(init.cacheSize)}`)
  }
  const instances = new Map<Draft, Ajv>()
  const cache = new LRUCache<string, CacheEntry>({ max: cacheSize })

  function ajvFor (draft: Draft): Ajv {
    let ajv = instances.get(draft)
    if (ajv === undefined) {
      ajv = draft === '2020-12' ? new Ajv2020(AJV_OPTIONS) : new Ajv(AJV_OPTIONS)
      addKilnFormats(ajv)
      instances.set(draft, ajv)
    }
    return ajv
  }

  function compile (schema: unknown, name = 'the schema'): ContentValidator {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw new SchemaValidationError(`${name} is not a valid JSON Schema: it must be a JSON object, got ${kindOfJson(schema)}`, { details: { found: kindOfJson(schema) } })
    }
    try {
      checkPlainJson(schema, name)
    } catch (err) {
      throw new SchemaValidationError((err as Error).message, { cause: err, details: { ...(err as { details?: object }).details } })
    }
    checkSchemaBounds(schema, name)
    const object = schema as AnySchemaObject
    const draft = draftOf(object, name)
    const ajv = ajvFor(draft)
    const label = `${name} is not a valid JSON Schema (${draft === '07' ? 'draft-07' : 'draft 2020-12'})`
    if (ajv.validateSchema(object) !== true) {
      const issues = issuesOf(ajv.errors)
      throw new SchemaValidationError(`${label}: ${describeIssues(issues)}`, { details: { draft, errors: detailed(issues) } })
    }
    // every compiled schema is removed again, so only the meta-schemas stay registered: a schema that takes one of
    // their ids is refused here, as removing it afterwards would remove the meta-schema too
    const id = typeof object.$id === 'string' ? object.$id.replace(/#\/?$/, '') : ''
    if (id !== '' && (ajv.schemas[id] !== undefined || ajv.refs[id] !== undefined)) {
      throw new SchemaValidationError(`${label}: its $id ${JSON.stringify(id)} is the id of a meta-schema`, { details: { draft, $id: id } })
    }
    let validate: ValidateFunction
    try {
      checkPatterns(object)
      validate = ajv.compile(object)
    } catch (err) {
      // a `$ref` that does not resolve within the schema, a `pattern` RE2 cannot run, a clash of `$id`s
      const details = isKilnError(err) ? err.details : {}
      throw new SchemaValidationError(`${label}: ${(err as Error).message}`, { cause: err, details: { ...details, draft } })
    } finally {
      // compiled functions live on without it; dropping it lets another version with the same `$id` compile later
      ajv.removeSchema(object)
    }
    if ((validate as { $async?: unknown }).$async === true) {
      throw new SchemaValidationError(`${label}: asynchronous schemas ($async) are not supported`, { details: { draft } })
    }
    return (content) => validate(content) ? [] : issuesOf(validate.errors)
  }

  function compiled (key: string, schemaContent: unknown): ContentValidator {
    let entry = cache.get(key)
    if (entry === undefined) {
      try {
        entry = { validator: compile(schemaContent, `the content of schema ${key}`) }
      } catch (err) {
        if (!isKilnError(err, 'SchemaValidationError')) throw err
        entry = { error: { message: err.message, details: { ...err.details, schema: key } } }
      }
      cache.set(key, entry)
    }
    if ('error' in entry) throw new SchemaValidationError(entry.error.message, { details: entry.error.details })
    return entry.validator
  }

  function check (key: string, validator: ContentValidator, content: unknown): void {
    const issues = validator(content)
    if (issues.length > 0) {
      throw new SchemaValidationError(`content does not match schema ${key}: ${describeIssues(issues)}`, { details: { schema: key, errors: detailed(issues) } })
    }
  }

  return {
    compile,
    validate (schemaCommitId, schemaContent, content) {
      const key = parseSchemaRef(schemaCommitId).toString()
      check(key, compiled(key, schemaContent), content)
    },
    async validateDocument (content, schemaCommitId, loadSchema) {
      const key = parseSchemaRef(schemaCommitId).toString()
      const schemaContent = cache.has(key) ? undefined : await loadSchema(key)
      check(key, compiled(key, schemaContent), content)
    }
  }
}
