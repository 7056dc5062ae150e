import { fc, fuzzInputs, fuzzTest, mutatedJson } from '@kiln/interface-tests'
import { applyJsonPatch } from '@kiln/json'
import { evaluateRules, parseRules, type RuleSet, type TransitionInput } from '@kiln/rules'
import { expect } from 'vitest'
import { ADMIN1, ADMIN2, ADMIN3, docIdOf, evidenceState, fixedReader, MEMBER, OUTSIDER, transition, WALLET } from './fixtures/transitions.js'

// parseRules takes hand-written, possibly hostile documents: any JSON must be parsed or refused with
// InvalidRulesError, and an accepted rule set parses again to the same value. evaluateRules takes any update the
// doctype let through: it must give a verdict or refuse with a named error, the same one whatever the order of the
// rules, every time.

const DIDS = [ADMIN1, ADMIN2, ADMIN3, MEMBER, OUTSIDER, WALLET]
const TEAM = docIdOf('team')
const did = fc.constantFrom(...DIDS)
const dids = fc.uniqueArray(did, { minLength: 1, maxLength: 4 })
const pattern = fc.constantFrom('', '/a', '/a/b', '/tasks', '/tasks/*', '/tasks/*/closed', '/n', '#rules', '#controllers', '#tags')
const patterns = fc.uniqueArray(pattern, { minLength: 1, maxLength: 3 })
const schema = fc.constantFrom<Record<string, unknown>>(
  { type: 'object' },
  { properties: { after: { properties: { content: { properties: { n: { minimum: 0 } } } } } } },
  { properties: { signers: { minItems: 2 } } },
  { properties: { approvals: { type: 'array', minItems: 2 } } },
  { properties: { patch: { maxItems: 3 } } }
)

const who: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  clause: fc.oneof(
    { depthSize: 'small', maxDepth: 3, withCrossShrink: true },
    fc.record({ anyOf: dids }),
    dids.chain((of) => fc.record({ threshold: fc.integer({ min: 1, max: of.length }), of: fc.constant(of) })),
    fc.constant({ membersOf: { evidence: 'team', doc: TEAM, path: '/members' } }),
    fc.constantFrom({ capability: true }, { capability: { issuers: [WALLET] } }, { controllers: true }),
    fc.record({ allOf: fc.array(tie('clause'), { minLength: 1, maxLength: 2 }) }),
    fc.record({ anyOf: fc.array(tie('clause').filter((c) => typeof c === 'object'), { minLength: 1, maxLength: 2 }) })
  )
})).clause

const how = fc.record({
  paths: patterns,
  ops: fc.constantFrom(['add'], ['add', 'test'], ['replace', 'test'], ['add', 'remove', 'replace', 'move', 'copy', 'test']),
  appendOnly: fc.boolean(),
  compareAndSet: fc.boolean(),
  transition: schema
}, { requiredKeys: [] }).filter((h) => {
  const ops = h.ops as string[] | undefined
  return !(h.appendOnly === true && ops !== undefined && !ops.includes('add')) && !(h.compareAndSet === true && ops !== undefined && !ops.includes('test'))
})

const when = fc.record({
  evidence: fc.constant([{ evidence: 'team', doc: TEAM, require: { properties: { members: { minItems: 1 } } } }]),
  notBefore: fc.constantFrom(0, 1_700_000_000),
  notAfter: fc.constantFrom(1_800_000_000, 1_900_000_000)
}, { requiredKeys: [] })

const rule = fc.record({ paths: patterns, who, how, when }, { requiredKeys: [] })
const ruleSet = fc.record({
  rules: fc.array(rule, { maxLength: 5 }).map((rules) => rules.map((r, i) => ({ name: `rule-${i}`, ...r }))),
  default: fc.constantFrom('deny', 'allow')
}).map(({ rules, default: d }) => ({ version: 1, default: d, rules }))

fuzzTest<unknown>({
  name: 'rules parseRules',
  inputs: fuzzInputs<unknown>(ruleSet, mutatedJson, fc.jsonValue({ maxDepth: 6 })),
  runs: 3_000,
  errors: ['InvalidRulesError'],
  run: (content) => parseRules(content),
  accepted: (content, result) => {
    expect(parseRules(content)).toEqual(result)
    expect(parseRules(JSON.parse(JSON.stringify(content)))).toEqual(result)
  }
})

// Transitions: a content, a patch of random operations at paths that exist or nearly do, random signers.
const key = fc.constantFrom('a', 'b', 'n', 'tasks', 'closed', '0', '1', '-')
const path = fc.array(key, { maxLength: 3 }).map((keys) => keys.length === 0 ? '' : `/${keys.join('/')}`)
const op = fc.oneof(
  fc.record({ op: fc.constantFrom('add', 'replace', 'test'), path, value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ op: fc.constant('remove'), path }),
  fc.record({ op: fc.constantFrom('move', 'copy'), from: path, path })
)
const content = fc.constantFrom<unknown>({ a: 1, n: 0, tasks: [{ closed: false }, { closed: true }] }, { tasks: [] }, { a: { b: [1, 2] } })

interface Case { rules: RuleSet, reversed: RuleSet, input: TransitionInput }

const cases: fc.Arbitrary<Case> = fc.record({
  rules: ruleSet,
  content,
  patch: fc.array(op, { maxLength: 4 }),
  signers: fc.array(did, { maxLength: 3 }),
  capability: fc.boolean(),
  evidence: fc.boolean(),
  prevAnchoredAt: fc.option(fc.constantFrom(1_600_000_000, 1_750_000_000, 1_850_000_000), { nil: undefined }),
  rulesChange: fc.boolean()
}).map((c) => {
  let patch: unknown[] = c.patch
  try {
    applyJsonPatch(c.content, patch, { what: 'fuzz patch' })
  } catch {
    // the doctype refuses a patch that does not apply: only applicable ones reach the rules
    patch = patch.filter((o) => (o as { op: string }).op === 'test').slice(0, 0)
  }
  const parsed = parseRules(c.rules)
  return {
    rules: parsed,
    reversed: { ...parsed, rules: [...parsed.rules].reverse() },
    input: transition({
      content: c.content,
      patch,
      signers: c.signers,
      capabilitySigners: c.capability ? c.signers.filter((s) => s.startsWith('did:pkh:')) : [],
      evidence: c.evidence ? { team: evidenceState('team', 'v1', { members: [MEMBER] }, 1_700_000_100).commitId } : {},
      ...(c.prevAnchoredAt === undefined ? {} : { prevAnchoredAt: c.prevAnchoredAt }),
      ...(c.rulesChange ? { metadata: { rules: 'a' }, metadataAfter: { rules: 'b' } } : {})
    })
  }
})

const EVIDENCE = [evidenceState('team', 'v1', { members: [MEMBER] }, 1_700_000_100)]

/** The outcome of one evaluation, as data: the verdict, or the error's name and details. */
async function outcome (rules: RuleSet, input: TransitionInput): Promise<unknown> {
  return await evaluateRules(rules, input, fixedReader(EVIDENCE)).then(
    (verdict) => ({ verdict }),
    (err: { name: string, details: unknown }) => ({ name: err.name, details: err.details, err })
  )
}

fuzzTest<Case>({
  name: 'rules evaluateRules on random patches',
  inputs: cases,
  runs: 3_000,
  errors: ['RuleViolationError', 'LimitExceededError'],
  run: async ({ rules, reversed, input }) => {
    const first = await outcome(rules, input)
    const again = await outcome(rules, input)
    const other = await outcome(reversed, input)
    const strip = (o: unknown): unknown => ({ ...(o as object), err: undefined })
    if (JSON.stringify(strip(first)) !== JSON.stringify(strip(again)) || JSON.stringify(strip(first)) !== JSON.stringify(strip(other))) {
      throw new TypeError(`the verdict changed between runs or rule orders: ${JSON.stringify(strip(first))} / ${JSON.stringify(strip(again))} / ${JSON.stringify(strip(other))}`)
    }
    if ('err' in (first as object)) throw (first as { err: unknown }).err
    return (first as { verdict: unknown }).verdict
  }
})

// The parts of an update its author writes freely, the patch and header.evidence, as any JSON: the evaluation must
// refuse what is malformed with a named error, never crash.
const hostile = fc.record({
  rules: ruleSet,
  patch: fc.array(fc.oneof(op, fc.jsonValue({ maxDepth: 2 })), { maxLength: 6 }),
  evidence: fc.oneof(
    fc.dictionary(fc.string({ maxLength: 70 }), fc.oneof(fc.string({ maxLength: 20 }), fc.constant(evidenceState('team', 'v1', {}).commitId)), { maxKeys: 20 }),
    fc.constant({ team: evidenceState('team', 'v1', {}).commitId })
  ),
  signers: fc.array(fc.oneof(did, fc.string({ maxLength: 12 })), { maxLength: 4 })
}).map((c) => ({ rules: parseRules(c.rules), input: { ...transition({ content: { a: 1 }, signers: c.signers }), patch: c.patch, evidence: c.evidence as Record<string, string> } }))

fuzzTest<{ rules: RuleSet, input: TransitionInput }>({
  name: 'rules evaluateRules on hostile patches and evidence',
  inputs: hostile,
  runs: 2_000,
  errors: ['RuleViolationError', 'LimitExceededError', 'InvalidCommitError'],
  run: async ({ rules, input }) => await evaluateRules(rules, input, fixedReader(EVIDENCE))
})
