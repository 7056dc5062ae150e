/**
 * Kiln's schema doctype (code 64, `schema`): documents whose content is a JSON Schema (draft 2020-12 or draft-07),
 * refused unless every state compiles. The validator, and the plain-JSON and JSON-Patch rules, live in `@kiln/json`.
 * @packageDocumentation
 */
export { schema, checkSchemaContent, type SchemaInit, type SchemaContent } from './schema.js'
export { makeSchemaGenesis, makeSchemaUpdate, type SchemaGenesisOptions, type SchemaUpdateOptions, type SchemaSigner } from './commits.js'
export { SCHEMA_CODE, SCHEMA_NAME, DEFAULT_MAX_SCHEMA_BYTES } from './constants.js'
