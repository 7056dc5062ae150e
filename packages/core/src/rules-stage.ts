/**
 * Stage 4 of the pipeline, for documents whose metadata names a rules document (`header.rules`, a CommitID): the
 * rules at that commit judge every update, and an anchor settles what a verdict left provisional. Everything a
 * verdict reads is named by a CommitID (the rules, the evidence) or carried by the commit, so every node reaches the
 * same verdict from the same blocks. `docs/rules.md` is the user's reference.
 */
import { parseDocOrCommitID, type DocID } from '@kiln/docid'
import {
  InvalidCommitError,
  type AbortOptions, type DocHead, type DocMetadata, type DocState, type DoctypeResult, type LogEntry,
  type ProvisionalCommit, type ProvisionalCondition, type UpdateRecord, type VoidedCommit
} from '@kiln/interface'
import {
  InvalidRulesError, RULES_DOCTYPE_CODE, RuleViolationError, evaluateRules, judgeDeadline, parseRules,
  type EvidenceReader, type EvidenceState, type RuleSet, type TransitionMetadata
} from '@kiln/rules'
import { LRUCache } from 'lru-cache'
import type { CID } from 'multiformats/cid'

/** At most this many commits of one document may wait on a deadline at once; the next one waits for an anchor. */
export const MAX_PROVISIONAL_COMMITS = 16

/** What the rules stage needs from the node: loads of documents at commits, and the anchor time of a commit. */
export interface RulesStageComponents {
  /** The state of a document at a CommitID (fetched from peers if the node lacks it). */
  loadAt: (commitId: string, options: AbortOptions) => Promise<{ id: DocID, state: DocState }>
  /**
   * The chain time of the anchor that covers `commit` on the document's log, or undefined when none does yet (or
   * the commit is not on the log).
   */
  anchoredAt: (docId: string, commit: CID, options: AbortOptions) => Promise<number | undefined>
}

/** A provisional commit as the head keeps it: the public fields, and the state before it, to restore if it is voided. */
export interface HeldProvisional extends ProvisionalCommit {
  restore?: { content: unknown, metadata: DocMetadata }
}

/** What the rules stage is told of an update it judges. */
export interface UpdateToJudge {
  docId: string
  commit: CID
  record: UpdateRecord
  /** The state at the commit's prev. */
  base: { head: DocHead, log: readonly LogEntry[] }
  /** What the doctype computed. */
  result: DoctypeResult
  signers: readonly string[]
  capabilitySigners: readonly string[]
}

/** The outcome of an anchor for a head with provisional commits. */
export interface Settled {
  provisional?: HeldProvisional[]
  /** Set when a commit missed its deadline: the state to restore and the commits voided. */
  voided?: { restore: { content: unknown, metadata: DocMetadata }, commits: VoidedCommit[] }
}

export class RulesStage {
  readonly #sets = new LRUCache<string, RuleSet>({ max: 256 })

  constructor (private readonly c: RulesStageComponents) {}

  /** The rule set of the rules document at `commitId` (cached: a CommitID names one immutable state). */
  async rulesAt (commitId: unknown, options: AbortOptions): Promise<RuleSet> {
    if (typeof commitId !== 'string') {
      throw new InvalidCommitError(`\`rules\` must be the CommitID string of a rules document, got ${typeof commitId}`, { details: { field: 'rules' } })
    }
    const cached = this.#sets.get(commitId)
    if (cached !== undefined) return cached
    let ref
    try {
      ref = parseDocOrCommitID(commitId)
    } catch (cause) {
      throw new InvalidCommitError(`\`rules\` ${JSON.stringify(commitId.slice(0, 120))} is not a CommitID`, { cause, details: { field: 'rules' } })
    }
    if (!('commit' in ref)) {
      throw new InvalidCommitError(`\`rules\` must name a commit of the rules document (a CommitID), not the document ${commitId}: rules are read at a fixed version`, {
        details: { field: 'rules', rules: commitId }
      })
    }
    if (ref.type !== RULES_DOCTYPE_CODE) {
      throw new InvalidRulesError(`${commitId} is not a rules document (doctype ${ref.type}, rules is ${RULES_DOCTYPE_CODE})`, { details: { path: '', rules: commitId } })
    }
    const { state } = await this.c.loadAt(commitId, options)
    const set = parseRules(state.content)
    this.#sets.set(commitId, set)
    return set
  }

  /** A genesis naming rules: the rules document must exist at that commit and hold valid rules. */
  async checkGenesis (metadata: DocMetadata, options: AbortOptions): Promise<void> {
    if (metadata.rules !== undefined) await this.rulesAt(metadata.rules, options)
  }

  /**
   * Judges an update of a document with rules: resolves with the conditions left provisional (none: final), or
   * rejects with `RuleViolationError` naming the rule and the path.
   */
  async judge (update: UpdateToJudge, options: AbortOptions): Promise<ProvisionalCondition[]> {
    const { base, result } = update
    const rules = await this.rulesAt(base.head.metadata.rules, options)
    // New rules must be rules, whether or not the current ones allow the change (they are judged next).
    if (result.metadata.rules !== undefined && result.metadata.rules !== base.head.metadata.rules) await this.rulesAt(result.metadata.rules, options)
    const evidence = update.record.header?.evidence ?? {}
    const verdict = await evaluateRules(rules, {
      docId: update.docId,
      commit: update.commit.toString(),
      before: { content: base.head.content, metadata: transitionMetadata(base.head.metadata), tip: base.head.tip.toString() },
      after: { content: result.content, metadata: transitionMetadata(result.metadata) },
      patch: Array.isArray(update.record.data) ? update.record.data : [],
      signers: update.signers,
      capabilitySigners: update.capabilitySigners,
      evidence,
      ...(base.head.anchorProof === undefined ? {} : latestAnchor(base.log))
    }, this.evidenceReader(options))
    if (verdict.provisional.length > 0 && (base.head.provisional?.length ?? 0) >= MAX_PROVISIONAL_COMMITS) {
      throw new RuleViolationError(
        `${update.docId} already has ${MAX_PROVISIONAL_COMMITS} commits waiting for an anchor to settle their rules; wait for the next anchor and submit again`,
        { details: { rule: verdict.provisional[0]!.rule, path: '', reason: 'too many provisional commits' } }
      )
    }
    return verdict.provisional
  }

  /**
   * What an anchor at chain time `timestamp` makes of the provisional commits of `head` (all of which it covers):
   * a deadline met is settled, one missed voids that commit and every commit after it (the state goes back to the
   * one before it), and evidence anchored by now is settled. Evidence not anchored yet stays provisional.
   */
  async settle (head: DocHead, timestamp: number, options: AbortOptions): Promise<Settled> {
    const held = (head.provisional ?? []) as HeldProvisional[]
    const kept: HeldProvisional[] = []
    for (const [i, entry] of held.entries()) {
      const missed = entry.conditions.find((c) => c.kind === 'deadline' && !judgeDeadline(c, timestamp))
      if (missed !== undefined && missed.kind === 'deadline' && entry.restore !== undefined) {
        const commits = held.slice(i).map((e) => ({ commit: e.commit, rule: missed.rule, notAfter: missed.notAfter, anchoredAt: timestamp }))
        return { ...(kept.length > 0 ? { provisional: kept } : {}), voided: { restore: entry.restore, commits } }
      }
      const open: ProvisionalCondition[] = []
      for (const condition of entry.conditions) {
        if (condition.kind === 'deadline') continue
        const at = await this.evidenceAnchoredAt(condition.commitId, options)
        if (at === undefined || at > timestamp) open.push(condition)
      }
      if (open.length > 0) kept.push({ commit: entry.commit, conditions: open })
    }
    return kept.length > 0 ? { provisional: kept } : {}
  }

  private async evidenceAnchoredAt (commitId: string, options: AbortOptions): Promise<number | undefined> {
    const ref = parseDocOrCommitID(commitId)
    if (!('commit' in ref)) return undefined
    return await this.c.anchoredAt(ref.baseID.toString(), ref.commit, options)
  }

  private evidenceReader (options: AbortOptions): EvidenceReader {
    return {
      load: async (commitId: string): Promise<EvidenceState> => {
        let ref
        try {
          ref = parseDocOrCommitID(commitId)
        } catch (cause) {
          throw new InvalidCommitError(`evidence ${JSON.stringify(String(commitId).slice(0, 120))} is not a CommitID`, { cause, details: { field: 'evidence' } })
        }
        if (!('commit' in ref)) {
          throw new InvalidCommitError(`evidence must name a commit (a CommitID), not the document ${commitId}: a verdict reads a fixed version`, { details: { field: 'evidence' } })
        }
        // The load walks back from the commit to the document's log: a commit of another document is not found.
        const { id, state } = await this.c.loadAt(commitId, options)
        const anchoredAt = await this.c.anchoredAt(id.toString(), ref.commit, options)
        return {
          docId: id.toString(),
          commitId,
          content: state.content,
          metadata: transitionMetadata(state.metadata),
          ...(anchoredAt === undefined ? {} : { anchoredAt })
        }
      }
    }
  }
}

/** The provisional entry the head keeps for a commit judged with open conditions. */
export function heldProvisional (commit: CID, conditions: readonly ProvisionalCondition[], before: { content: unknown, metadata: DocMetadata }): HeldProvisional {
  const entry: HeldProvisional = { commit: commit.toString(), conditions: [...conditions] }
  if (conditions.some((c) => c.kind === 'deadline')) entry.restore = { content: before.content, metadata: before.metadata }
  return entry
}

/** The public form of held provisional entries (without the state kept to restore). */
export function publicProvisional (held: readonly ProvisionalCommit[]): ProvisionalCommit[] {
  return held.map((entry) => ({ commit: entry.commit, conditions: entry.conditions }))
}

function transitionMetadata (metadata: DocMetadata): TransitionMetadata {
  const out: TransitionMetadata = { controllers: [...metadata.controllers] }
  if (metadata.family !== undefined) out.family = metadata.family
  if (metadata.tags !== undefined) out.tags = [...metadata.tags]
  if (metadata.schema !== undefined) out.schema = metadata.schema
  if (metadata.rules !== undefined) out.rules = metadata.rules
  return out
}

/**
 * The chain time of the latest anchor in `log`: a lower bound on when a commit after it was made. Called only for a
 * document anchored before, so it walks back the commits since its latest anchor, not the whole log.
 */
function latestAnchor (log: readonly LogEntry[]): { prevAnchoredAt?: number } {
  for (let i = log.length - 1; i >= 0; i--) {
    const time = log[i]!.timestamp
    if (time !== undefined) return { prevAnchoredAt: time }
  }
  return {}
}


