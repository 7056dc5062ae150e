import { readFileSync } from 'node:fs'
import { evaluateRules, parseRules } from '@kiln/rules'
import { describe, expect, it } from 'vitest'
import { ADMIN1, fixedReader, transition, WALLET } from './fixtures/transitions.js'

// docs/rules.md is what people copy: every rule set in it must parse, and the outcomes it narrates must hold.

const guide = readFileSync(new URL('../../../docs/rules.md', import.meta.url), 'utf8')
const ruleSets = [...guide.matchAll(/```json\n([\s\S]*?)```/g)]
  .map((m) => JSON.parse(m[1]!) as Record<string, unknown>)
  .filter((value) => value.version === 1)

function example (name: string): ReturnType<typeof parseRules> {
  const found = ruleSets.find((set) => (set.rules as Array<{ name: string }>).some((r) => r.name === name))
  expect(found, name).toBeDefined()
  return parseRules(found)
}

describe('the rule sets of docs/rules.md', () => {
  it('all parse', () => {
    expect(ruleSets.length).toBeGreaterThanOrEqual(6)
    for (const set of ruleSets) expect(() => parseRules(set)).not.toThrow()
  })

  it('compare-and-set counter: a tested replace is accepted, an untested one refused', async () => {
    const rules = example('counter')
    const tested = transition({ content: { count: 41 }, patch: [{ op: 'test', path: '/count', value: 41 }, { op: 'replace', path: '/count', value: 42 }], signers: [ADMIN1] })
    await expect(evaluateRules(rules, tested, fixedReader())).resolves.toMatchObject({ rules: ['counter'] })
    const blind = transition({ content: { count: 41 }, patch: [{ op: 'replace', path: '/count', value: 42 }], signers: [ADMIN1] })
    await expect(evaluateRules(rules, blind, fixedReader())).rejects.toMatchObject({ details: { rule: 'counter', path: '/count' } })
  })

  it('deadline: accepted provisionally inside the window, refused when no anchor shows the window open', async () => {
    const rules = example('submissions')
    const append = { content: { submissions: [] }, patch: [{ op: 'add', path: '/submissions/-', value: 'mine' }], signers: [WALLET], capabilitySigners: [WALLET] }
    await expect(evaluateRules(rules, transition({ ...append, prevAnchoredAt: 1767312000 }), fixedReader())).resolves.toEqual({
      rules: ['submissions'],
      provisional: [{ rule: 'submissions', kind: 'deadline', notAfter: 1769904000 }],
      paths: ['/submissions/-', '/submissions/0']
    })
    await expect(evaluateRules(rules, transition({ ...append, prevAnchoredAt: 1767139200 }), fixedReader())).rejects.toMatchObject({ details: { rule: 'submissions' } })
  })
})
