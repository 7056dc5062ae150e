import { readFileSync } from 'node:fs'
import { MAX_RULES_BYTES, parseRules, rulesMetaSchema } from '@kiln/rules'
import { schemaValidator } from '@kiln/json'
import { describe, expect, it } from 'vitest'
import { ADMIN1, ADMIN2, commitIdOf, docIdOf } from './fixtures/transitions.js'

/** The `details.path` of the InvalidRulesError `content` is refused with. */
function refusedAt (content: unknown): string {
  let caught: unknown
  try {
    parseRules(content)
  } catch (err) {
    caught = err
  }
  expect(caught, 'parseRules accepted it').toBeDefined()
  const err = caught as { name: string, message: string, details: { path: string } }
  expect(err.name, err.message).toBe('InvalidRulesError')
  expect(err.message).toContain(err.details.path === '' ? '(root)' : err.details.path)
  return err.details.path
}

const set = (...rules: unknown[]): Record<string, unknown> => ({ version: 1, rules })
const transition = (schema: unknown): Record<string, unknown> => set({ name: 'r', how: { transition: schema } })

/** A value nested `depth` objects deep. */
function nested (depth: number): unknown {
  let value: unknown = {}
  for (let i = 1; i < depth; i++) value = { a: value }
  return value
}

describe('parseRules', () => {
  it('accepts a rule set and gives it back parsed, frozen, defaulting to deny', () => {
    const content = set({ name: 'admins', paths: ['/tasks/*/closed'], who: { threshold: 2, of: [ADMIN1, ADMIN2] } })
    const rules = parseRules(content)
    expect(rules).toEqual({ version: 1, default: 'deny', rules: [{ name: 'admins', paths: ['/tasks/*/closed'], who: { kind: 'threshold', threshold: 2, of: [ADMIN1, ADMIN2] } }] })
    expect(Object.isFrozen(rules.rules[0])).toBe(true)
    // the caller's value is left as it was
    expect(Object.isFrozen(content.rules)).toBe(false)
  })

  it.each([
    ['not an object', [], ''],
    ['a wrong version', { version: 2, rules: [] }, '/version'],
    ['no rules', { version: 1 }, '/rules'],
    ['an unknown top-level field', { version: 1, rules: [], extra: 1 }, '/extra'],
    ['a bad default', { version: 1, rules: [], default: 'maybe' }, '/default'],
    ['a rule without a name', set({ who: { anyOf: [ADMIN1] } }), '/rules/0/name'],
    ['a bad rule name', set({ name: '1st' }), '/rules/0/name'],
    ['a duplicate rule name', set({ name: 'a' }, { name: 'a' }), '/rules/1/name'],
    ['an unknown rule field', set({ name: 'a', whom: {} }), '/rules/0/whom'],
    ['a threshold over its list', set({ name: 'a' }, { name: 'b' }, { name: 'c', who: { threshold: 3, of: [ADMIN1, ADMIN2] } }), '/rules/2/who/threshold'],
    ['a threshold of zero', set({ name: 'a', who: { threshold: 0, of: [ADMIN1] } }), '/rules/0/who/threshold'],
    ['a threshold without of', set({ name: 'a', who: { threshold: 1 } }), '/rules/0/who/of'],
    ['a DID listed twice', set({ name: 'a', who: { anyOf: [ADMIN1, ADMIN1] } }), '/rules/0/who/anyOf/1'],
    ['not a DID', set({ name: 'a', who: { anyOf: ['alice'] } }), '/rules/0/who/anyOf/0'],
    ['DIDs mixed with clauses', set({ name: 'a', who: { anyOf: [{ anyOf: [ADMIN1] }, ADMIN2] } }), '/rules/0/who/anyOf/1'],
    ['an unknown who form', set({ name: 'a', who: { someone: true } }), '/rules/0/who'],
    ['capability false', set({ name: 'a', who: { capability: false } }), '/rules/0/who/capability'],
    ['a capability issuer that is not did:pkh', set({ name: 'a', who: { capability: { issuers: [ADMIN1] } } }), '/rules/0/who/capability/issuers/0'],
    ['membersOf a CommitID instead of a DocID', set({ name: 'a', who: { membersOf: { evidence: 'team', doc: commitIdOf('team', 'v1'), path: '/members' } } }), '/rules/0/who/membersOf/doc'],
    ['membersOf a bad evidence name', set({ name: 'a', who: { membersOf: { evidence: '-x', doc: docIdOf('team'), path: '/members' } } }), '/rules/0/who/membersOf/evidence'],
    ['a path that is not a pointer', set({ name: 'a', paths: ['tasks'] }), '/rules/0/paths/0'],
    ['a bad pointer escape', set({ name: 'a', paths: ['/a~2'] }), '/rules/0/paths/0'],
    ['a bad pseudo-path', set({ name: 'a', paths: ['#'] }), '/rules/0/paths/0'],
    ['an unknown op', set({ name: 'a', how: { ops: ['append'] } }), '/rules/0/how/ops/0'],
    ['appendOnly without add', set({ name: 'a', how: { appendOnly: true, ops: ['replace'] } }), '/rules/0/how/ops'],
    ['compareAndSet without test', set({ name: 'a', how: { compareAndSet: true, ops: ['replace'] } }), '/rules/0/how/ops'],
    ['a non-boolean flag', set({ name: 'a', how: { appendOnly: 'yes' } }), '/rules/0/how/appendOnly'],
    ['a window that ends before it starts', set({ name: 'a', when: { notBefore: 10, notAfter: 5 } }), '/rules/0/when/notAfter'],
    ['a time in milliseconds with a fraction', set({ name: 'a', when: { notBefore: 1.5 } }), '/rules/0/when/notBefore'],
    ['an evidence condition without doc', set({ name: 'a', when: { evidence: [{ evidence: 'x' }] } }), '/rules/0/when/evidence/0/doc'],
    ['a transition schema that is not an object', transition(true), '/rules/0/how/transition'],
    ['an invalid transition schema', transition({ type: 'nope' }), '/rules/0/how/transition']
  ])('refuses %s with InvalidRulesError naming the path', (_what, content, path) => {
    expect(refusedAt(content)).toBe(path)
  })

  describe('bounds on hostile rules documents', () => {
    it('refuses rules nested deeper than 16 levels, without overflowing the stack', () => {
      expect(refusedAt(set({ name: 'a', how: { transition: nested(20) } }))).toMatch(/^\/rules\/0\/how\/transition/)
      expect(refusedAt(nested(100_000))).toMatch(/^\/a\/a/)
    })

    it('refuses content over 64 KiB as JSON', () => {
      const big = set({ name: 'a', description: 'x'.repeat(500) })
      const rules = Array.from({ length: 60 }, (_, i) => ({ name: `r${i}`, description: 'x'.repeat(500), paths: Array.from({ length: 4 }, (_, j) => `/p${j}/${'y'.repeat(200)}`) }))
      expect(() => parseRules(big)).not.toThrow()
      expect(Buffer.byteLength(JSON.stringify(set(...rules)))).toBeGreaterThan(MAX_RULES_BYTES)
      expect(refusedAt(set(...rules))).toBe('')
    })

    it('refuses more than 64 rules and more than 64 DIDs in a list', () => {
      expect(refusedAt(set(...Array.from({ length: 65 }, (_, i) => ({ name: `r${i}` }))))).toBe('/rules')
      const dids = Array.from({ length: 65 }, (_, i) => `did:key:z${i}`)
      expect(refusedAt(set({ name: 'a', who: { anyOf: dids } }))).toBe('/rules/0/who/anyOf')
    })

    it('refuses a $ref outside the schema and a cyclic $ref that never reads the value', () => {
      expect(refusedAt(transition({ $ref: 'https://example.com/schema.json' }))).toBe('/rules/0/how/transition/$ref')
      expect(refusedAt(transition({ $ref: '#' }))).toBe('/rules/0/how/transition')
      expect(refusedAt(transition({ $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' }))).toBe('/rules/0/how/transition')
    })

    it('refuses long patterns and patterns RE2 cannot run; a backtracking pattern stays linear', () => {
      expect(refusedAt(transition({ pattern: 'a'.repeat(257) }))).toBe('/rules/0/how/transition/pattern')
      expect(refusedAt(transition({ patternProperties: { ['b'.repeat(300)]: {} } }))).toMatch(/^\/rules\/0\/how\/transition\/patternProperties\//)
      // a backreference is not a regular expression: RE2 refuses it
      expect(refusedAt(transition({ pattern: '(a)\\1' }))).toBe('/rules/0/how/transition')
      expect(() => parseRules(transition({ pattern: '^(a+)+$' }))).not.toThrow()
    })

    it('refuses a schema over 16 KiB and an asynchronous schema', () => {
      const enumValues = Array.from({ length: 60 }, (_, i) => `${i}${'v'.repeat(300)}`)
      expect(refusedAt(transition({ enum: enumValues }))).toBe('/rules/0/how/transition')
      expect(refusedAt(transition({ $async: true }))).toBe('/rules/0/how/transition/$async')
    })
  })

  describe('the meta-schema', () => {
    it('is published as meta-schema.json, equal to the exported object', () => {
      const published = JSON.parse(readFileSync(new URL('../meta-schema.json', import.meta.url), 'utf8')) as unknown
      expect(published).toEqual(rulesMetaSchema)
    })

    it('accepts what parseRules accepts and refuses the shapes it refuses', () => {
      const validate = schemaValidator().compile(rulesMetaSchema)
      const good = set(
        { name: 'members', paths: ['/tasks'], who: { membersOf: { evidence: 'team', doc: docIdOf('team'), path: '/members' } }, how: { appendOnly: true } },
        { name: 'close', paths: ['/tasks/*/closed', '#rules'], who: { anyOf: [{ threshold: 2, of: [ADMIN1, ADMIN2] }, { capability: true }] }, when: { notAfter: 5 } }
      )
      expect(() => parseRules(good)).not.toThrow()
      expect(validate(good)).toEqual([])
      for (const bad of [{ version: 2, rules: [] }, set({ name: 'a', whom: {} }), set({ name: 'a', who: { threshold: 0, of: [ADMIN1] } }), set({ name: 'a', how: { ops: ['append'] } })]) {
        expect(validate(bad)).not.toEqual([])
        expect(() => parseRules(bad)).toThrow()
      }
    })
  })
})
