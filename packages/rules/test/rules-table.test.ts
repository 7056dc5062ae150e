import { evaluateRules, parseRules, type EvidenceState, type ProvisionalCondition } from '@kiln/rules'
import { describe, expect, it } from 'vitest'
import {
  ADMIN1, ADMIN2, ADMIN3, commitIdOf, docIdOf, evidenceState, fixedReader, MEMBER, OUTSIDER, transition, WALLET, type TransitionSpec
} from './fixtures/transitions.js'

// One row per construct and outcome: the rules, the transition, and either the verdict or the refusal expected.

const ADMINS = [ADMIN1, ADMIN2, ADMIN3]
const TEAM = docIdOf('team')
const RELEASE_APPROVALS = docIdOf('approvals')
const team = evidenceState('team', 'v1', { members: [MEMBER, ADMIN1] }, 1_700_000_100)
const teamUnanchored = evidenceState('team', 'v2', { members: [MEMBER] })
const approvals3 = evidenceState('approvals', 'three', { approvals: ['x', 'y', 'z'] }, 1_700_000_500)
const approvals2 = evidenceState('approvals', 'two', { approvals: ['x', 'y'] }, 1_700_000_400)
const EVIDENCE = [team, teamUnanchored, approvals3, approvals2]

interface Row {
  construct: string
  rules: unknown
  input: TransitionSpec
  /** The rules of the verdict (and its provisional conditions), or the refusal's rule (null: the default) and path. */
  accept?: { rules: string[], provisional?: ProvisionalCondition[] }
  refuse?: { rule: string | null, path: string, reason?: RegExp }
}

const set = (...rules: unknown[]): unknown => ({ version: 1, rules })
const tasks = { tasks: [{ title: 'write docs', closed: false }] }

const rows: Row[] = [
  // who: a list of DIDs
  { construct: 'who.anyOf', rules: set({ name: 'admins', who: { anyOf: ADMINS } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [ADMIN2] }, accept: { rules: ['admins'] } },
  { construct: 'who.anyOf', rules: set({ name: 'admins', who: { anyOf: ADMINS } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [OUTSIDER] }, refuse: { rule: 'admins', path: '/a', reason: /signed by one of/ } },
  // who: k of n distinct signers
  { construct: 'who.threshold', rules: set({ name: 'two-admins', who: { threshold: 2, of: ADMINS } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [ADMIN1, ADMIN3] }, accept: { rules: ['two-admins'] } },
  { construct: 'who.threshold', rules: set({ name: 'two-admins', who: { threshold: 2, of: ADMINS } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [ADMIN1, ADMIN1] }, refuse: { rule: 'two-admins', path: '/a', reason: /2 different DIDs .* has 1/ } },
  // who: members listed in another document
  { construct: 'who.membersOf', rules: set({ name: 'team', who: { membersOf: { evidence: 'team', doc: TEAM, path: '/members' } } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [MEMBER], evidence: { team: team.commitId } }, accept: { rules: ['team'] } },
  { construct: 'who.membersOf', rules: set({ name: 'team', who: { membersOf: { evidence: 'team', doc: TEAM, path: '/members' } } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [OUTSIDER], evidence: { team: team.commitId } }, refuse: { rule: 'team', path: '/a', reason: /member listed at \/members/ } },
  { construct: 'who.membersOf (evidence of another document)', rules: set({ name: 'team', who: { membersOf: { evidence: 'team', doc: TEAM, path: '/members' } } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [MEMBER], evidence: { team: commitIdOf('impostor', 'v1') } }, refuse: { rule: 'team', path: '/a', reason: /another document/ } },
  { construct: 'who.membersOf (no evidence cited)', rules: set({ name: 'team', who: { membersOf: { evidence: 'team', doc: TEAM, path: '/members' } } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [MEMBER] }, refuse: { rule: 'team', path: '/a', reason: /cites no evidence named "team"/ } },
  // who: capabilities
  { construct: 'who.capability', rules: set({ name: 'cap', who: { capability: true } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [WALLET], capabilitySigners: [WALLET] }, accept: { rules: ['cap'] } },
  { construct: 'who.capability', rules: set({ name: 'cap', who: { capability: true } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [WALLET] }, refuse: { rule: 'cap', path: '/a', reason: /capability/ } },
  { construct: 'who.capability.issuers', rules: set({ name: 'cap', who: { capability: { issuers: [WALLET] } } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [WALLET], capabilitySigners: [WALLET] }, accept: { rules: ['cap'] } },
  { construct: 'who.capability.issuers', rules: set({ name: 'cap', who: { capability: { issuers: ['did:pkh:eip155:1:0x0000000000000000000000000000000000000001'] } } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [WALLET], capabilitySigners: [WALLET] }, refuse: { rule: 'cap', path: '/a', reason: /issued by one of/ } },
  // who: combinators and controllers
  { construct: 'who.allOf', rules: set({ name: 'both', who: { allOf: [{ anyOf: [ADMIN1] }, { anyOf: [ADMIN2] }] } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [ADMIN2, ADMIN1] }, accept: { rules: ['both'] } },
  { construct: 'who.allOf', rules: set({ name: 'both', who: { allOf: [{ anyOf: [ADMIN1] }, { anyOf: [ADMIN2] }] } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [ADMIN1] }, refuse: { rule: 'both', path: '/a', reason: /one of did:key:z6MkAdmin2/ } },
  { construct: 'who.anyOf of clauses', rules: set({ name: 'either', who: { anyOf: [{ threshold: 2, of: ADMINS }, { capability: true }] } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [WALLET], capabilitySigners: [WALLET] }, accept: { rules: ['either'] } },
  { construct: 'who.anyOf of clauses', rules: set({ name: 'either', who: { anyOf: [{ threshold: 2, of: ADMINS }, { capability: true }] } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [ADMIN1] }, refuse: { rule: 'either', path: '/a', reason: /none of its signer conditions holds/ } },
  { construct: 'who.controllers', rules: set({ name: 'owner', who: { controllers: true } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [ADMIN1] }, accept: { rules: ['owner'] } },
  { construct: 'who.controllers', rules: set({ name: 'owner', who: { controllers: true } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [MEMBER] }, refuse: { rule: 'owner', path: '/a', reason: /controller/ } },
  // how: paths allowed to change
  { construct: 'how.paths', rules: set({ name: 'status-only', how: { paths: ['/status'] } }), input: { content: { status: 'open', title: 't' }, patch: [{ op: 'replace', path: '/status', value: 'done' }] }, accept: { rules: ['status-only'] } },
  { construct: 'how.paths', rules: set({ name: 'status-only', how: { paths: ['/status'] } }), input: { content: { status: 'open', title: 't' }, patch: [{ op: 'replace', path: '/title', value: 'u' }] }, refuse: { rule: 'status-only', path: '/title', reason: /only \/status may change/ } },
  // how: operations
  { construct: 'how.ops', rules: set({ name: 'no-remove', how: { ops: ['add', 'replace'] } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }] }, accept: { rules: ['no-remove'] } },
  { construct: 'how.ops', rules: set({ name: 'no-remove', how: { ops: ['add', 'replace'] } }), input: { content: { a: 1 }, patch: [{ op: 'remove', path: '/a' }] }, refuse: { rule: 'no-remove', path: '/a', reason: /"remove", and only add, replace/ } },
  // how: append only
  { construct: 'how.appendOnly', rules: set({ name: 'log', paths: ['/entries'], how: { appendOnly: true } }), input: { content: { entries: ['a'] }, patch: [{ op: 'add', path: '/entries/-', value: 'b' }] }, accept: { rules: ['log'] } },
  { construct: 'how.appendOnly', rules: set({ name: 'log', paths: ['/entries'], how: { appendOnly: true } }), input: { content: { entries: ['a'] }, patch: [{ op: 'replace', path: '/entries/0', value: 'z' }] }, refuse: { rule: 'log', path: '/entries/0', reason: /not an append/ } },
  { construct: 'how.appendOnly (insert at an index)', rules: set({ name: 'log', paths: ['/entries'], how: { appendOnly: true } }), input: { content: { entries: ['a'] }, patch: [{ op: 'add', path: '/entries/0', value: 'z' }] }, refuse: { rule: 'log', path: '/entries/0', reason: /not an append/ } },
  // how: a JSON Schema over the transition
  { construct: 'how.transition', rules: set({ name: 'grow', how: { transition: { properties: { after: { properties: { content: { properties: { n: { minimum: 0 } } } } } } } } }), input: { content: { n: 1 }, patch: [{ op: 'replace', path: '/n', value: 5 }] }, accept: { rules: ['grow'] } },
  { construct: 'how.transition', rules: set({ name: 'grow', how: { transition: { properties: { after: { properties: { content: { properties: { n: { minimum: 0 } } } } } } } } }), input: { content: { n: 1 }, patch: [{ op: 'replace', path: '/n', value: -1 }] }, refuse: { rule: 'grow', path: '/n', reason: /transition schema: \/after\/content\/n must be >= 0/ } },
  // how: compare-and-set
  { construct: 'how.compareAndSet', rules: set({ name: 'cas', how: { compareAndSet: true } }), input: { content: { count: 1 }, patch: [{ op: 'test', path: '/count', value: 1 }, { op: 'replace', path: '/count', value: 2 }] }, accept: { rules: ['cas'] } },
  { construct: 'how.compareAndSet', rules: set({ name: 'cas', how: { compareAndSet: true } }), input: { content: { count: 1 }, patch: [{ op: 'replace', path: '/count', value: 2 }] }, refuse: { rule: 'cas', path: '/count', reason: /must first "test"/ } },
  { construct: 'how.compareAndSet (test after the change)', rules: set({ name: 'cas', how: { compareAndSet: true } }), input: { content: { count: 1 }, patch: [{ op: 'replace', path: '/count', value: 2 }, { op: 'test', path: '/count', value: 2 }] }, refuse: { rule: 'cas', path: '/count' } },
  { construct: 'how.compareAndSet (test of an ancestor)', rules: set({ name: 'cas', how: { compareAndSet: true } }), input: { content: { c: { n: 1 } }, patch: [{ op: 'test', path: '/c', value: { n: 1 } }, { op: 'replace', path: '/c/n', value: 2 }] }, accept: { rules: ['cas'] } },
  // when: evidence in another document
  { construct: 'when.evidence', rules: set({ name: 'release', when: { evidence: [{ evidence: 'approvals', doc: RELEASE_APPROVALS, require: { properties: { approvals: { minItems: 3 } } } }] } }), input: { content: { v: '1.0' }, patch: [{ op: 'replace', path: '/v', value: '1.1' }], evidence: { approvals: approvals3.commitId } }, accept: { rules: ['release'] } },
  { construct: 'when.evidence', rules: set({ name: 'release', when: { evidence: [{ evidence: 'approvals', doc: RELEASE_APPROVALS, require: { properties: { approvals: { minItems: 3 } } } }] } }), input: { content: { v: '1.0' }, patch: [{ op: 'replace', path: '/v', value: '1.1' }], evidence: { approvals: approvals2.commitId } }, refuse: { rule: 'release', path: '/v', reason: /\/approvals must NOT have fewer than 3 items/ } },
  { construct: 'when.evidence (not anchored yet)', rules: set({ name: 'team', who: { membersOf: { evidence: 'team', doc: TEAM, path: '/members' } } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], signers: [MEMBER], evidence: { team: teamUnanchored.commitId } }, accept: { rules: ['team'], provisional: [{ rule: 'team', kind: 'evidence', commitId: teamUnanchored.commitId }] } },
  // when: a time window, judged on anchor times only
  { construct: 'when.notBefore', rules: set({ name: 'later', when: { notBefore: 1_700_000_000 } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], prevAnchoredAt: 1_700_000_000 }, accept: { rules: ['later'] } },
  { construct: 'when.notBefore (shown by cited evidence)', rules: set({ name: 'later', when: { notBefore: 1_700_000_450, evidence: [{ evidence: 'approvals', doc: RELEASE_APPROVALS }] } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], prevAnchoredAt: 1, evidence: { approvals: approvals3.commitId } }, accept: { rules: ['later'] } },
  { construct: 'when.notBefore', rules: set({ name: 'later', when: { notBefore: 1_700_000_000 } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], prevAnchoredAt: 1_699_999_999 }, refuse: { rule: 'later', path: '/a', reason: /only from 2023-11-14T22:13:20.000Z/ } },
  { construct: 'when.notBefore (never anchored)', rules: set({ name: 'later', when: { notBefore: 1_700_000_000 } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }] }, refuse: { rule: 'later', path: '/a', reason: /latest anchor it can show is none/ } },
  { construct: 'when.notAfter', rules: set({ name: 'deadline', when: { notAfter: 1_800_000_000 } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], prevAnchoredAt: 1_700_000_000 }, accept: { rules: ['deadline'], provisional: [{ rule: 'deadline', kind: 'deadline', notAfter: 1_800_000_000 }] } },
  { construct: 'when.notAfter', rules: set({ name: 'deadline', when: { notAfter: 1_800_000_000 } }), input: { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], prevAnchoredAt: 1_800_000_001 }, refuse: { rule: 'deadline', path: '/a', reason: /had to happen by/ } },
  // paths and the default
  { construct: 'default deny', rules: set({ name: 'title', paths: ['/title'] }), input: { content: { title: 'a', body: 'b' }, patch: [{ op: 'replace', path: '/title', value: 'c' }] }, accept: { rules: ['title'] } },
  { construct: 'default deny', rules: set({ name: 'title', paths: ['/title'] }), input: { content: { title: 'a', body: 'b' }, patch: [{ op: 'replace', path: '/body', value: 'c' }] }, refuse: { rule: null, path: '/body', reason: /no rule covers \/body/ } },
  { construct: 'default allow', rules: { version: 1, default: 'allow', rules: [{ name: 'title', paths: ['/title'], who: { anyOf: [ADMIN2] } }] }, input: { content: { title: 'a', body: 'b' }, patch: [{ op: 'replace', path: '/body', value: 'c' }] }, accept: { rules: [] } },
  { construct: 'default allow', rules: { version: 1, default: 'allow', rules: [{ name: 'title', paths: ['/title'], who: { anyOf: [ADMIN2] } }] }, input: { content: { title: 'a', body: 'b' }, patch: [{ op: 'replace', path: '/title', value: 'c' }] }, refuse: { rule: 'title', path: '/title' } },
  { construct: 'wildcard paths', rules: set({ name: 'close', paths: ['/tasks/*/closed'], who: { anyOf: [ADMIN1] } }), input: { content: tasks, patch: [{ op: 'replace', path: '/tasks/0/closed', value: true }] }, accept: { rules: ['close'] } },
  { construct: 'wildcard paths', rules: set({ name: 'close', paths: ['/tasks/*/closed'], who: { anyOf: [ADMIN1] } }), input: { content: tasks, patch: [{ op: 'replace', path: '/tasks/0/title', value: 'x' }] }, refuse: { rule: null, path: '/tasks/0/title' } },
  // rules change: #rules is governed like any path
  { construct: '#rules', rules: set({ name: 'anything', who: { anyOf: [ADMIN1] } }), input: { metadata: { rules: commitIdOf('rules', 'v1') }, metadataAfter: { rules: commitIdOf('rules', 'v2') } }, refuse: { rule: null, path: '#rules', reason: /no rule covers #rules/ } },
  { construct: '#rules', rules: set({ name: 'rules-change', paths: ['#rules'], who: { threshold: 2, of: ADMINS } }), input: { metadata: { rules: commitIdOf('rules', 'v1') }, metadataAfter: { rules: commitIdOf('rules', 'v2') }, signers: [ADMIN1, ADMIN2] }, accept: { rules: ['rules-change'] } },
  { construct: '#rules', rules: set({ name: 'rules-change', paths: ['#rules'], who: { threshold: 2, of: ADMINS } }), input: { metadata: { rules: commitIdOf('rules', 'v1') }, metadataAfter: { rules: commitIdOf('rules', 'v2') }, signers: [ADMIN1] }, refuse: { rule: 'rules-change', path: '#rules' } }
]

describe('the rules language, construct by construct', () => {
  it('has an accepted and a refused row for every construct', () => {
    const constructs = new Set(rows.map((r) => r.construct.replace(/ \(.*\)$/, '')))
    for (const construct of constructs) {
      const mine = rows.filter((r) => r.construct.replace(/ \(.*\)$/, '') === construct)
      expect(mine.some((r) => r.accept !== undefined), `${construct} accepted`).toBe(true)
      expect(mine.some((r) => r.refuse !== undefined), `${construct} refused`).toBe(true)
    }
  })

  it.each(rows.map((row, i) => [`${row.construct}: ${row.accept !== undefined ? 'accepts' : 'refuses'} (row ${i})`, row] as const))('%s', async (_title, row) => {
    const rules = parseRules(row.rules)
    const reader = fixedReader(EVIDENCE as EvidenceState[])
    const outcome = await evaluateRules(rules, transition(row.input), reader).then((verdict) => ({ verdict }), (error: unknown) => ({ error }))
    if (row.accept !== undefined) {
      expect(outcome).toHaveProperty('verdict')
      const { verdict } = outcome as { verdict: Awaited<ReturnType<typeof evaluateRules>> }
      expect(verdict.rules).toEqual(row.accept.rules)
      expect(verdict.provisional).toEqual(row.accept.provisional ?? [])
    } else {
      const refusal = row.refuse!
      expect(outcome).toHaveProperty('error')
      const { error } = outcome as { error: { name: string, details: Record<string, unknown>, message: string } }
      expect(error.name, error.message).toBe('RuleViolationError')
      expect(error.details.path).toBe(refusal.path)
      expect(error.details.rule).toBe(refusal.rule ?? undefined)
      expect(typeof error.details.reason).toBe('string')
      if (refusal.reason !== undefined) expect(error.details.reason).toMatch(refusal.reason)
    }
  })
})
