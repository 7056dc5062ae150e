/**
 * Kiln's transition rules: a small declarative language that says who may change which part of a document, how and
 * when, judged the same way by every node. A document opts in by naming a rules document's CommitID in its genesis
 * header (`header.rules`); the core asks {@link evaluateRules} for a verdict on each update. `rulesDoctype()` is the
 * doctype (code 65) whose documents hold rule sets. The language reference is `docs/rules.md`.
 * @packageDocumentation
 */
export { parseRules } from './parse-rules.js'
export { evaluateRules, judgeDeadline } from './evaluate.js'
export { rulesMetaSchema } from './meta-schema.js'
export { rulesDoctype, RULES_DOCTYPE_CODE, RULES_DOCTYPE_NAME, type RulesContent, type RulesDoctypeInit } from './doctype.js'
export { makeRulesGenesis, makeRulesUpdate, type RulesGenesisOptions, type RulesSigner } from './commits.js'
export { InvalidRulesError, RuleViolationError } from './errors.js'
export {
  DEFAULT_MAX_EVIDENCE, DEFAULT_MAX_STEPS, DEFAULT_TIMEOUT_MS, MAX_EVIDENCE_ENTRIES, MAX_LIST, MAX_PATTERN_CHARS, MAX_RULES,
  MAX_RULES_BYTES, MAX_RULES_DEPTH, MAX_SCHEMA_BYTES, SCHEMA_CACHE_SIZE
} from './limits.js'
export type {
  EvaluateLimits, EvidenceCondition, EvidenceReader, EvidenceState, HowClause, PatchOpName, ProvisionalCondition, Rule, RuleSchema,
  RuleSet, TransitionInput, TransitionMetadata, Verdict, WhenClause, WhoClause
} from './types.js'
