import { DRAFT_07, DRAFT_2020_12, schemaValidator, type ContentValidator, type SchemaIssue } from '@kiln/json'
import { fc, fuzzInputs, fuzzTest, mutatedJson } from '@kiln/interface-tests/fuzz'
import { Ajv, type AnySchemaObject } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { describe, expect } from 'vitest'

// JSON Schemas compiled and used, as a tile's schema is: a generator of realistic schemas (types, properties,
// required, items, enums, patterns safe and hostile, formats, $defs and $refs, combinators), mutated, plus random
// JSON and known hostile schemas; each with content drawn from the same small alphabet of keys and strings, so
// that it often matches. Oracle: the same issues twice and from a second validator, well-formed issues, and,
// where plain ajv can give a verdict (no hostile or regex-format pattern, small content), plain ajv's verdict.

interface SchemaInput {
  schema: unknown
  content: unknown
}

const keyName = fc.constantFrom('a', 'b', 'c', 'id', 'name', 'x-y', '0', '')

/** Patterns a backtracking engine runs quickly on short strings: plain ajv can check these. */
const SAFE_PATTERNS = ['^[a-z]+$', '^\\d{3}$', '^[A-Z][a-z]*$', 'b', '^$', '^.{2,5}$', '^\\p{L}+$', '^(?:foo|bar)$', '@', '\\s', '^\\S+$', '[^a]']

/** Patterns that backtrack catastrophically in JavaScript, or that Kiln refuses. */
const HOSTILE_PATTERNS = ['^(a+)+$', '(a|aa)+$', '(x+x+)+y', '^(a|a?)+$', '(.*a){12}', '(?:a|b)*a(?:a|b){40}c', '(a)\\1', '(?=a)', '(', 'a{1001}', 'a{1000}'.repeat(13)]

const pattern = fc.oneof({ arbitrary: fc.constantFrom(...SAFE_PATTERNS), weight: 4 }, { arbitrary: fc.constantFrom(...HOSTILE_PATTERNS), weight: 1 })
const format = fc.constantFrom('email', 'date', 'date-time', 'uri', 'url', 'ipv4', 'uuid', 'hostname', 'regex', 'kiln-unknown')
const typeName = fc.constantFrom('string', 'number', 'integer', 'boolean', 'null', 'object', 'array')
const smallNumber = fc.oneof(fc.integer({ min: -5, max: 10 }), fc.constantFrom(0.5, -0.5, 1e300, -1e300, 2 ** 53))

const text = fc.oneof(
  fc.constantFrom('', 'a', 'abc', 'ABC', 'Abc', '123', 'foo', 'bar', 'a b', 'a@b.co', '2024-01-31', '2024-01-31T10:00:00Z', 'http://example.com', 'https://u@ex.org:8080/p', '127.0.0.1', '^[a-z]+$', '(', 'é', 'aaaaaaaaaaaaaaaaaaaaaa!', '00000000-0000-0000-0000-000000000000', 'xxxxxxxxxxxxxxxxxxxxxxxxx'),
  fc.string({ maxLength: 8 })
)

/** Content from the schemas' alphabet of keys and strings. */
const content: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -0, 1, 2, 3, 1.5, -7, 1000, 2 ** 53, 1e300),
    text,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(keyName, tie('value'), { maxKeys: 4, noNullPrototype: true })
  )
})).value

/** Realistic schemas, up to a few levels deep, with `$ref`s to `#`, to `$defs` entries d0 and d1, and to nothing. */
const schemas = fc.letrec<{ schema: unknown, leaf: unknown, object: unknown, array: unknown, combined: unknown, ref: unknown }>((tie) => ({
  schema: fc.oneof(
    { depthSize: 'small', withCrossShrink: true, maxDepth: 3 },
    { arbitrary: tie('leaf'), weight: 4 },
    { arbitrary: tie('object'), weight: 2 },
    { arbitrary: tie('array'), weight: 2 },
    { arbitrary: tie('combined'), weight: 2 },
    { arbitrary: tie('ref'), weight: 1 }
  ),
  leaf: fc.oneof(
    fc.boolean(),
    fc.record({ type: fc.constant('string'), minLength: fc.nat(4), maxLength: fc.nat(20), pattern, format }, { requiredKeys: ['type'] }),
    fc.record({ type: fc.constantFrom('integer', 'number'), minimum: smallNumber, maximum: smallNumber, exclusiveMinimum: smallNumber, multipleOf: fc.constantFrom(1, 2, 0.5, 0.1, 1e-300, 1e300) }, { requiredKeys: ['type'] }),
    fc.record({ type: fc.oneof(typeName, fc.uniqueArray(typeName, { minLength: 1, maxLength: 3 })) }),
    fc.record({ enum: fc.array(content, { minLength: 1, maxLength: 4 }) }),
    fc.record({ const: content })
  ),
  object: fc.record({
    type: fc.constant('object'),
    properties: fc.dictionary(keyName, tie('schema'), { maxKeys: 3, noNullPrototype: true }),
    required: fc.uniqueArray(keyName, { maxLength: 3 }),
    additionalProperties: fc.oneof(fc.boolean(), tie('schema')),
    patternProperties: fc.dictionary(pattern, tie('schema'), { maxKeys: 2, noNullPrototype: true }),
    propertyNames: tie('schema'),
    minProperties: fc.nat(3),
    maxProperties: fc.nat(5),
    dependentRequired: fc.dictionary(keyName, fc.uniqueArray(keyName, { maxLength: 2 }), { maxKeys: 2, noNullPrototype: true }),
    dependentSchemas: fc.dictionary(keyName, tie('schema'), { maxKeys: 2, noNullPrototype: true }),
    unevaluatedProperties: fc.oneof(fc.boolean(), tie('schema'))
  }, { requiredKeys: ['type'] }),
  array: fc.record({
    type: fc.constant('array'),
    items: tie('schema'),
    prefixItems: fc.array(tie('schema'), { maxLength: 2 }),
    minItems: fc.nat(3),
    maxItems: fc.nat(5),
    uniqueItems: fc.boolean(),
    contains: tie('schema'),
    minContains: fc.nat(2),
    maxContains: fc.nat(3),
    unevaluatedItems: fc.oneof(fc.boolean(), tie('schema'))
  }, { requiredKeys: ['type'] }),
  combined: fc.oneof(
    fc.record({ anyOf: fc.array(tie('schema'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ oneOf: fc.array(tie('schema'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ allOf: fc.array(tie('schema'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ not: tie('schema') }),
    fc.record({ if: tie('schema'), then: tie('schema'), else: tie('schema') }, { requiredKeys: ['if'] })
  ),
  ref: fc.constantFrom({ $ref: '#' }, { $ref: '#/$defs/d0' }, { $ref: '#/$defs/d1' }, { $ref: '#/$defs/missing' }, { type: 'object', properties: { a: { $ref: '#' } } })
}))

/** A whole schema: a draft, two `$defs` entries and a body. */
const schema = fc.record({
  draft: fc.constantFrom(undefined, undefined, DRAFT_2020_12, DRAFT_07),
  d0: schemas.schema,
  d1: schemas.schema,
  body: schemas.schema
}).map(({ draft, d0, d1, body }) => ({
  ...(typeof body === 'object' && body !== null ? body : { allOf: [body] }),
  ...(draft === undefined ? {} : { $schema: draft }),
  $defs: { d0, d1 }
}))

/** `anyOf` of two `$ref`s to a definition that does the same, `levels` deep. */
function doublingChain (levels: number): object {
  const $defs: Record<string, object> = { [`d${levels}`]: { type: 'string' } }
  for (let i = 0; i < levels; i++) $defs[`d${i}`] = { anyOf: [{ $ref: `#/$defs/d${i + 1}` }, { $ref: `#/$defs/d${i + 1}` }] }
  return { $defs, $ref: '#/$defs/d0' }
}

/** Schemas that stalled or crashed validation before Kiln bounded it, and what it refuses. */
const HOSTILE_SCHEMAS: unknown[] = [
  doublingChain(30),
  { allOf: [{ properties: { a: { $ref: '#' } } }, { properties: { a: { $ref: '#' } } }] },
  { anyOf: [{ $ref: '#' }] },
  { type: 'object', properties: { a: { $ref: '#' }, ...Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`p${i}`, { anyOf: [{ type: 'string' }, { minimum: 3 }] }])) } },
  { type: 'string', pattern: '^(a+)+$' },
  { type: 'array', uniqueItems: true },
  { items: { enum: Array.from({ length: 2000 }, (_, i) => `v${i}`) } },
  { allOf: Array.from({ length: 200 }, () => ({ minLength: 1 })) },
  { items: { $ref: '#/$defs/x' }, $defs: { x: { type: 'string', allOf: [{ $ref: '#/$defs/y' }] }, y: {} } },
  { const: { anyOf: [{ $ref: '#/const' }, { $ref: '#/const' }] }, $ref: '#/const' },
  { type: 'string', format: 'regex' },
  { patternProperties: { [`^${'a{1000}'.repeat(11)}$`]: true } }
]

/** Large content for the hostile schemas: long strings, wide arrays, deep nesting. */
const largeContent = fc.oneof(
  fc.nat({ max: 50_000 }).map((n) => `${'a'.repeat(n)}!`),
  fc.nat({ max: 3000 }).map((n) => Array.from({ length: n }, (_, i) => ({ id: i % 500, tags: [i % 7] }))),
  fc.nat({ max: 3000 }).map((n) => new Array<number>(n).fill(0)),
  fc.integer({ min: 1, max: 900 }).map((n) => {
    let value: unknown = {}
    for (let i = 0; i < n; i++) value = { a: value }
    return value
  }),
  fc.constantFrom(`${'('.repeat(3000)}a${')'.repeat(3000)}`, 'a{1000}'.repeat(20))
)

const valid = fc.record({ schema, content })

function mutated (inputs: fc.Arbitrary<SchemaInput>): fc.Arbitrary<SchemaInput> {
  return mutatedJson(inputs).map((input) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return { schema: input, content: null }
    const { schema, content } = input as Partial<SchemaInput>
    return { schema, content }
  })
}

const random: fc.Arbitrary<SchemaInput> = fc.oneof(
  { arbitrary: fc.record({ schema: fc.jsonValue({ maxDepth: 4 }), content: fc.jsonValue({ maxDepth: 3 }) }), weight: 3 },
  { arbitrary: fc.record({ schema: fc.constantFrom(...HOSTILE_SCHEMAS), content: fc.oneof(content, largeContent) }), weight: 1 }
)

/** Plain ajv, as Ceramic compiles schemas, with ajv-formats: the reference verdict. */
const plain = [new Ajv2020({ strict: false, allErrors: true, logger: false }), new Ajv({ strict: false, allErrors: true, logger: false })] as const
for (const ajv of plain) addFormats.default(ajv)

/** Plain ajv's verdict, or `undefined` when it cannot give one here: hostile patterns, the regex format, large content. */
function plainVerdict (schema: unknown, data: unknown): boolean | undefined {
  const text = JSON.stringify(schema)
  if (text.includes('"regex"') || (JSON.stringify(data) ?? '').length > 4096) return undefined
  const patterns = [...text.matchAll(/"pattern":("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string)
  if (text.includes('"patternProperties"') || patterns.some((p) => !SAFE_PATTERNS.includes(p))) return undefined
  const object = schema as AnySchemaObject
  const ajv = object.$schema === DRAFT_07 ? plain[1] : plain[0]
  try {
    return ajv.compile(object)(data) as boolean
  } finally {
    ajv.removeSchema(object)
  }
}

/** A second validator: what one compiled must not change what another decides. Asked for every 4th accepted input. */
const second = schemaValidator()
let accepted = 0
const validator = schemaValidator()

/** The hostile schemas are the same objects every time: compiled once (the others are new objects each time). */
const compiledHostile = new WeakMap<object, ContentValidator>()

function compile (schema: unknown): ContentValidator {
  const known = typeof schema === 'object' && schema !== null ? compiledHostile.get(schema) : undefined
  if (known !== undefined) return known
  const check = validator.compile(schema)
  if (HOSTILE_SCHEMAS.includes(schema)) compiledHostile.set(schema as object, check)
  return check
}

function isIssue (issue: SchemaIssue): boolean {
  return typeof issue.message === 'string' && typeof issue.keyword === 'string' && (issue.path === '' || issue.path.startsWith('/'))
}

describe('JSON Schemas, compiled and used', () => {
  fuzzTest<SchemaInput>({
    name: 'json.schema',
    // Each input compiles a schema (ajv generates and evaluates code): 4,000 of them, not the default 10,000, to keep
    // `npm test` in its time; `KILN_FUZZ_RUNS` runs more.
    runs: 4_000,
    inputs: fuzzInputs(valid, mutated, random),
    run: ({ schema, content }) => {
      let check: ContentValidator
      try {
        check = compile(schema)
      } catch (err) {
        // a refusal for the schema's sake, never because Kiln's own machinery met ajv code it does not know
        if (/Kiln does not know|is expected/.test((err as Error).message)) throw new TypeError(`internal refusal: ${(err as Error).message}`)
        throw err
      }
      return { check, issues: check(content) }
    },
    errors: ['SchemaValidationError', 'LimitExceededError'],
    inputMs: 500,
    accepted: ({ schema, content }, result) => {
      const { check, issues } = result as { check: ContentValidator, issues: SchemaIssue[] }
      expect(issues.every(isIssue)).toBe(true)
      // the same verdict and issues every time, and from another validator (compiling is the suite's main cost)
      expect(check(content)).toEqual(issues)
      if (accepted++ % 4 === 0) expect(second.compile(schema)(content)).toEqual(issues)
      const reference = plainVerdict(schema, content)
      if (reference !== undefined) expect(issues.length === 0).toBe(reference)
    }
  })
})
