import { transaction, type Pool } from './connection.js'

/** One schema step: applied once, in its own transaction, in version order. Steps never drop or rewrite data. */
interface Migration {
  version: number
  name: string
  statements: string[]
}

/**
 * The schema, as the steps that build it. A deployed step is never edited: a change is a new step. Every text column
 * holding a DocID is `COLLATE "C"`, so ordering by it is the code-point order queries promise whatever the database's
 * default collation.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'documents, logs, blocks and the query index',
    statements: [
      `CREATE TABLE kiln_blocks (
        cid bytea PRIMARY KEY,
        bytes bytea NOT NULL
      )`,
      // The head as @kiln/codec's head record, the same bytes the LevelDB backend stores.
      `CREATE TABLE kiln_heads (
        doc_id text COLLATE "C" PRIMARY KEY,
        head bytea NOT NULL
      )`,
      `CREATE TABLE kiln_log_entries (
        doc_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL CHECK (seq >= 0),
        cid bytea NOT NULL,
        entry_type smallint NOT NULL,
        anchor_time double precision,
        PRIMARY KEY (doc_id, seq)
      )`,
      // seq NULL: the commit is stored for the document but off its log (a losing branch).
      `CREATE TABLE kiln_commit_index (
        doc_id text COLLATE "C" NOT NULL,
        cid bytea NOT NULL,
        seq bigint CHECK (seq >= 0),
        PRIMARY KEY (doc_id, cid)
      )`,
      `CREATE TABLE kiln_checkpoints (
        doc_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL CHECK (seq >= 0),
        head bytea NOT NULL,
        PRIMARY KEY (doc_id, seq)
      )`,
      `CREATE TABLE kiln_anchor_status (
        doc_id text COLLATE "C" PRIMARY KEY,
        tip bytea NOT NULL,
        status smallint NOT NULL
      )`,
      `CREATE TABLE kiln_pins (
        doc_id text COLLATE "C" PRIMARY KEY
      )`,
      // The query index: one row per document, its metadata promoted to columns, its content as jsonb.
      `CREATE TABLE kiln_documents (
        doc_id text COLLATE "C" PRIMARY KEY,
        doctype integer NOT NULL,
        controllers text[] NOT NULL,
        family text COLLATE "C",
        tags text[] NOT NULL,
        schema_doc text COLLATE "C",
        schema_commit text COLLATE "C",
        content jsonb NOT NULL,
        links text[] NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        anchored_at bigint
      )`,
      'CREATE INDEX kiln_documents_doctype ON kiln_documents (doctype)',
      'CREATE INDEX kiln_documents_controllers ON kiln_documents USING gin (controllers)',
      'CREATE INDEX kiln_documents_tags ON kiln_documents USING gin (tags)',
      'CREATE INDEX kiln_documents_links ON kiln_documents USING gin (links)',
      'CREATE INDEX kiln_documents_content ON kiln_documents USING gin (content jsonb_path_ops)',
      'CREATE INDEX kiln_documents_family ON kiln_documents (family)',
      'CREATE INDEX kiln_documents_schema_doc ON kiln_documents (schema_doc)',
      'CREATE INDEX kiln_documents_schema_commit ON kiln_documents (schema_commit)',
      'CREATE INDEX kiln_documents_created ON kiln_documents (created_at, doc_id)',
      'CREATE INDEX kiln_documents_updated ON kiln_documents (updated_at, doc_id)',
      'CREATE INDEX kiln_documents_anchored ON kiln_documents (anchored_at, doc_id)'
    ]
  }
]

/** The version the newest migration of this package brings a database to. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0

// An arbitrary constant naming Kiln's migration lock among the database's advisory locks ('kiln' in ASCII).
const MIGRATION_LOCK = 0x6b696c6e

/** What {@link migrate} found and did. */
export interface MigrationOutcome {
  /** Versions applied by this call, in order. */
  applied: number[]
  /** The schema version of the database afterwards. */
  version: number
}

/**
 * Brings the database to {@link SCHEMA_VERSION}. Each step runs in a transaction holding a transaction-level advisory
 * lock, so several nodes starting on one database apply each step once; a database of a newer schema is refused.
 */
export async function migrate (pool: Pool): Promise<MigrationOutcome> {
  const applied: number[] = []
  let version = await currentVersion(pool)
  if (version > SCHEMA_VERSION) {
    throw new RangeError(`the database holds Kiln schema version ${version}, newer than this package's ${SCHEMA_VERSION}: upgrade @kiln/storage-postgres`)
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= version) continue
    const done = await transaction(pool, 'BEGIN', async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`)
      await tx.query(`CREATE TABLE IF NOT EXISTS kiln_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`)
      // Another starter may have applied it while this one waited for the lock.
      const found = await tx.query('SELECT 1 FROM kiln_migrations WHERE version = $1', [migration.version])
      if (found.rows.length > 0) return false
      for (const statement of migration.statements) await tx.query(statement)
      await tx.query('INSERT INTO kiln_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name])
      return true
    })
    if (done) applied.push(migration.version)
    version = migration.version
  }
  return { applied, version }
}

async function currentVersion (pool: Pool): Promise<number> {
  const table = await pool.query("SELECT to_regclass('kiln_migrations') IS NOT NULL AS found")
  if (table.rows[0]?.found !== true) return 0
  const version = await pool.query('SELECT coalesce(max(version), 0) AS version FROM kiln_migrations')
  return Number(version.rows[0]?.version ?? 0)
}
