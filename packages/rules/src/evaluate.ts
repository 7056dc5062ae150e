import { CommitID, parseDocOrCommitID } from '@kiln/docid'
import { InvalidCommitError, LimitExceededError, RuleViolationError, TimeoutError } from '@kiln/interface'
import { describeIssues } from '@kiln/json'
import { changedPaths, readPatch, type PatchStep } from './changed-paths.js'
import { DEFAULT_MAX_EVIDENCE, DEFAULT_MAX_STEPS, DEFAULT_TIMEOUT_MS, EVIDENCE_NAME, MAX_EVIDENCE_ENTRIES } from './limits.js'
import { changedPath, compilePattern, isAncestorOrSelf, patternCovers, specificity, type ChangedPath, type PathPattern } from './pointer.js'
import { validateWithRuleSchema } from './schemas.js'
import type {
  EvaluateLimits, EvidenceReader, EvidenceState, ProvisionalCondition, Rule, RuleSet, TransitionInput, Verdict, WhoClause
} from './types.js'

/** A rule with its scope parsed. */
interface ScopedRule {
  rule: Rule
  scope?: PathPattern[]
  allowed?: PathPattern[]
}

/** A refusal found while checking one rule on one path. */
class Refusal {
  constructor (readonly reason: string) {}
}

function positive (value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`evaluateRules: ${name} must be a whole number ≥ 0, got ${String(value)}`)
  return value
}

/** Checks `header.evidence` as the update carries it: names, count, CommitID strings. */
function checkEvidence (evidence: Readonly<Record<string, string>>): void {
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence)) {
    throw new InvalidCommitError('header.evidence must be a map of names to CommitIDs', { details: { field: 'header.evidence' } })
  }
  const entries = Object.entries(evidence)
  if (entries.length > MAX_EVIDENCE_ENTRIES) {
    throw new InvalidCommitError(`header.evidence has ${entries.length} entries, more than the ${MAX_EVIDENCE_ENTRIES} allowed`, { details: { field: 'header.evidence' } })
  }
  for (const [name, commitId] of entries) {
    if (!EVIDENCE_NAME.test(name)) {
      throw new InvalidCommitError(`header.evidence names ${JSON.stringify(name.slice(0, 80))}, which is not an evidence name (a letter, then up to 63 letters, digits, _ or -)`, {
        details: { field: `header.evidence.${name.slice(0, 80)}` }
      })
    }
    if (!isCommitIdString(commitId)) {
      throw new InvalidCommitError(`header.evidence.${name} must be a CommitID string, got ${JSON.stringify(String(commitId).slice(0, 80))}`, {
        details: { field: `header.evidence.${name}` }
      })
    }
  }
}

/** True for a CommitID string: what rules and evidence name a document's version by. */
export function isCommitIdString (value: unknown): boolean {
  if (typeof value !== 'string') return false
  try {
    CommitID.fromString(value)
    return true
  } catch {
    return false
  }
}

function sameDoc (a: string, b: string): boolean {
  try {
    return parseDocOrCommitID(a).baseID.toString() === parseDocOrCommitID(b).baseID.toString()
  } catch {
    return false
  }
}

function valueAt (content: unknown, pointer: string): unknown {
  if (pointer === '') return content
  let node: unknown = content
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

function short (list: readonly string[], max = 3): string {
  return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`
}

/** One evaluation: its budget, the evidence it loaded, the provisional conditions it found. */
class Evaluation {
  steps = 0
  readonly maxSteps: number
  readonly maxEvidence: number
  readonly deadline: number
  readonly timeoutMs: number
  readonly loaded = new Map<string, Promise<EvidenceState>>()
  readonly provisional = new Map<string, ProvisionalCondition>()
  readonly signers: string[]

  constructor (readonly input: TransitionInput, readonly reader: EvidenceReader, limits: EvaluateLimits) {
    this.maxSteps = positive(limits.maxSteps, DEFAULT_MAX_STEPS, 'maxSteps')
    this.maxEvidence = positive(limits.maxEvidence, DEFAULT_MAX_EVIDENCE, 'maxEvidence')
    this.timeoutMs = positive(limits.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs')
    this.deadline = Date.now() + this.timeoutMs
    this.signers = [...new Set(input.signers)]
  }

  /** Counts one unit of work; past the budget, `LimitExceededError` (every node stops at the same step). */
  step = (units = 1): void => {
    this.steps += units
    if (this.steps > this.maxSteps) {
      throw new LimitExceededError(`evaluating the rules took more than ${this.maxSteps} steps`, { details: { limit: 'maxSteps', value: this.maxSteps } })
    }
    if ((this.steps & 63) === 0 && Date.now() > this.deadline) this.timedOut()
  }

  timedOut (): never {
    throw new TimeoutError(`evaluating the rules took longer than ${this.timeoutMs} ms`, { details: { limit: 'timeoutMs', value: this.timeoutMs } })
  }

  /** The evidence named `name`, which must be a commit of `doc`; loaded once per evaluation. */
  async evidence (rule: string, name: string, doc: string): Promise<EvidenceState> {
    this.step()
    const commitId = Object.hasOwn(this.input.evidence, name) ? this.input.evidence[name] : undefined
    if (commitId === undefined) throw new Refusal(`the update cites no evidence named "${name}" (header.evidence.${name})`)
    if (!sameDoc(commitId, doc)) throw new Refusal(`evidence "${name}" is ${commitId}, a commit of another document than ${doc}`)
    let pending = this.loaded.get(name)
    if (pending === undefined) {
      if (this.loaded.size >= this.maxEvidence) {
        throw new LimitExceededError(`the rules need more than ${this.maxEvidence} evidence documents`, { details: { limit: 'maxEvidence', value: this.maxEvidence } })
      }
      pending = this.withTimeout(this.reader.load(commitId))
      this.loaded.set(name, pending)
    }
    const state = await pending
    if (!sameDoc(state.docId, doc)) throw new Refusal(`evidence "${name}" loaded as a commit of ${state.docId}, not of ${doc}`)
    if (state.anchoredAt === undefined) this.addProvisional({ rule, kind: 'evidence', commitId })
    return state
  }

  async withTimeout<T> (promise: Promise<T>): Promise<T> {
    const remaining = this.deadline - Date.now()
    if (remaining <= 0) this.timedOut()
    let timer: ReturnType<typeof setTimeout> | undefined
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { try { this.timedOut() } catch (err) { reject(err) } }, remaining)
    })
    try {
      return await Promise.race([promise, expired])
    } finally {
      clearTimeout(timer)
    }
  }

  addProvisional (condition: ProvisionalCondition): void {
    this.provisional.set(JSON.stringify(condition), condition)
  }
}

/** Checks a who clause; a `Refusal` says why it fails. */
async function checkWho (clause: WhoClause, rule: string, e: Evaluation): Promise<void> {
  e.step()
  const signers = e.signers
  switch (clause.kind) {
    case 'signers':
      e.step(clause.anyOf.length)
      if (!signers.some((s) => clause.anyOf.includes(s))) throw new Refusal(`it must be signed by one of ${short(clause.anyOf)}; signed by ${short(signers) || 'nobody'}`)
      return
    case 'threshold': {
      e.step(clause.of.length)
      const count = signers.filter((s) => clause.of.includes(s)).length
      if (count < clause.threshold) {
        throw new Refusal(`it needs signatures of ${clause.threshold} different DIDs of ${short(clause.of)}, and has ${count}`)
      }
      return
    }
    case 'controllers':
      e.step(e.input.before.metadata.controllers.length)
      if (!signers.some((s) => e.input.before.metadata.controllers.includes(s))) throw new Refusal(`it must be signed by a controller (${short(e.input.before.metadata.controllers)})`)
      return
    case 'capability': {
      const holders = signers.filter((s) => e.input.capabilitySigners.includes(s) && (clause.issuers === undefined || clause.issuers.includes(s)))
      e.step(signers.length)
      if (holders.length === 0) {
        throw new Refusal(clause.issuers === undefined
          ? 'it must be signed through a capability (a CACAO session key)'
          : `it must be signed through a capability issued by one of ${short(clause.issuers)}`)
      }
      return
    }
    case 'membersOf': {
      const state = await e.evidence(rule, clause.evidence, clause.doc)
      const members = valueAt(state.content, clause.path)
      if (!Array.isArray(members)) throw new Refusal(`evidence "${clause.evidence}" has no members list at ${clause.path}`)
      e.step(members.length)
      if (!signers.some((s) => members.includes(s))) throw new Refusal(`it must be signed by a member listed at ${clause.path} of ${clause.doc}`)
      return
    }
    case 'allOf':
      for (const inner of clause.clauses) await checkWho(inner, rule, e)
      return
    case 'anyOf': {
      const reasons: string[] = []
      for (const inner of clause.clauses) {
        try {
          await checkWho(inner, rule, e)
          return
        } catch (err) {
          if (!(err instanceof Refusal)) throw err
          reasons.push(err.reason)
        }
      }
      throw new Refusal(`none of its signer conditions holds: ${reasons.join('; or ')}`)
    }
  }
}

/** The rules (by index) that govern each changed path, and the changed paths nothing covers. */
function govern (rules: readonly ScopedRule[], paths: readonly ChangedPath[], step: () => void): { governed: Map<ScopedRule, ChangedPath[]>, uncovered: ChangedPath[] } {
  const governed = new Map<ScopedRule, ChangedPath[]>()
  const uncovered: ChangedPath[] = []
  const unscoped = rules.filter((r) => r.scope === undefined)
  // a rule without paths governs every content path; metadata pseudo-paths only by name
  for (const r of unscoped) governed.set(r, paths.filter((p) => !p.pseudo))
  for (const path of paths) {
    const best = governingScoped(rules, path, step)
    for (const r of best) governed.set(r, [...(governed.get(r) ?? []), path])
    // pseudo-paths (metadata) are covered only by a rule that names them
    if (best.length === 0 && (path.pseudo || unscoped.length === 0)) uncovered.push(path)
  }
  return { governed, uncovered }
}

/** The scoped rules governing each path already looked at, so that each path costs its steps once. */
const governingMemo = new WeakMap<readonly ScopedRule[], Map<string, ScopedRule[]>>()

/** The scoped rules whose matching pattern is the most specific for `path`. */
function governingScoped (rules: readonly ScopedRule[], path: ChangedPath, step: () => void): ScopedRule[] {
  let memo = governingMemo.get(rules)
  if (memo === undefined) {
    memo = new Map()
    governingMemo.set(rules, memo)
  }
  let found = memo.get(path.path)
  if (found === undefined) {
    found = mostSpecific(rules, path, step)
    memo.set(path.path, found)
  }
  return found
}

function mostSpecific (rules: readonly ScopedRule[], path: ChangedPath, step: () => void): ScopedRule[] {
  let best: ScopedRule[] = []
  let bestScore = -Infinity
  for (const r of rules) {
    if (r.scope === undefined) continue
    for (const pattern of r.scope) {
      step()
      if (!patternCovers(pattern, path)) continue
      const score = specificity(pattern)
      if (score > bestScore) { best = [r]; bestScore = score } else if (score === bestScore && !best.includes(r)) best.push(r)
    }
  }
  return best
}

/** The rules governing the op's target (and a move's source), as {@link govern} decides it for paths. */
function opGoverned (r: ScopedRule, op: PatchStep, rules: readonly ScopedRule[], step: () => void): boolean {
  if (r.scope === undefined) return true
  const targets = op.op === 'move' && op.from !== undefined ? [op.path, op.from] : [op.path]
  return targets.some((t) => governingScoped(rules, changedPath(t), step).includes(r))
}

function segmentsOf (path: string): string[] {
  return changedPath(path).segments as string[]
}

/** Checks one rule against the paths it governs; throws `RuleViolationError` on the first refusal. */
async function checkRule (r: ScopedRule, paths: readonly ChangedPath[], all: readonly ChangedPath[], ops: readonly PatchStep[], rules: readonly ScopedRule[], e: Evaluation): Promise<void> {
  const { rule } = r
  // where a refusal of the whole rule (who, when, transition) is reported: its first path, else the update's first
  const at = paths[0]?.path ?? all[0]?.path ?? ''
  const refuse = (path: string, reason: string): never => {
    throw new RuleViolationError(`rule "${rule.name}" refuses the change at ${path === '' ? '(root)' : path}: ${reason}`, {
      details: { rule: rule.name, path, reason }
    })
  }
  const guarded = async (path: string, check: () => Promise<void> | void): Promise<void> => {
    try {
      await check()
    } catch (err) {
      if (err instanceof Refusal) refuse(path, err.reason)
      throw err
    }
  }
  const how = rule.how
  if (how !== undefined) {
    if (r.allowed !== undefined) {
      for (const path of paths) {
        if (!r.allowed.some((p) => { e.step(); return patternCovers(p, path) })) refuse(path.path, `only ${short(how.paths ?? [])} may change`)
      }
    }
    const mine = ops.filter((op) => opGoverned(r, op, rules, e.step))
    for (const op of mine) {
      e.step()
      if (how.ops !== undefined && !how.ops.includes(op.op)) refuse(op.path, `operation ${op.index} is "${op.op}", and only ${how.ops.join(', ')} are allowed`)
      if (how.appendOnly && op.op !== 'test' && !(op.op === 'add' && op.path.endsWith('/-'))) {
        refuse(op.path, `operation ${op.index} ("${op.op}" at ${op.path === '' ? '(root)' : op.path}) is not an append: only "add" at <array>/- is allowed`)
      }
    }
    if (how.compareAndSet) {
      for (const path of paths) {
        if (path.pseudo) continue
        // the first operation that touches the path must come after a test of the path or of an ancestor
        const first = ops.find((op) => {
          e.step()
          if (op.op === 'test') return false
          const touched = [op.path, ...(op.op === 'move' && op.from !== undefined ? [op.from] : [])].map(segmentsOf)
          return touched.some((t) => isAncestorOrSelf(t, path.segments) || isAncestorOrSelf(path.segments, t))
        })
        const limit = first?.index ?? ops.length
        const tested = ops.some((op) => { e.step(); return op.op === 'test' && op.index < limit && isAncestorOrSelf(segmentsOf(op.path), path.segments) })
        if (!tested) refuse(path.path, 'compare-and-set: the patch must first "test" the value at this path (or at an ancestor) before changing it')
      }
    }
    if (how.transition !== undefined) {
      e.step(16)
      const issues = validateWithRuleSchema(how.transition, {
        before: { content: e.input.before.content, metadata: e.input.before.metadata },
        after: { content: e.input.after.content, metadata: e.input.after.metadata },
        patch: e.input.patch,
        signers: e.signers
      })
      if (issues.length > 0) refuse(at, `the transition does not match the rule's transition schema: ${describeIssues(issues)}`)
    }
  }
  if (rule.who !== undefined) await guarded(at, async () => { await checkWho(rule.who!, rule.name, e) })
  const when = rule.when
  if (when !== undefined) {
    for (const condition of when.evidence) {
      await guarded(at, async () => {
        const state = await e.evidence(rule.name, condition.evidence, condition.doc)
        if (condition.require !== undefined) {
          e.step(16)
          const issues = validateWithRuleSchema(condition.require, state.content)
          if (issues.length > 0) throw new Refusal(`evidence "${condition.evidence}" does not meet the rule's requirement: ${describeIssues(issues)}`)
        }
      })
    }
    if (when.notBefore !== undefined) {
      const times: number[] = []
      if (e.input.prevAnchoredAt !== undefined) times.push(e.input.prevAnchoredAt)
      for (const name of citedEvidence(rule)) {
        const state = await e.loaded.get(name)
        if (state?.anchoredAt !== undefined) times.push(state.anchoredAt)
      }
      const latest = times.length === 0 ? undefined : Math.max(...times)
      if (latest === undefined || latest < when.notBefore) {
        refuse(at, `it may happen only from ${new Date(when.notBefore * 1000).toISOString()}, and the latest anchor it can show is ${latest === undefined ? 'none' : new Date(latest * 1000).toISOString()}`)
      }
    }
    if (when.notAfter !== undefined) {
      if (e.input.prevAnchoredAt !== undefined && e.input.prevAnchoredAt > when.notAfter) {
        refuse(at, `it had to happen by ${new Date(when.notAfter * 1000).toISOString()}, and the document was already anchored at ${new Date(e.input.prevAnchoredAt * 1000).toISOString()}`)
      }
      e.addProvisional({ rule: rule.name, kind: 'deadline', notAfter: when.notAfter })
    }
  }
}

/** The evidence names a rule cites, in its `who` and its `when`. */
function citedEvidence (rule: Rule): string[] {
  const names: string[] = []
  const visit = (clause: WhoClause | undefined): void => {
    if (clause === undefined) return
    if (clause.kind === 'membersOf') names.push(clause.evidence)
    if (clause.kind === 'allOf' || clause.kind === 'anyOf') clause.clauses.forEach(visit)
  }
  visit(rule.who)
  for (const c of rule.when?.evidence ?? []) names.push(c.evidence)
  return [...new Set(names)]
}

function compareConditions (a: ProvisionalCondition, b: ProvisionalCondition): number {
  const key = (c: ProvisionalCondition): string => `${c.rule}\u0000${c.kind}\u0000${c.kind === 'deadline' ? String(c.notAfter).padStart(20, '0') : c.commitId}`
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0
}

/**
 * Judges one update against a rule set. Resolves with the verdict (the rules that applied, and what later anchors
 * must confirm) or rejects with `RuleViolationError` naming the rule, the path and why. The verdict depends only on
 * the input and the evidence: rules are checked in name order and paths in code-unit order, whatever their order in
 * the rules document. Over `maxSteps` or `maxEvidence`: `LimitExceededError`; over `timeoutMs`: `TimeoutError`.
 */
export async function evaluateRules (rules: RuleSet, input: TransitionInput, reader: EvidenceReader, limits: EvaluateLimits = {}): Promise<Verdict> {
  const e = new Evaluation(input, reader, limits)
  checkEvidence(input.evidence)
  const ops = readPatch(input.patch, e.step)
  const paths = changedPaths(ops, input.before.content, input.after.content, input.before.metadata, input.after.metadata, e.step).map(changedPath)
  const scoped: ScopedRule[] = [...rules.rules].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0).map((rule) => ({
    rule,
    ...(rule.paths === undefined ? {} : { scope: rule.paths.map(compilePattern) }),
    ...(rule.how?.paths === undefined ? {} : { allowed: rule.how.paths.map(compilePattern) })
  }))
  const { governed, uncovered } = govern(scoped, paths, e.step)
  if (rules.default === 'deny' && uncovered.length > 0) {
    const path = uncovered[0]!.path
    const reason = `no rule covers ${path === '' ? 'the whole content' : path}, and the rules deny by default`
    throw new RuleViolationError(`the rules refuse the change at ${path === '' ? '(root)' : path}: ${reason}`, { details: { path, reason } })
  }
  const applied: string[] = []
  for (const r of scoped) {
    const mine = governed.get(r)
    if (mine === undefined || (r.scope !== undefined && mine.length === 0)) continue
    applied.push(r.rule.name)
    await checkRule(r, mine, paths, ops, scoped, e)
  }
  return {
    rules: applied,
    provisional: [...e.provisional.values()].sort(compareConditions),
    paths: paths.map((p) => p.path)
  }
}

/**
 * Decides a provisional condition once the anchor it waited for is known: a `deadline` is met when the commit was
 * anchored at or before `notAfter`; an `evidence` condition is met once the evidence is anchored at all. `anchoredAt`
 * is the chain time (unix seconds) of that anchor.
 */
export function judgeDeadline (condition: ProvisionalCondition, anchoredAt: number): boolean {
  if (!Number.isFinite(anchoredAt)) return false
  return condition.kind === 'deadline' ? anchoredAt <= condition.notAfter : true
}
