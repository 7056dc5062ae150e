/**
 * Kiln's schema doctype (code 64, `schema`): documents whose content is a JSON Schema (draft 2020-12 or draft-07),
 * refused unless every state compiles. It also holds the validator tiles use to enforce `header.schema`, and the
 * plain-JSON and JSON-Patch rules the two JSON doctypes share.
 * @packageDocumentation
 */
export { schema, checkSchemaContent, type SchemaInit, type SchemaContent } from './schema.js'
export { makeSchemaGenesis, makeSchemaUpdate, type SchemaGenesisOptions, type SchemaUpdateOptions, type SchemaSigner } from './commits.js'
export { schemaValidator, describeIssues, type SchemaValidator, type SchemaValidatorInit, type ContentValidator, type SchemaIssue } from './validator.js'
export { parseSchemaRef } from './schema-ref.js'
export { checkPlainJson, cloneJson, checkJsonSize, kindOfJson, MAX_JSON_DEPTH } from './json.js'
export { applyJsonPatch, diffJson, type JsonPatchOptions } from './json-patch.js'
export { SCHEMA_CODE, SCHEMA_NAME, DEFAULT_MAX_SCHEMA_BYTES, DRAFT_2020_12, DRAFT_07 } from './constants.js'
