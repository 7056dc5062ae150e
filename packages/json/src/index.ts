/**
 * The JSON rules Kiln's JSON doctypes share, so that no doctype imports another: plain-JSON checks and copies,
 * JSON-Patch (RFC 6902) applied and diffed with per-operation errors, and JSON Schema validation (draft 2020-12 and
 * draft-07, with ajv) of content against a schema pinned by CommitID.
 * @packageDocumentation
 */
export { checkPlainJson, cloneJson, checkJsonSize, kindOfJson, MAX_JSON_DEPTH } from './json.js'
export { applyJsonPatch, diffJson, MAX_PATCH_OPERATIONS, type JsonPatchOptions, type JsonPatchOperation } from './json-patch.js'
export {
  schemaValidator, describeIssues, DRAFT_2020_12, DRAFT_07, MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH, MAX_SCHEMA_NODES, MAX_SCHEMA_PATTERN_WORK,
  type SchemaValidator, type SchemaValidatorInit, type SchemaLoader, type ContentValidator, type SchemaIssue
} from './schema-validator.js'
export { parseSchemaRef } from './schema-ref.js'
export {
  compileLinearPattern, MAX_PATTERN_PROGRAM, MAX_PATTERN_LENGTH, MAX_PATTERN_NESTING, MAX_PATTERN_EXPANSION, type LinearPattern
} from './linear-pattern.js'
export { BUDGET_BASE, BUDGET_PER_BYTE, MAX_VALIDATION_STACK, validationBudget } from './evaluation-budget.js'
