/** Largest rules content, in bytes of its JSON encoding (UTF-8). */
export const MAX_RULES_BYTES = 64 * 1024

/** Most rules in one rule set. */
export const MAX_RULES = 64

/** Deepest nesting of objects and arrays in a rules content (the JSON Schemas inside it included). */
export const MAX_RULES_DEPTH = 16

/** Most entries of any list in a rule: DIDs, path patterns, operations, evidence conditions. */
export const MAX_LIST = 64

/** Longest string a rule may hold where a string is expected (a DID, a path pattern, a DocID). */
export const MAX_STRING = 512

/** Largest JSON Schema (`transition`, `require`) of a rule, in bytes of its JSON encoding. */
export const MAX_SCHEMA_BYTES = 16 * 1024

/** Longest `pattern` or `patternProperties` key in a rule's JSON Schema, in characters. */
export const MAX_PATTERN_CHARS = 256

/** Most entries of an update's `header.evidence`. */
export const MAX_EVIDENCE_ENTRIES = 16

/** The names `header.evidence` and the rules use for a piece of evidence. */
export const EVIDENCE_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,63}$/

/** The names of rules. */
export const RULE_NAME = /^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/

/** Default of `EvaluateLimits.maxEvidence`: evidence documents loaded per evaluation. */
export const DEFAULT_MAX_EVIDENCE = 8

/** Default of `EvaluateLimits.maxSteps`: units of work per evaluation. */
export const DEFAULT_MAX_STEPS = 10_000

/** Default of `EvaluateLimits.timeoutMs`. */
export const DEFAULT_TIMEOUT_MS = 5_000

/** How many compiled JSON Schemas the process keeps, by content hash. */
export const SCHEMA_CACHE_SIZE = 256
