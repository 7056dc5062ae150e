import { isKilnError, SchemaValidationError } from '@kiln/interface'
import { Ajv, type AnySchemaObject, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { LRUCache } from 'lru-cache'
import { checkPlainJson, kindOfJson } from './json.js'
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

/** Ajv options every node must share, so that every node reaches the same verdict. */
const AJV_OPTIONS: Options = {
  // every failing path in one error, as users fix them all at once
  allErrors: true,
  // Ceramic compiles schemas with `strict: false`; a schema it accepts must be accepted here, or logs would diverge
  strict: false,
  // unknown formats and keywords are ignored silently: ajv would otherwise print to the console
  logger: false
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
      addFormats.default(ajv)
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
      validate = ajv.compile(object)
    } catch (err) {
      // a `$ref` that does not resolve within the schema, an invalid `pattern`, a clash of `$id`s
      throw new SchemaValidationError(`${label}: ${(err as Error).message}`, { cause: err, details: { draft } })
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
