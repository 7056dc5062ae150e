import { readFileSync } from 'node:fs'
import { DRAFT_07, schemaValidator } from '@kiln/json'
import { Ajv, type AnySchemaObject } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'

interface UniqueItemsVectors {
  cases: Array<{ description: string, schema: AnySchemaObject, data: unknown, valid: boolean, error?: string }>
}

/** The shared vectors: ajv's `uniqueItems` verdicts, and its message for the pair it reports. */
const vectors = JSON.parse(readFileSync(new URL('../../../vectors/json-schema-unique-items.json', import.meta.url), 'utf8')) as UniqueItemsVectors

/** Plain ajv, as Ceramic compiles schemas: the reference for every verdict. */
const plain = { draft2020: new Ajv2020({ strict: false, allErrors: true }), draft07: new Ajv({ strict: false, allErrors: true }) }

function plainVerdict (schema: AnySchemaObject, data: unknown): { valid: boolean, messages: string[] } {
  const validate = (schema.$schema === DRAFT_07 ? plain.draft07 : plain.draft2020).compile(schema)
  const valid = validate(data) as boolean
  return { valid, messages: (validate.errors ?? []).filter((e) => e.keyword === 'uniqueItems').map((e) => e.message ?? '') }
}

describe('uniqueItems', () => {
  const validator = schemaValidator()

  it.each(vectors.cases)('gives ajv\'s verdict and message: $description', ({ schema, data, valid, error }) => {
    const reference = plainVerdict(schema, data)
    expect(reference.valid).toBe(valid)
    const issues = validator.compile(schema)(data)
    expect(issues.length === 0).toBe(valid)
    const messages = issues.filter((i) => i.keyword === 'uniqueItems').map((i) => i.message)
    expect(messages).toEqual(reference.messages)
    if (error !== undefined) expect(messages).toEqual([error])
  })

  /** 256 KiB of small objects, all distinct: ajv compares 5 × 10^8 pairs (about 8 s). */
  const large = Array.from({ length: 14_000 }, (_, i) => ({ id: i % 1000, tags: [Math.floor(i / 1000)] }))

  it('answers a 256 KiB array of small objects in one pass, finding the pair ajv would report', () => {
    expect(JSON.stringify(large).length).toBeGreaterThan(256 * 1024)
    const check = validator.compile({ type: 'array', uniqueItems: true })
    expect(check(large)).toEqual([])
    // a duplicate of the first item at the end, and key order that differs
    const withDuplicate = [...large, { tags: [0], id: 0 }]
    expect(check(withDuplicate)).toEqual([{ path: '', message: `must NOT have duplicate items (items ## 0 and ${large.length} are identical)`, keyword: 'uniqueItems' }])
    // two pairs (5 and 100, 151 and 201): ajv reports the one whose later item comes last
    const twoPairs = [...large.slice(0, 100), large[5], ...large.slice(100, 200), large[150]]
    expect(check(twoPairs)[0]!.message).toBe('must NOT have duplicate items (items ## 151 and 201 are identical)')
    expect(plainVerdict({ uniqueItems: true }, twoPairs).messages).toEqual([check(twoPairs)[0]!.message])
  })

  it('charges the canonical JSON it writes to the budget of the content', () => {
    // 200 uniqueItems over the same 256 KiB array would read 50 MiB
    const check = validator.compile({ allOf: Array.from({ length: 200 }, () => ({ uniqueItems: true })) })
    expect(() => check(large)).toThrow(expect.objectContaining({ name: 'LimitExceededError' }) as Error)
  })
})
