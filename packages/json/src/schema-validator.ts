import { isKilnError, LimitExceededError, SchemaValidationError } from '@kiln/interface'
import { Ajv, type AnySchemaObject, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { LRUCache } from 'lru-cache'
import { countedCopy, EvaluationMeter, meteredFunction, meterAjv } from './evaluation-budget.js'
import { addKilnFormats } from './formats.js'
import { checkPlainJson, kindOfJson } from './json.js'
import { compileLinearPattern, type LinearPattern } from './linear-pattern.js'
import { parseSchemaRef } from './schema-ref.js'
import { replaceUniqueItems } from './unique-items.js'
import { utf8ByteLength } from '@kiln/codec'

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
 * The most work compiling a schema's patterns may take, in the units of `LinearPattern.compileWork` (a pattern's length
 * plus its expansion in RE2 instructions, up to about 8 µs each on a loaded machine): every distinct `pattern` and
 * `patternProperties` key counts once. Without it a schema of many large patterns took minutes to compile (6 500 keys
 * of `patternProperties` of 1200 instructions each fit in 256 KiB).
 */
export const MAX_SCHEMA_PATTERN_WORK = 32_768

/**
 * Steps a pattern test costs: 8 for the call (re2js sets up a matcher: about 0.6 µs), and per character of its input
 * 1, plus 1 per 8 instructions of its RE2 program (the NFA's worst case, about 13 ns per instruction).
 */
function patternSteps (pattern: LinearPattern, input: string): number {
  return 8 + input.length * (1 + (pattern.programSize >> 3))
}

/** Steps one unit of pattern compile work (a `regex` format check of a content string) costs. */
const STEPS_PER_PATTERN_WORK = 64

/** Ajv options every node must share, so that every node reaches the same verdict. */
function ajvOptions (regExp: NonNullable<Options['code']>['regExp']): Options {
  return {
    // every failing path in one error, as users fix them all at once; ajv's verdicts differ without it (with a
    // `prefixItems` that checks something, an empty array skipped the array's other keywords)
    allErrors: true,
    // Ceramic compiles schemas with `strict: false`; a schema it accepts must be accepted here, or logs would diverge
    strict: false,
    // unknown formats and keywords are ignored silently: ajv would otherwise print to the console
    logger: false,
    // the schema is checked against its meta-schema once, before Kiln's counted copy is compiled
    validateSchema: false,
    code: {
      // patterns come from schemas anyone may publish: they run in linear time, never on the backtracking RegExp
      regExp,
      // ajv's optimisation passes change no verdict and take half of the compile time of a large schema
      optimize: false,
      // every validation function tells the meter the stack it uses and the errors it hands back
      process: meteredFunction
    }
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
  const bytes = utf8ByteLength(JSON.stringify(schema))
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
 * Returns them by source, for ajv's `regExp` hook; throws past {@link MAX_SCHEMA_PATTERN_WORK}.
 */
function compilePatterns (schema: object): Map<string, LinearPattern> {
  const patterns = new Map<string, LinearPattern>()
  let work = 0
  const add = (pattern: string): void => {
    if (patterns.has(pattern)) return
    const compiled = compileLinearPattern(pattern, (steps) => {
      if (work + steps > MAX_SCHEMA_PATTERN_WORK) {
        throw new SchemaValidationError(`its patterns take more than ${MAX_SCHEMA_PATTERN_WORK} units of work to compile (their lengths plus their expansions in RE2 instructions)`, {
          details: { limit: MAX_SCHEMA_PATTERN_WORK }
        })
      }
      work += steps
    })
    patterns.set(pattern, compiled)
  }
  const stack: unknown[] = [schema]
  while (stack.length > 0) {
    const node = stack.pop()
    if (typeof node !== 'object' || node === null || Array.isArray(node)) continue
    for (const [keyword, value] of Object.entries(node)) {
      if (keyword === 'pattern' && typeof value === 'string') add(value)
      if (keyword === 'patternProperties' && typeof value === 'object' && value !== null) {
        for (const key of Object.keys(value)) add(key)
      }
      if (SCHEMA_KEYWORDS.has(keyword)) stack.push(value)
      if (SCHEMA_LIST_KEYWORDS.has(keyword) && Array.isArray(value)) stack.push(...value)
      if (SCHEMA_MAP_KEYWORDS.has(keyword) && typeof value === 'object' && value !== null) stack.push(...Object.values(value))
    }
  }
  return patterns
}

/** The UTF-8 length of `content`'s JSON, which sizes its validation budget. */
function contentBytes (content: unknown): number {
  try {
    return utf8ByteLength(JSON.stringify(content) ?? '')
  } catch (err) {
    if (!(err instanceof RangeError)) throw err
    throw new LimitExceededError('the content nests too deep to be measured', { details: { reason: 'depth' } })
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
  const meter = new EvaluationMeter()
  // the patterns of the schema being compiled, by source, compiled once by `compilePatterns`
  let patterns = new Map<string, LinearPattern>()

  /** ajv's `regExp` hook: the schema's pattern, on RE2, charging each test to the meter. */
  function linearRegExp (pattern: string, flags: string): { test(input: string): boolean, toString(): string } {
    const compiled = patterns.get(pattern) ?? compileLinearPattern(pattern)
    return {
      test: (input) => {
        meter.charge(patternSteps(compiled, input))
        return compiled.test(input)
      },
      // ajv keys its cache of compiled patterns by `toString()`, as it would a RegExp
      toString: () => `/${pattern}/${flags}`
    }
  }
  // only read when ajv writes standalone code, which Kiln never does
  linearRegExp.code = 'kilnLinearRegExp'

  function ajvFor (draft: Draft): Ajv {
    let ajv = instances.get(draft)
    if (ajv === undefined) {
      const options = ajvOptions(linearRegExp)
      ajv = draft === '2020-12' ? new Ajv2020(options) : new Ajv(options)
      addKilnFormats(ajv, (work) => { meter.charge(work * STEPS_PER_PATTERN_WORK) })
      meterAjv(ajv, meter)
      replaceUniqueItems(ajv, meter)
      instances.set(draft, ajv)
    }
    return ajv
  }

  /** Compiles Kiln's counted copy of a schema in `ajv`, and removes it again so that its `$id` can be used again. */
  function compileCopy (ajv: Ajv, copy: AnySchemaObject, schemaPatterns: Map<string, LinearPattern>): ValidateFunction {
    patterns = schemaPatterns
    try {
      return ajv.compile(copy)
    } finally {
      // compiled functions live on without it; dropping it lets another version with the same `$id` compile later
      ajv.removeSchema(copy)
      patterns = new Map()
    }
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
    if (object.$async === true) {
      throw new SchemaValidationError(`${label}: asynchronous schemas ($async) are not supported`, { details: { draft } })
    }
    let validate: ValidateFunction
    try {
      validate = compileCopy(ajv, countedCopy(object), compilePatterns(object))
    } catch (err) {
      // a `$ref` that does not resolve within the schema, a `pattern` RE2 cannot run, a clash of `$id`s
      const details = isKilnError(err) ? err.details : {}
      throw new SchemaValidationError(`${label}: ${(err as Error).message}`, { cause: err, details: { ...details, draft } })
    }
    if ((validate as { $async?: unknown }).$async === true) {
      throw new SchemaValidationError(`${label}: asynchronous schemas ($async) are not supported`, { details: { draft } })
    }
    return (content) => {
      const bytes = contentBytes(content)
      try {
        meter.start(bytes)
        return validate(content) ? [] : issuesOf(validate.errors)
      } catch (err) {
        if (!(err instanceof RangeError)) throw err
        // the stack estimate keeps far below Node's default stack: this is a node run with a smaller one
        throw new LimitExceededError(`validating the content against ${name} overflowed the stack (${err.message})`, { details: { reason: 'stack' } })
      } finally {
        meter.stop()
      }
    }
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
