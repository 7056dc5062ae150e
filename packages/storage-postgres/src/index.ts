/**
 * Kiln's storage on PostgreSQL: blocks, document heads, per-document logs and commit indexes, checkpoints,
 * anchor-status records, pins and the query index in one database, each batch one transaction. Its schema is created
 * and migrated on `start()`.
 * @packageDocumentation
 */
export {
  postgresStorage, type PostgresStorageInit, type PostgresCommonInit, type PostgresConnectionInit, type PostgresPoolInit
} from './postgres-storage.js'
export { SCHEMA_VERSION } from './migrations.js'
