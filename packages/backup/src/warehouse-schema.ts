import type { ClientBase } from 'pg'
import { BackupOptionError, WarehouseUnavailableError } from './errors.js'

/** The PostgreSQL schema the warehouse's tables live in unless told otherwise. */
export const DEFAULT_WAREHOUSE_SCHEMA = 'kiln_warehouse'

/** A PostgreSQL schema name the warehouse accepts: lower-case letters, digits and `_`, so it needs no quoting. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** One versioned step of the warehouse's schema; applied once, in order, recorded in `migrations`. */
interface Migration {
  version: number
  description: string
  sql: (schema: string) => string
}

/** The warehouse's migrations. Never edit one that shipped: add the next version. Documented in docs/warehouse.md. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'blocks, documents and log entries',
    sql: (s) => `
      CREATE TABLE ${s}.blocks (
        cid text PRIMARY KEY,
        codec integer NOT NULL,
        bytes bytea NOT NULL,
        mirrored_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE ${s}.documents (
        doc_id text PRIMARY KEY,
        doctype integer NOT NULL,
        genesis text NOT NULL,
        tip text NOT NULL,
        log_length integer NOT NULL,
        controller text,
        family text,
        schema_id text,
        tags text[] NOT NULL DEFAULT '{}',
        anchor_status text NOT NULL,
        anchored_at timestamptz,
        content jsonb,
        metadata jsonb NOT NULL,
        state jsonb NOT NULL,
        mirrored_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX documents_controller ON ${s}.documents (controller);
      CREATE INDEX documents_family ON ${s}.documents (family);
      CREATE INDEX documents_schema ON ${s}.documents (schema_id);
      CREATE INDEX documents_content ON ${s}.documents USING gin (content jsonb_path_ops);
      CREATE TABLE ${s}.log_entries (
        doc_id text NOT NULL,
        seq integer NOT NULL,
        cid text NOT NULL,
        entry_type text NOT NULL,
        anchored_at timestamptz,
        blocks text[] NOT NULL,
        PRIMARY KEY (doc_id, seq)
      );
      CREATE INDEX log_entries_cid ON ${s}.log_entries (cid);
    `
  }
]

/** The newest schema version this package writes and reads. */
export const WAREHOUSE_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/** Checks a schema name given by a user. */
export function checkSchemaName (schema: string): string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new BackupOptionError(`The warehouse schema must be lower-case letters, digits and _, got ${JSON.stringify(schema)}`, { details: { schema: String(schema) } })
  }
  return schema
}

/**
 * Creates the warehouse's schema and applies the migrations it lacks, in one transaction under an advisory lock, so
 * two mirrors starting together do not race. A warehouse newer than this package is refused.
 */
export async function migrateWarehouse (client: ClientBase, schema: string): Promise<void> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`kiln-warehouse:${schema}`])
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.migrations (
      version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const { rows } = await client.query<{ version: number }>(`SELECT coalesce(max(version), 0) AS version FROM ${schema}.migrations`)
    const current = rows[0]?.version ?? 0
    if (current > WAREHOUSE_VERSION) {
      throw new WarehouseUnavailableError(`The warehouse schema ${schema} is at version ${current}, newer than the ${WAREHOUSE_VERSION} this Kiln knows`, { details: { schema, version: current } })
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue
      await client.query(migration.sql(schema))
      await client.query(`INSERT INTO ${schema}.migrations (version, description) VALUES ($1, $2)`, [migration.version, migration.description])
    }
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

/** The version a warehouse is at; `WarehouseUnavailableError` when it has no Kiln warehouse in `schema`. */
export async function warehouseVersion (client: ClientBase, schema: string): Promise<number> {
  const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [`${schema}.migrations`])
  if (rows[0]?.exists !== true) throw new WarehouseUnavailableError(`The database has no Kiln warehouse in schema ${schema}`, { details: { schema } })
  const version = await client.query<{ version: number }>(`SELECT coalesce(max(version), 0) AS version FROM ${schema}.migrations`)
  return version.rows[0]?.version ?? 0
}
