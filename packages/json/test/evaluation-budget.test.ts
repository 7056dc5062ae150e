import { BUDGET_BASE, BUDGET_PER_BYTE, MAX_VALIDATION_STACK, describeIssues, schemaValidator, validationBudget } from '@kiln/json'
import { describe, expect, it } from 'vitest'
import { thrown } from './fixtures/json.js'

/** `anyOf` of two `$ref`s to a definition that does the same, `levels` deep: 2^levels evaluations of any content. */
function doublingChain (levels: number, leaf: object = { type: 'string' }, at = '#'): { $defs: Record<string, object>, $ref: string } {
  const $defs: Record<string, object> = { [`d${levels}`]: leaf }
  for (let i = 0; i < levels; i++) $defs[`d${i}`] = { anyOf: [{ $ref: `${at}/$defs/d${i + 1}` }, { $ref: `${at}/$defs/d${i + 1}` }] }
  return { $defs, $ref: `${at}/$defs/d0` }
}

/** `{ a: { a: … leaf } }`, `depth` levels deep. */
function nested (depth: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

/** Ten properties, half strings and half integers: an item of an ordinary list. */
const itemSchema = {
  type: 'object',
  properties: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, i % 2 === 0 ? { type: 'integer', minimum: 0 } : { type: 'string', maxLength: 100 }])),
  required: Array.from({ length: 10 }, (_, i) => `p${i}`),
  additionalProperties: false
}
const item = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, i % 2 === 0 ? i : `value ${i}`]))

describe('the evaluation budget', () => {
  const validator = schemaValidator()

  it('is 50 000 steps plus 20 per byte of content', () => {
    expect(validationBudget(0)).toBe(BUDGET_BASE)
    expect(validationBudget(1024)).toBe(BUDGET_BASE + 1024 * BUDGET_PER_BYTE)
  })

  it('stops anyOf of two $refs, 30 levels deep (2^30 evaluations), with LimitExceededError naming the budget', () => {
    const check = validator.compile(doublingChain(30))
    for (const content of [1, 'valid', { a: [1, 2, 3] }]) {
      const err = thrown(() => check(content))
      expect(err.name).toBe('LimitExceededError')
      const bytes = JSON.stringify(content).length
      expect(err.message).toBe(`validating ${bytes} bytes of content against the schema takes more than its budget of ${validationBudget(bytes)} steps (50000 + 20 per byte)`)
      expect(err.details).toEqual({ budget: validationBudget(bytes), contentBytes: bytes })
    }
    // the same chain with fewer levels fits, and gives ajv's verdict
    expect(validator.compile(doublingChain(8))('valid')).toEqual([])
    expect(validator.compile(doublingChain(8))(1).length).toBeGreaterThan(0)
  })

  it('stops allOf of two recursive branches, which doubles per level of content, whatever branch fails', () => {
    const schema = { allOf: [{ properties: { a: { $ref: '#' } } }, { properties: { a: { $ref: '#' } } }] }
    const check = validator.compile(schema)
    expect(check(nested(8))).toEqual([])
    for (const content of [nested(40), { a: nested(39), b: 'x'.repeat(1000) }]) {
      expect(thrown(() => check(content)).name).toBe('LimitExceededError')
    }
  })

  it('reaches the same verdict, and stops at the same point, every time', () => {
    const check = validator.compile(doublingChain(30))
    const first = thrown(() => check('x'.repeat(100)))
    const again = schemaValidator().compile(doublingChain(30))
    expect(thrown(() => again('x'.repeat(100))).details).toEqual(first.details)
  })

  it('stops a schema that recurses in place with LimitExceededError, not a stack overflow', () => {
    for (const schema of [{ anyOf: [{ $ref: '#' }] }, { $defs: { a: { allOf: [{ $ref: '#/$defs/b' }] }, b: { not: { $ref: '#/$defs/a' } } }, $ref: '#/$defs/a' }]) {
      const err = thrown(() => validator.compile(schema)(1))
      expect(err.name).toBe('LimitExceededError')
      expect(err.message).toContain(`nests its calls deeper than the limit of ${MAX_VALIDATION_STACK} bytes of stack`)
    }
  })

  it('stops recursion through a large function by the stack it uses, before Node\'s stack overflows', () => {
    // 240 anyOf properties make a frame of about 25 KiB: plain ajv overflows Node's stack at about 38 levels of content
    const properties: Record<string, unknown> = { a: { $ref: '#' } }
    for (let i = 0; i < 240; i++) properties[`p${i}`] = { anyOf: [{ type: 'string' }, { type: 'number', minimum: 3 }] }
    const check = validator.compile({ type: 'object', properties })
    expect(check(nested(10, {}))).toEqual([])
    const err = thrown(() => check(nested(100, {})))
    expect(err.name).toBe('LimitExceededError')
    expect(err.details).toEqual({ stackLimit: MAX_VALIDATION_STACK })
  })

  it('validates 1000 levels of content against a small recursive schema', () => {
    const check = validator.compile({ type: 'object', properties: { a: { $ref: '#' } } })
    expect(check(nested(1000, {}))).toEqual([])
    expect(describeIssues(check(nested(1000, 'x')))).toBe(`/${'a/'.repeat(999)}a must be object`)
  })

  it('passes an array of 10 000 objects of ten properties well within the budget, inline or through $ref', () => {
    const list = Array.from({ length: 10_000 }, () => item)
    expect(validator.compile({ type: 'array', items: itemSchema })(list)).toEqual([])
    expect(validator.compile({ type: 'array', items: { $ref: '#/$defs/item' }, $defs: { item: itemSchema } })(list)).toEqual([])
    expect(validator.compile({ type: 'array', items: { allOf: [{ $ref: '#/$defs/item' }], unevaluatedProperties: false }, $defs: { item: { ...itemSchema, additionalProperties: true } } })(list)).toEqual([])
  })

  it('lists the issues of 128 000 failing calls in linear time: a failing call no longer copies every earlier error', () => {
    // ajv concatenated the errors of each failing call into a new array: 68 s for 32 000 items
    const schema = { items: { $ref: '#/$defs/x' }, $defs: { x: { type: 'string', allOf: [{ $ref: '#/$defs/y' }] }, y: {} } }
    const issues = validator.compile(schema)(new Array(128_000).fill(0))
    expect(issues).toHaveLength(128_000)
    expect(issues[127_999]).toEqual({ path: '/127999', message: 'must be string', keyword: 'type' })
  })

  it('charges every error ajv builds, and keeps a branch\'s discarded errors cheap', () => {
    const names = Array.from({ length: 1000 }, (_, i) => `p${i}`)
    // 1000 missing properties in each of 200 items: 200 000 error objects for 3 KB of content
    expect(thrown(() => validator.compile({ items: { required: names } })(new Array(200).fill({}))).name).toBe('LimitExceededError')
    expect(validator.compile({ items: { required: names } })([{}])).toHaveLength(1000)
    // the first branch fails on each of 10 000 items through a call, then the second passes: valid
    const passes = validator.compile({ type: 'array', items: { anyOf: [{ items: { $ref: '#/$defs/p' } }, { items: { type: 'number' } }] }, $defs: { p: { type: 'string', not: { $ref: '#/$defs/q' } }, q: false } })
    expect(passes([new Array(10_000).fill(0)])).toEqual([])
  })

  it('charges the work of keywords that grows with the data: long strings, many keys, large enums', () => {
    const longString = 'x'.repeat(100_000)
    // 500 × minLength on a 100 000-character string: 5 × 10^7 characters read for 100 KB of content
    expect(thrown(() => validator.compile({ allOf: Array.from({ length: 500 }, (_, i) => ({ minLength: i })) })(longString)).name).toBe('LimitExceededError')
    expect(validator.compile({ allOf: Array.from({ length: 5 }, (_, i) => ({ minLength: i })) })(longString)).toEqual([])
    // an enum of 20 000 strings checked against each of 50 000 items
    const values = Array.from({ length: 20_000 }, (_, i) => `v${i}`)
    expect(thrown(() => validator.compile({ items: { enum: values } })(new Array(50_000).fill('v19999'))).name).toBe('LimitExceededError')
    expect(validator.compile({ items: { enum: values.slice(0, 20) } })(new Array(50_000).fill('v19'))).toEqual([])
    // reading the keys of a 20 000-key object costs about 250 ns each: 500 dependentSchemas that count them, 2.5 s
    const wide = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]))
    const dependents = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, { minProperties: 1 }]))
    expect(thrown(() => validator.compile({ dependentSchemas: dependents })(wide)).name).toBe('LimitExceededError')
    expect(validator.compile({ dependentSchemas: Object.fromEntries(Object.entries(dependents).slice(0, 5)) })(wide)).toEqual([])
  })

  it('refuses a $ref into a value that is not a schema (const, enum, a map of schemas), which it could not count', () => {
    for (const [schema, ref] of [
      [{ const: { anyOf: [{ $ref: '#/const' }, { $ref: '#/const' }] }, $ref: '#/const' }, '#/const'],
      [{ enum: [{ type: 'string' }], items: { $ref: '#/enum/0' } }, '#/enum/0'],
      [{ properties: { type: { const: 1 } }, not: { $ref: '#/properties' } }, '#/properties'],
      [{ allOf: [{ type: 'string' }], not: { $ref: '#/allOf' } }, '#/allOf']
    ] as const) {
      const err = thrown(() => validator.compile(schema))
      expect(err.name).toBe('SchemaValidationError')
      expect(err.message).toContain(`$ref ${JSON.stringify(ref)} points at a value that is not a schema`)
    }
  })

  it('counts what a $ref finds under an unknown keyword, and a schema\'s own $kilnCount changes nothing', () => {
    const check = validator.compile({ 'x-shared': { name: { type: 'string', $kilnCount: [0, 0, 0, 0, 0] } }, properties: { n: { $ref: '#/x-shared/name' } } })
    expect(check({ n: 'a' })).toEqual([])
    expect(describeIssues(check({ n: 1 }))).toBe('/n must be string')
    const viaUnknown = validator.compile({ 'x-defs': doublingChain(30, { type: 'string' }, '#/x-defs'), $ref: '#/x-defs/$defs/d0' })
    expect(thrown(() => viaUnknown(1)).name).toBe('LimitExceededError')
  })

  it('may reference the meta-schema, whose calls are charged by their size as they have no $kilnCount', () => {
    const check = validator.compile({ type: 'array', items: { $ref: 'https://json-schema.org/draft/2020-12/schema' } })
    expect(check([{ type: 'string' }, { properties: { a: { minimum: 1 } } }])).toEqual([])
    expect(check([{ type: 'strnig' }]).length).toBeGreaterThan(0)
    // 40 000 empty schemas: each item calls a dozen meta-schema functions (100 ms), within its budget
    expect(check(new Array(40_000).fill({}))).toEqual([])
    const nested = validator.compile({ items: { allOf: Array.from({ length: 60 }, () => ({ $ref: 'https://json-schema.org/draft/2020-12/schema' })) } })
    expect(thrown(() => nested(new Array(40_000).fill({}))).name).toBe('LimitExceededError')
  })
})
