import { CommitID } from '@kiln/docid'
import { DRAFT_07, DRAFT_2020_12, MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH, MAX_SCHEMA_NODES, describeIssues, schemaValidator } from '@kiln/json'
import { beforeAll, describe, expect, it } from 'vitest'
import { commitIdOf, expectKilnError, thrown } from './fixtures/json.js'

/** A person, in draft 2020-12 (no `$schema`: the default). */
const person = {
  title: 'Person',
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
  required: ['name']
}

describe('schemaValidator', () => {
  const validator = schemaValidator()

  it('compiles a draft 2020-12 schema (the default) and lists every failing path with ajv\'s message', () => {
    const check = validator.compile(person)
    expect(check({ name: 'Alice', age: 3 })).toEqual([])
    expect(check({ age: 1.5 })).toEqual([
      { path: '', message: "must have required property 'name'", keyword: 'required' },
      { path: '/age', message: 'must be integer', keyword: 'type' }
    ])
    expect(describeIssues(check({ age: 1.5 }))).toBe("(root) must have required property 'name'; /age must be integer")
  })

  it('chooses the draft by $schema: 2020-12 and draft-07, with or without the trailing #', () => {
    // prefixItems is 2020-12; in draft-07 the array form of items does the same
    const tuple2020 = validator.compile({ $schema: DRAFT_2020_12, type: 'array', prefixItems: [{ type: 'string' }], items: false })
    expect(tuple2020(['a'])).toEqual([])
    expect(describeIssues(tuple2020(['a', 'b']))).toBe('(root) must NOT have more than 1 items')
    const tuple07 = validator.compile({ $schema: DRAFT_07, type: 'array', items: [{ type: 'string' }], additionalItems: false })
    expect(tuple07(['a'])).toEqual([])
    expect(tuple07([1]).map((i) => `${i.path} ${i.message}`)).toEqual(['/0 must be string'])
    expect(validator.compile({ $schema: `${DRAFT_2020_12}#`, type: 'string' })(1)).toHaveLength(1)
    expect(validator.compile({ $schema: DRAFT_07.slice(0, -1), definitions: { s: { type: 'string' } }, $ref: '#/definitions/s' })(1)).toHaveLength(1)
  })

  it('checks formats with ajv-formats', () => {
    const check = validator.compile({ type: 'object', properties: { email: { format: 'email' }, when: { format: 'date-time' }, site: { format: 'uri' } } })
    expect(check({ email: 'a@example.com', when: '2024-01-01T00:00:00Z', site: 'https://example.com' })).toEqual([])
    expect(describeIssues(check({ email: 'nope', when: 'yesterday', site: 'x' }))).toBe('/email must match format "email"; /when must match format "date-time"; /site must match format "uri"')
  })

  const invalid: Array<[string, unknown, RegExp]> = [
    ['an unknown type', { type: 'objekt' }, /not a valid JSON Schema \(draft 2020-12\): \/type must be equal to one of the allowed values/],
    ['a minimum that is not a number', { properties: { a: { minimum: 'zero' } } }, /\/properties\/a\/minimum must be number/],
    ['required that is not a list', { $schema: DRAFT_07, required: 'name' }, /\(draft-07\): \/required must be array/],
    ['an unsupported $schema', { $schema: 'http://json-schema.org/draft-04/schema#' }, /declares \$schema "http:\/\/json-schema.org\/draft-04\/schema#"; Kiln validates draft 2020-12/],
    ['a $ref outside the schema', { $ref: 'https://example.com/other.json' }, /can't resolve reference https:\/\/example.com\/other.json/],
    ['an invalid pattern', { type: 'string', pattern: '(' }, /the pattern "\(" cannot be used: it is not a valid regular expression \(Invalid regular expression/],
    ['an asynchronous schema', { $async: true, type: 'object' }, /asynchronous schemas/],
    ['the $id of a meta-schema', { $id: DRAFT_2020_12, type: 'string' }, /is the id of a meta-schema/],
    ['an array', [{ type: 'string' }], /must be a JSON object, got an array/],
    ['a boolean', true, /must be a JSON object, got a boolean/],
    ['bytes', { const: new Uint8Array([1]) }, /must be plain JSON, but at \/const it holds bytes/]
  ]

  it.each(invalid)('refuses %s with SchemaValidationError', (_what, schema, message) => {
    const err = thrown(() => validator.compile(schema))
    expect(err.name).toBe('SchemaValidationError')
    expect(err.message).toMatch(message)
  })

  it('gives the issues of an invalid schema in details.errors', () => {
    const err = thrown(() => validator.compile({ type: 'objekt' }, 'my schema'))
    expect(err.message).toMatch(/^my schema is not a valid JSON Schema/)
    expect(err.details.draft).toBe('2020-12')
    expect(err.details.errors).toContainEqual({ path: '/type', message: 'must be equal to one of the allowed values', keyword: 'enum' })
  })

  it('still works after refusing a schema that takes a meta-schema $id', () => {
    const v = schemaValidator()
    thrown(() => v.compile({ $id: DRAFT_2020_12 }))
    thrown(() => v.compile({ $schema: DRAFT_07, $id: DRAFT_07 }))
    expect(thrown(() => v.compile({ type: 'objekt' })).name).toBe('SchemaValidationError')
    expect(v.compile({ $schema: DRAFT_07, type: 'string' })('a')).toEqual([])
  })

  it('compiles two versions of a schema with the same $id, and a schema again after it failed', () => {
    const v = schemaValidator()
    expect(v.compile({ $id: 'https://example.com/person', type: 'string' })(1)).toHaveLength(1)
    expect(v.compile({ $id: 'https://example.com/person', type: 'number' })(1)).toEqual([])
    thrown(() => v.compile({ $id: 'https://example.com/broken', type: 'string', pattern: '(' }))
    expect(v.compile({ $id: 'https://example.com/broken', type: 'string' })('ok')).toEqual([])
  })

  it('ignores unknown keywords and formats, as Ceramic\'s validator does (strict: false)', () => {
    expect(validator.compile({ type: 'string', format: 'kiln-id', requried: ['typo'] })('x')).toEqual([])
  })

  it('gives ajv\'s verdicts with allErrors, which differ without it: an empty array against prefixItems and contains', () => {
    // found by the json.schema fuzz suite: ajv without allErrors skips the array's other keywords for an empty array
    // when prefixItems checks something, so the verdict came out valid
    const schema = { type: 'array', items: { type: 'integer', exclusiveMinimum: 0 }, prefixItems: [{ type: 'string', minLength: 0, maxLength: 0, pattern: '^[a-z]+$', format: 'email' }], maxItems: 0, contains: false, maxContains: 0, $defs: { d0: { enum: [null] }, d1: { enum: [null] } } }
    expect(describeIssues(validator.compile(schema)([]))).toBe('(root) must contain at least 1 and no more than 0 valid item(s)')
    expect(describeIssues(validator.compile({ prefixItems: [{}], contains: false })([]))).toBe('(root) must contain at least 1 valid item(s)')
  })

  it('refuses a $ref to schemas that only refer onwards, back to themselves, as ajv cannot compile them', () => {
    // found by the json.schema fuzz suite: plain ajv overflows the stack compiling these (a RangeError); Kiln's copy
    // of the schema compiled, so Kiln would have used a schema that a node running ajv cannot
    const schemas = [
      { if: { anyOf: [{ enum: [null] }] }, then: { $ref: '#/$defs/d1' }, else: { enum: [null, null, null] }, $defs: { d0: { const: null }, d1: { $ref: '#/$defs/d1' } } },
      { $defs: { a: { $ref: '#/$defs/b', description: 'not a rule' }, b: { $ref: '#/$defs/a' } }, properties: { x: { $ref: '#/$defs/a' } } }
    ]
    for (const schema of schemas) {
      const err = thrown(() => validator.compile(schema))
      expect(err.name).toBe('SchemaValidationError')
      expect(err.message).toMatch(/leads to schemas that only refer onwards, back to themselves/)
    }
    // a chain that ends, a cycle through a keyword that consumes content, and a cycle nothing refers to are fine
    expect(validator.compile({ $defs: { a: { $ref: '#/$defs/b' }, b: { type: 'string' } }, $ref: '#/$defs/a' })(1)).toHaveLength(1)
    expect(validator.compile({ $defs: { a: { items: { $ref: '#/$defs/a' } } }, $ref: '#/$defs/a' })([[[]]])).toEqual([])
    expect(validator.compile({ $defs: { a: { $ref: '#/$defs/a' } }, type: 'string' })('x')).toEqual([])
  })

  it('lists at most 20 issues in a message and counts the rest', () => {
    const properties = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`p${i}`, { type: 'string' }]))
    const check = validator.compile({ type: 'object', properties })
    const issues = check(Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`p${i}`, i])))
    expect(issues).toHaveLength(25)
    expect(describeIssues(issues)).toMatch(/\/p19 must be string; and 5 more$/)
  })

  describe('bounds on what a schema costs to compile', () => {
    it('refuses a schema larger than 256 KiB as JSON, before ajv sees it', () => {
      const err = thrown(() => validator.compile({ type: 'string', description: 'x'.repeat(MAX_SCHEMA_BYTES) }))
      expect(err.name).toBe('SchemaValidationError')
      expect(err.message).toMatch(/is \d+ bytes as JSON, more than the 262144 bytes a schema may have/)
      expect(err.details.limit).toBe(MAX_SCHEMA_BYTES)
    })

    it('refuses a schema nested deeper than 64 levels', () => {
      let deep: Record<string, unknown> = { type: 'string' }
      for (let i = 0; i < MAX_SCHEMA_DEPTH / 2; i++) deep = { type: 'object', properties: { a: deep } }
      const err = thrown(() => validator.compile(deep))
      expect(err.message).toMatch(/nests 65 levels deep, more than the 64 levels a schema may have/)
      expect(err.details).toEqual({ depth: 65, limit: MAX_SCHEMA_DEPTH })
      expect(validator.compile((deep.properties as { a: object }).a)({ a: {} })).toEqual([])
    })

    it('refuses a schema of more than 1000 objects and arrays, however small in bytes', () => {
      const properties = Object.fromEntries(Array.from({ length: MAX_SCHEMA_NODES }, (_, i) => [`p${i}`, {}]))
      const err = thrown(() => validator.compile({ properties }))
      expect(err.message).toMatch(/has 1002 objects and arrays, more than the 1000 a schema may have/)
      expect(err.details).toEqual({ nodes: 1002, limit: MAX_SCHEMA_NODES })
    })
  })

  it('refuses a cacheSize that is not a positive integer', () => {
    for (const cacheSize of [0, -1, 1.5]) expect(() => schemaValidator({ cacheSize })).toThrow(RangeError)
  })

  describe('validate and validateDocument', () => {
    let v1: string
    let v2: string

    beforeAll(async () => {
      v1 = await commitIdOf(64, 'person')
      v2 = await commitIdOf(0, 'a tile holding a schema')
    })

    /** A schema loader over `schemas` that records what it was asked for. */
    function loaderOf (schemas: Record<string, unknown>): { loads: string[], load: (id: string) => Promise<unknown> } {
      const loads: string[] = []
      return {
        loads,
        async load (id) {
          loads.push(id)
          if (!(id in schemas)) throw new TypeError(`no ${id}`)
          return schemas[id]
        }
      }
    }

    it('throws SchemaValidationError naming the schema CommitID and listing the failing paths', () => {
      const err = thrown(() => schemaValidator().validate(v1, person, { name: 'A', age: 'old' }))
      expect(err.name).toBe('SchemaValidationError')
      expect(err.message).toBe(`content does not match schema ${v1}: /age must be integer`)
      expect(err.details).toEqual({ schema: v1, errors: [{ path: '/age', message: 'must be integer', keyword: 'type' }] })
    })

    it('caches by CommitID: the content given with a cached CommitID is not compiled again', () => {
      const v = schemaValidator()
      v.validate(v1, person, { name: 'A' })
      expect(() => v.validate(v1, { type: 'string' }, { name: 'A' })).not.toThrow()
    })

    it('names the schema CommitID when its content is not a schema, every time', () => {
      const v = schemaValidator()
      for (let i = 0; i < 2; i++) {
        const err = thrown(() => v.validate(v1, { type: 'objekt' }, {}))
        expect(err.name).toBe('SchemaValidationError')
        expect(err.message).toContain(`the content of schema ${v1} is not a valid JSON Schema`)
        expect(err.details.schema).toBe(v1)
      }
    })

    it('refuses a DocID without a commit with InvalidCommitError', () => {
      const docId = CommitID.fromString(v1).baseID.toString()
      const err = thrown(() => schemaValidator().validate(docId, person, {}))
      expect(err.name).toBe('InvalidCommitError')
      expect(err.message).toContain(`names the document ${docId} without a commit: a schema must be pinned to a version`)
    })

    it('loads a schema once, by its normalised CommitID, then validates from the cache', async () => {
      const v = schemaValidator()
      const loader = loaderOf({ [v1]: person, [v2]: { type: 'object', required: ['x'] } })
      await v.validateDocument({ name: 'A' }, v1, loader.load)
      await expectKilnError(v.validateDocument({}, v1, loader.load), 'SchemaValidationError', /required property 'name'/)
      await expectKilnError(v.validateDocument({}, v2, loader.load), 'SchemaValidationError', /required property 'x'/)
      expect(loader.loads).toEqual([v1, v2])
    })

    it('passes on what the loader throws, and caches nothing for it', async () => {
      const v = schemaValidator()
      const refusing = async (): Promise<unknown> => { throw new TypeError('not a schema document') }
      await expect(v.validateDocument({}, v1, refusing)).rejects.toThrow('not a schema document')
      const loader = loaderOf({ [v1]: person })
      await v.validateDocument({ name: 'A' }, v1, loader.load)
      expect(loader.loads).toEqual([v1])
    })

    it('refuses a DocID without a commit before loading anything', async () => {
      const loader = loaderOf({})
      const docId = CommitID.fromString(v1).baseID.toString()
      await expectKilnError(schemaValidator().validateDocument({}, docId, loader.load), 'InvalidCommitError', /without a commit/)
      expect(loader.loads).toEqual([])
    })
  })
})
