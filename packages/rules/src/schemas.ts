import { InvalidRulesError, isKilnError } from '@kiln/interface'
import { schemaValidator, type ContentValidator, type SchemaIssue } from '@kiln/json'
import { MAX_PATTERN_CHARS, MAX_SCHEMA_BYTES, SCHEMA_CACHE_SIZE } from './limits.js'
import { escapeSegment } from './pointer.js'
import type { RuleSchema } from './types.js'
import { utf8ByteLength } from '@kiln/codec'
import { sha256 } from '@noble/hashes/sha2'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils'

// One ajv setup for the process: `@kiln/json`'s, whose patterns run on RE2 and whose validation is metered.
const validator = schemaValidator({ cacheSize: 1 })

/** Compiled schemas by content hash, least recently used first (a Map keeps insertion order). */
const compiled = new Map<string, ContentValidator>()

/** The JSON of `value` with object keys sorted, so that equal schemas hash alike whatever their key order. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

function invalid (path: string, message: string, cause?: unknown): never {
  throw new InvalidRulesError(`Invalid rules at ${path === '' ? '(root)' : path}: ${message}`, { cause, details: { path } })
}

/** Keywords that refer to another schema by URI: only a local `#...` reference keeps a verdict free of any fetch. */
const REF_KEYWORDS = ['$ref', '$dynamicRef', '$recursiveRef']

/** Refuses what the rules language does not allow in a schema even where `@kiln/json` would: remote refs, long patterns. */
function checkSchemaSafety (schema: unknown, path: string): void {
  const stack: Array<[unknown, string]> = [[schema, path]]
  while (stack.length > 0) {
    const [node, at] = stack.pop()!
    if (typeof node !== 'object' || node === null) continue
    if (Array.isArray(node)) {
      node.forEach((item, i) => stack.push([item, `${at}/${i}`]))
      continue
    }
    for (const [key, value] of Object.entries(node)) {
      const here = `${at}/${escapeSegment(key)}`
      if (REF_KEYWORDS.includes(key) && typeof value === 'string' && !value.startsWith('#')) {
        invalid(here, `${key} ${JSON.stringify(value.slice(0, 80))} refers outside the schema: a rule's schema may only use local references ("#/$defs/...")`)
      }
      if (key === '$async') invalid(here, 'asynchronous schemas ($async) are not allowed')
      if (key === 'pattern' && typeof value === 'string' && value.length > MAX_PATTERN_CHARS) {
        invalid(here, `the pattern is ${value.length} characters, more than the ${MAX_PATTERN_CHARS} a rule's schema may use`)
      }
      if (key === 'patternProperties' && typeof value === 'object' && value !== null) {
        for (const pattern of Object.keys(value)) {
          if (pattern.length > MAX_PATTERN_CHARS) {
            invalid(`${here}/${escapeSegment(pattern.slice(0, 32))}`, `the pattern is ${pattern.length} characters, more than the ${MAX_PATTERN_CHARS} a rule's schema may use`)
          }
        }
      }
      stack.push([value, here])
    }
  }
}

function remember (hash: string, compiledSchema: ContentValidator): void {
  compiled.delete(hash)
  compiled.set(hash, compiledSchema)
  while (compiled.size > SCHEMA_CACHE_SIZE) compiled.delete(compiled.keys().next().value!)
}

/**
 * Checks and compiles a rule's JSON Schema found at `path` of the rules content, caching it by content hash. Throws
 * `InvalidRulesError` at that path for anything refused.
 */
export function compileRuleSchema (schema: unknown, path: string): RuleSchema {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    invalid(path, 'a JSON Schema must be an object')
  }
  const text = canonicalJson(schema)
  const bytes = utf8ByteLength(text)
  if (bytes > MAX_SCHEMA_BYTES) invalid(path, `the schema is ${bytes} bytes as JSON, more than the ${MAX_SCHEMA_BYTES} a rule's schema may have`)
  checkSchemaSafety(schema, path)
  const hash = bytesToHex(sha256(utf8ToBytes(text)))
  if (!compiled.has(hash)) {
    try {
      remember(hash, validator.compile(schema, 'the schema'))
    } catch (err) {
      if (!isKilnError(err)) throw err
      invalid(path, err.message, err)
    }
  }
  return Object.freeze({ schema: schema as Record<string, unknown>, hash })
}

/** The issues of `value` against a rule's schema (compiled again if it was evicted from the cache). */
export function validateWithRuleSchema (ruleSchema: RuleSchema, value: unknown): SchemaIssue[] {
  let compiledSchema = compiled.get(ruleSchema.hash)
  if (compiledSchema === undefined) {
    compiledSchema = validator.compile(ruleSchema.schema, 'the schema')
  }
  remember(ruleSchema.hash, compiledSchema)
  return compiledSchema(value)
}

/** How many compiled schemas the cache holds now (for tests of its bound). */
export function cachedSchemaCount (): number {
  return compiled.size
}
