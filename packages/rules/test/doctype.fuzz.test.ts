import { fc, fuzzInputs, fuzzTest, mutatedJson } from '@kiln/interface-tests'
import { parseRules, rulesDoctype, type RulesContent } from '@kiln/rules'
import type { DocState, VerifiedCommit } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { ADMIN1, ADMIN2 } from './fixtures/transitions.js'

// The rules doctype reads genesis and update payloads anyone may send: any of them must be applied or refused with a
// named error, and an applied one leaves a valid rule set.

const cid = (label: string): CID => CID.createV1(0x71, sha256.digest(new TextEncoder().encode(label)) as never)
const handler = rulesDoctype()({})
const ctx = { loadDocument: async () => { throw new Error('the rules doctype loads nothing') } }
const RULES = { version: 1, rules: [{ name: 'admins', paths: ['/a'], who: { threshold: 1, of: [ADMIN1, ADMIN2] } }] }
const ERRORS = ['InvalidRulesError', 'DoctypeRuleError', 'InvalidCommitError', 'UnauthorizedSignerError', 'LimitExceededError']

const genesisPayload = fc.record({
  header: fc.record({ controllers: fc.constant([ADMIN1]), tags: fc.constant(['t']), unique: fc.constant('u') }, { requiredKeys: ['controllers'] }),
  data: fc.constant(RULES)
})

fuzzTest<unknown>({
  name: 'rules doctype genesis',
  inputs: fuzzInputs<unknown>(genesisPayload, mutatedJson, fc.jsonValue({ maxDepth: 4 })),
  runs: 3_000,
  errors: ERRORS,
  run: async (payload) => await handler.apply(null, { cid: cid('g'), kind: 'genesis', payload, signer: ADMIN1 }, ctx),
  accepted: (_payload, result) => parseRules((result as { content: unknown }).content)
})

const state = {
  type: 65,
  content: RULES,
  metadata: { controllers: [ADMIN1] },
  log: [{ cid: cid('g') }]
} as unknown as DocState<RulesContent>

const updatePayload = fc.record({
  data: fc.constantFrom<unknown[]>(
    [{ op: 'add', path: '/default', value: 'allow' }],
    [{ op: 'replace', path: '/rules/0/who/threshold', value: 2 }],
    [{ op: 'add', path: '/rules/-', value: { name: 'b', how: { appendOnly: true } } }]
  ),
  header: fc.constantFrom({}, { tags: ['x'] }, { controllers: [ADMIN2] })
}).map((p) => ({ id: cid('g'), prev: cid('g'), ...p }))

fuzzTest<unknown>({
  name: 'rules doctype update',
  // CIDs do not survive mutation as JSON: the mutations reach `data` and `header`, and `id`/`prev` are put back
  inputs: fuzzInputs<unknown>(updatePayload.map(({ data, header }) => ({ data, header })), mutatedJson, fc.jsonValue({ maxDepth: 4 }))
    .map((p) => typeof p === 'object' && p !== null && !Array.isArray(p) ? { ...p, id: cid('g'), prev: cid('g') } : p),
  runs: 3_000,
  errors: ERRORS,
  run: async (payload) => await handler.apply(state, { cid: cid('u'), kind: 'update', payload, signer: ADMIN1 } satisfies VerifiedCommit, ctx),
  accepted: (_payload, result) => parseRules((result as { content: unknown }).content)
})
