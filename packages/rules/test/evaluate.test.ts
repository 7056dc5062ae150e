import { evaluateRules, judgeDeadline, parseRules, type EvidenceReader, type RuleSet, type TransitionInput } from '@kiln/rules'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ADMIN1, ADMIN2, ADMIN3, commitIdOf, docIdOf, evidenceState, fixedReader, MEMBER, transition } from './fixtures/transitions.js'

const ADMINS = [ADMIN1, ADMIN2, ADMIN3]
const TEAM = docIdOf('team')

/** The team task list of docs/rules.md: members append tasks, two of three admins close them. */
const taskList = {
  version: 1,
  rules: [
    { name: 'members-add-tasks', paths: ['/tasks'], who: { membersOf: { evidence: 'team', doc: TEAM, path: '/members' } }, how: { appendOnly: true } },
    { name: 'admins-close-tasks', paths: ['/tasks/*/closed'], who: { threshold: 2, of: ADMINS }, how: { ops: ['replace', 'test'] } }
  ]
}
const team = evidenceState('team', 'v1', { members: [MEMBER, ADMIN1] }, 1_700_000_000)
const tasks = { tasks: [{ title: 'write docs', closed: false }] }

async function outcome (rules: RuleSet, input: TransitionInput, reader: EvidenceReader = fixedReader([team])): Promise<unknown> {
  return await evaluateRules(rules, input, reader).then(
    (verdict) => ({ verdict }),
    (err: { name: string, details: unknown }) => ({ name: err.name, details: err.details })
  )
}

/** The rule set with its rules in reverse order. */
function reversed (rules: RuleSet): RuleSet {
  return { ...rules, rules: [...rules.rules].reverse() }
}

afterEach(() => { vi.useRealTimers() })

describe('evaluateRules on the team task list', () => {
  const rules = parseRules(taskList)

  it('lets a member append a task', async () => {
    const input = transition({ content: tasks, patch: [{ op: 'add', path: '/tasks/-', value: { title: 'test', closed: false } }], signers: [MEMBER], evidence: { team: team.commitId } })
    expect(await outcome(rules, input)).toEqual({ verdict: { rules: ['members-add-tasks'], provisional: [], paths: ['/tasks/-', '/tasks/1'] } })
  })

  it('lets two of the three admins close a task, the most specific rule governing the path', async () => {
    const input = transition({ content: tasks, patch: [{ op: 'replace', path: '/tasks/0/closed', value: true }], signers: [ADMIN3, ADMIN1] })
    expect(await outcome(rules, input)).toEqual({ verdict: { rules: ['admins-close-tasks'], provisional: [], paths: ['/tasks/0/closed'] } })
  })

  it('refuses one admin signing twice, a member closing a task, and a member editing a title', async () => {
    const close = [{ op: 'replace', path: '/tasks/0/closed', value: true }]
    expect(await outcome(rules, transition({ content: tasks, patch: close, signers: [ADMIN1, ADMIN1] }))).toMatchObject({ name: 'RuleViolationError', details: { rule: 'admins-close-tasks', path: '/tasks/0/closed' } })
    expect(await outcome(rules, transition({ content: tasks, patch: close, signers: [MEMBER], evidence: { team: team.commitId } }))).toMatchObject({ name: 'RuleViolationError', details: { rule: 'admins-close-tasks' } })
    const edit = [{ op: 'replace', path: '/tasks/0/title', value: 'x' }]
    expect(await outcome(rules, transition({ content: tasks, patch: edit, signers: [MEMBER], evidence: { team: team.commitId } }))).toMatchObject({ name: 'RuleViolationError', details: { rule: 'members-add-tasks', path: '/tasks/0/title' } })
  })
})

describe('determinism', () => {
  const rules = parseRules(taskList)
  const inputs = [
    transition({ content: tasks, patch: [{ op: 'add', path: '/tasks/-', value: { title: 't' } }], signers: [MEMBER], evidence: { team: team.commitId } }),
    transition({ content: tasks, patch: [{ op: 'replace', path: '/tasks/0/closed', value: true }], signers: [ADMIN1, ADMIN2] }),
    // two rules refuse: both paths change, and the refusal is the same whichever rule comes first
    transition({ content: tasks, patch: [{ op: 'replace', path: '/tasks/0/closed', value: true }, { op: 'replace', path: '/tasks/0/title', value: 'x' }], signers: [MEMBER], evidence: { team: team.commitId } })
  ]

  it('gives the same verdict for the same transition, twice and in either rule order', async () => {
    for (const input of inputs) {
      const first = await outcome(rules, input)
      expect(await outcome(rules, input)).toEqual(first)
      expect(await outcome(reversed(rules), input)).toEqual(first)
      expect(await outcome(parseRules({ ...taskList, rules: [...taskList.rules].reverse() }), input)).toEqual(first)
    }
  })

  it('lists provisional conditions sorted and once each, whatever the rule order', async () => {
    const rules = parseRules({
      version: 1,
      rules: [
        { name: 'z-deadline', when: { notAfter: 2_000_000_000, evidence: [{ evidence: 'team', doc: TEAM }] } },
        { name: 'a-deadline', when: { notAfter: 1_900_000_000 } }
      ]
    })
    const unanchored = evidenceState('team', 'v2', { members: [] })
    const input = transition({ content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }], evidence: { team: unanchored.commitId } })
    const expected = {
      verdict: {
        rules: ['a-deadline', 'z-deadline'],
        provisional: [
          { rule: 'a-deadline', kind: 'deadline', notAfter: 1_900_000_000 },
          { rule: 'z-deadline', kind: 'deadline', notAfter: 2_000_000_000 },
          { rule: 'z-deadline', kind: 'evidence', commitId: unanchored.commitId }
        ],
        paths: ['/a']
      }
    }
    expect(await outcome(rules, input, fixedReader([unanchored]))).toEqual(expected)
    expect(await outcome(reversed(rules), input, fixedReader([unanchored]))).toEqual(expected)
  })
})

describe('bounds of one evaluation', () => {
  const change = { content: { a: 1 }, patch: [{ op: 'replace', path: '/a', value: 2 }] }

  it('loads each piece of evidence once, however many rules cite it', async () => {
    const rules = parseRules({
      version: 1,
      rules: ['one', 'two', 'three'].map((name) => ({ name, who: { membersOf: { evidence: 'team', doc: TEAM, path: '/members' } } }))
    })
    const reader = fixedReader([team])
    await evaluateRules(rules, transition({ ...change, signers: [MEMBER], evidence: { team: team.commitId } }), reader)
    expect(reader.loads).toEqual([team.commitId])
  })

  it('refuses to load more evidence than maxEvidence with LimitExceededError', async () => {
    const names = ['e1', 'e2', 'e3']
    const states = names.map((n) => evidenceState(n, 'v1', {}, 1))
    const rules = parseRules({ version: 1, rules: [{ name: 'all', when: { evidence: names.map((n) => ({ evidence: n, doc: docIdOf(n) })) } }] })
    const evidence = Object.fromEntries(names.map((n, i) => [n, states[i]!.commitId]))
    const reader = fixedReader(states)
    const err = await evaluateRules(rules, transition({ ...change, evidence }), reader, { maxEvidence: 2 }).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'LimitExceededError', details: { limit: 'maxEvidence' } })
    expect(reader.loads).toHaveLength(2)
  })

  it('stops past maxSteps with LimitExceededError', async () => {
    const rules = parseRules({ version: 1, rules: [{ name: 'any', who: { anyOf: ADMINS } }] })
    const patch = Array.from({ length: 50 }, (_, i) => ({ op: 'add', path: `/k${i}`, value: i }))
    const input = transition({ content: {}, patch })
    await expect(evaluateRules(rules, input, fixedReader(), { maxSteps: 40 })).rejects.toMatchObject({ name: 'LimitExceededError', details: { limit: 'maxSteps' } })
    await expect(evaluateRules(rules, input, fixedReader())).resolves.toMatchObject({ rules: ['any'] })
  })

  it('gives up on evidence that does not load within timeoutMs with TimeoutError', async () => {
    vi.useFakeTimers()
    const rules = parseRules({ version: 1, rules: [{ name: 'team', who: { membersOf: { evidence: 'team', doc: TEAM, path: '/members' } } }] })
    const never: EvidenceReader = { load: async () => await new Promise(() => {}) }
    const pending = evaluateRules(rules, transition({ ...change, signers: [MEMBER], evidence: { team: team.commitId } }), never, { timeoutMs: 1000 })
    const settled = pending.catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(1000)
    expect(await settled).toMatchObject({ name: 'TimeoutError', details: { limit: 'timeoutMs' } })
  })

  it('stops a schema that recurses without reading the value ($ref to itself under anyOf) with LimitExceededError', async () => {
    const rules = parseRules({ version: 1, rules: [{ name: 'loop', how: { transition: { anyOf: [{ $ref: '#' }] } } }] })
    await expect(evaluateRules(rules, transition(change), fixedReader())).rejects.toMatchObject({ name: 'LimitExceededError' })
  })

  it('refuses a malformed header.evidence with InvalidCommitError', async () => {
    const rules = parseRules({ version: 1, default: 'allow', rules: [] })
    const bad = [
      { '1bad': team.commitId },
      { team: 'not a commit id' },
      { team: docIdOf('team') },
      Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`e${i}`, team.commitId]))
    ]
    for (const evidence of bad) {
      await expect(evaluateRules(rules, transition({ ...change, evidence }), fixedReader())).rejects.toMatchObject({ name: 'InvalidCommitError' })
    }
  })
})

describe('metadata pseudo-paths', () => {
  it('reports metadata changes as #field paths, which a rule without paths does not cover', async () => {
    const rules = parseRules({ version: 1, rules: [{ name: 'admins', who: { anyOf: ADMINS } }] })
    const input = transition({ metadata: { controllers: [ADMIN1] }, metadataAfter: { controllers: [ADMIN2] } })
    await expect(evaluateRules(rules, input, fixedReader())).rejects.toMatchObject({ name: 'RuleViolationError', details: { path: '#controllers' } })
    const open = parseRules({ version: 1, rules: [{ name: 'admins', who: { anyOf: ADMINS } }, { name: 'handover', paths: ['#controllers'], who: { threshold: 2, of: ADMINS } }] })
    await expect(evaluateRules(open, { ...input, signers: [ADMIN1, ADMIN2] }, fixedReader())).resolves.toEqual({ rules: ['admins', 'handover'], provisional: [], paths: ['#controllers'] })
  })

  it('follows an explicit default allow for a metadata path no rule names', async () => {
    const rules = parseRules({ version: 1, default: 'allow', rules: [] })
    const input = transition({ metadata: { rules: commitIdOf('rules', 'v1') }, metadataAfter: { rules: commitIdOf('rules', 'v2') } })
    // default allow is the author's explicit choice: it applies to metadata too
    await expect(evaluateRules(rules, input, fixedReader())).resolves.toMatchObject({ paths: ['#rules'] })
  })
})

describe('judgeDeadline', () => {
  it('meets a deadline anchored at or before notAfter, and evidence once it is anchored', () => {
    const deadline = { rule: 'r', kind: 'deadline' as const, notAfter: 100 }
    expect(judgeDeadline(deadline, 100)).toBe(true)
    expect(judgeDeadline(deadline, 101)).toBe(false)
    expect(judgeDeadline(deadline, Number.NaN)).toBe(false)
    expect(judgeDeadline({ rule: 'r', kind: 'evidence', commitId: team.commitId }, 5)).toBe(true)
  })
})
