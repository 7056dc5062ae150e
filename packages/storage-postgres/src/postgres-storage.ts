import { AbortError, BlockNotFoundError, StorageError, isKilnError } from '@kiln/interface'
import type {
  AbortOptions, Blockstore, Checkpoint, CommitOptions, CommitPlace, DocHead, DocIndexRecord, Logger,
  Storage, StorageBatch, StorageComponents, StorageFactory, StorageQuery, StorageQueryPage, StorageWriteStats, StoredLogEntry
} from '@kiln/interface'
import { decodeHeadRecord, isPosition, looksLikeDocHead, queuedBatch, type QueuedWrite } from '@kiln/codec'
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { copyIndexRecord, foldWrites } from './batch-writes.js'
import { migrate } from './migrations.js'
import { runQuery } from './run-query.js'
import { writeRows } from './write-statements.js'
import { createPool, transaction, watchIdleErrors, type Pool, type Queryable } from './connection.js'
import { describeError, isUnreachable, serverOf } from './server-errors.js'

/** Options of {@link postgresStorage}: a connection string, or a client made by the caller. */
export type PostgresStorageInit = PostgresConnectionInit | PostgresPoolInit

/** Options shared by both ways of connecting. */
export interface PostgresCommonInit {
  /** Longest time a query may run before the server cancels it and it fails with `QueryTooBroadError` (default 5000 ms). */
  queryTimeoutMs?: number
}

/** Connect with a `postgres://` URL; the storage owns the pool and ends it on `stop()`. */
export interface PostgresConnectionInit extends PostgresCommonInit {
  /** `postgres://user[:password]@host[:port]/database[?options]`. */
  connectionString: string
  /** Most connections the pool opens (default 10). */
  maxConnections?: number
  /** Seconds to wait for a connection to open before the operation fails (default 10). */
  connectTimeoutSeconds?: number
  /** Seconds a connection may stay idle before the pool closes it (default 30). */
  idleTimeoutSeconds?: number
}

/** Use a node-postgres (`pg`) pool made by the caller; `stop()` leaves it open. */
export interface PostgresPoolInit extends PostgresCommonInit {
  pool: Pool
}

/** Kiln storage on a PostgreSQL server: `postgresStorage({ connectionString: 'postgres://…' })`. */
export function postgresStorage (init: PostgresStorageInit): StorageFactory {
  const pool = (init as Partial<PostgresPoolInit>)?.pool
  if (pool !== undefined) {
    if (typeof (pool as Partial<Pool>)?.connect !== 'function') throw new StorageError('postgresStorage: `pool` must be a node-postgres (pg) Pool', { details: { option: 'pool' } })
    return (components) => new PostgresStorage({ sql: pool, owned: false, server: serverOfPool(pool), init }, components)
  }
  const url = (init as Partial<PostgresConnectionInit>)?.connectionString
  const server = checkConnectionString(url)
  return (components: StorageComponents) => new PostgresStorage({ server, owned: true, init, sql: undefined }, components)
}

/** Checks a connection string and names its server for messages (user, host, port and database; never the password). */
function checkConnectionString (url: unknown): string {
  const usage = 'postgresStorage needs a connection string: postgresStorage({ connectionString: \'postgres://user@host:5432/database\' })'
  if (typeof url !== 'string' || url === '') throw new StorageError(usage, { details: { connectionString: url } })
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new StorageError(`${usage}; ${JSON.stringify(redact(url))} is not a URL`, { details: { connectionString: redact(url) } })
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new StorageError(`${usage}; ${JSON.stringify(redact(url))} is a ${parsed.protocol} URL, not postgres:`, { details: { connectionString: redact(url) } })
  }
  return serverOf(parsed)
}

/** The server a caller's pool connects to, named as {@link serverOf} names a URL's. */
function serverOfPool (pool: Pool): string {
  const options = (pool as Pool & { options?: { connectionString?: string, host?: string, port?: number, user?: string, database?: string } }).options ?? {}
  if (options.connectionString !== undefined) {
    try {
      return serverOf(new URL(options.connectionString))
    } catch {
      return 'the server of the given pool'
    }
  }
  const user = options.user === undefined ? '' : `${options.user}@`
  return `postgres://${user}${options.host ?? 'localhost'}:${options.port ?? 5432}/${options.database ?? ''}`
}

function redact (url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@')
}

interface Setup {
  sql: Pool | undefined
  owned: boolean
  server: string
  init: PostgresStorageInit
}

/** A result row. */
type Row = Record<string, unknown>

/** A row of kiln_documents as node-postgres reads it (bigint columns as strings). */
interface IndexRow {
  doctype: number
  controllers: string[]
  family: string | null
  tags: string[]
  schema_doc: string | null
  schema_commit: string | null
  content: unknown
  links: string[]
  created_at: string
  updated_at: string
  anchored_at: string | null
}

/**
 * Runs a statement of fixed text, prepared once per connection under a name derived from the text (node-postgres
 * keeps prepared statements per client), and returns its rows.
 */
async function statement (db: Queryable, text: string, values: unknown[]): Promise<Row[]> {
  let name = STATEMENT_NAMES.get(text)
  if (name === undefined) STATEMENT_NAMES.set(text, name = `kiln_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`)
  return (await db.query({ name, text, values })).rows as Row[]
}

const STATEMENT_NAMES = new Map<string, string>()
const DEFAULT_QUERY_TIMEOUT_MS = 5_000
const LIST_PAGE = 1_000
/** SQLSTATEs after which a transaction may simply run again: a serialization failure and a deadlock. */
const RETRYABLE = new Set(['40001', '40P01'])
/** Actions that write: a failure of one is rolled back whole, and its message says so. */
const WRITES = new Set(['commit a batch', 'write block', 'pin', 'unpin', 'delete'])

class PostgresStorage implements Storage {
  readonly blocks: Blockstore
  readonly #setup: Setup
  readonly #logger: Logger | undefined
  readonly #stats: StorageWriteStats = { batches: 0, syncs: 0, bytesWritten: 0 }
  #pool: Pool | undefined
  #starting: Promise<void> | undefined
  #stopped = false
  #unwatch: (() => void) | undefined

  constructor (setup: Setup, components: StorageComponents) {
    this.#setup = setup
    this.#logger = components.logger
    this.blocks = {
      get: async (cid, options) => await this.#getBlock(cid, options),
      put: async (cid, bytes, options) => { await this.#putBlock(cid, bytes, options) },
      has: async (cid, options) => await this.#hasBlock(cid, options),
      getMany: async (cids, options) => await this.#getBlocks(cids, options)
    }
  }

  async start (): Promise<void> {
    if (this.#pool !== undefined) return
    this.#starting ??= this.#open().finally(() => { this.#starting = undefined })
    await this.#starting
  }

  async stop (): Promise<void> {
    await this.#starting?.catch(() => {})
    const pool = this.#pool
    if (pool === undefined) return
    this.#pool = undefined
    this.#stopped = true
    this.#unwatch?.()
    if (this.#setup.owned) await pool.end().catch(() => {})
    this.#logger?.debug({ server: this.#setup.server }, 'postgres storage closed')
  }

  async getHead (docId: string, options?: AbortOptions): Promise<DocHead | undefined> {
    const rows = await this.#run('read the head of', docId, options, async (sql) => await statement(sql,
      `SELECT h.head, s.tip, s.status FROM kiln_heads h LEFT JOIN kiln_anchor_status s ON s.doc_id = h.doc_id
       WHERE h.doc_id = $1`, [docId]))
    const row = rows[0]
    if (row === undefined) return undefined
    const head = await this.#decodeHead(row.head, `the head of ${docId}`, docId)
    if (row.tip !== null && row.tip !== undefined) {
      // A record about an older tip says nothing about the head: the tip moved on since.
      const tip = this.#decode(`the anchor-status record of ${docId}`, docId, () => CID.decode(bytesOf(row.tip)))
      if (tip.equals(head.tip)) head.anchorStatus = Number(row.status) as DocHead['anchorStatus']
    }
    return head
  }

  async readLog (docId: string, range: { from?: number, to?: number } = {}, options?: AbortOptions): Promise<StoredLogEntry[]> {
    const from = range.from ?? 0
    const to = range.to
    for (const [name, value] of [['from', from], ['to', to ?? 0]] as const) {
      if (!isPosition(value)) {
        throw new StorageError(`Cannot read the log of ${docId}: ${name} ${String(value)} is not a non-negative integer`, { details: { operation: 'read the log of', key: docId, [name]: value } })
      }
    }
    const rows = await this.#run('read the log of', docId, options, async (sql) => await statement(sql,
      `SELECT cid, entry_type, anchor_time FROM kiln_log_entries
       WHERE doc_id = $1 AND seq >= $2 AND seq < coalesce($3::int8, 9223372036854775807) ORDER BY seq`, [docId, from, to ?? null]))
    return rows.map((row) => this.#decode(`a log entry of ${docId}`, docId, () => {
      const entry: StoredLogEntry = { cid: CID.decode(bytesOf(row.cid)), type: Number(row.entry_type) as StoredLogEntry['type'] }
      if (row.anchor_time !== null) entry.timestamp = Number(row.anchor_time)
      return entry
    }))
  }

  async getCommitPlace (docId: string, cid: CID, options?: AbortOptions): Promise<CommitPlace | undefined> {
    const rows = await this.#run('read the commit index of', docId, options, async (sql) =>
      await statement(sql, 'SELECT seq FROM kiln_commit_index WHERE doc_id = $1 AND cid = $2', [docId, bufferOf(cid.bytes)]))
    const row = rows[0]
    if (row === undefined) return undefined
    return row.seq === null ? {} : { seq: Number(row.seq) }
  }

  async getCheckpoint (docId: string, seq: number, options?: AbortOptions): Promise<Checkpoint | undefined> {
    if (!isPosition(seq)) {
      throw new StorageError(`Cannot read a checkpoint of ${docId}: position ${String(seq)} is not a non-negative integer`, { details: { operation: 'read a checkpoint of', key: docId, seq } })
    }
    const rows = await this.#run('read a checkpoint of', docId, options, async (sql) => await statement(sql,
      'SELECT seq, head FROM kiln_checkpoints WHERE doc_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1', [docId, seq]))
    const row = rows[0]
    if (row === undefined) return undefined
    return { seq: Number(row.seq), head: await this.#decodeHead(row.head, `a checkpoint of ${docId}`, docId) }
  }

  listDocuments (options?: AbortOptions): AsyncIterable<string> {
    return this.#listIds('list documents', 'kiln_heads', options)
  }

  async deleteDocument (docId: string, options?: AbortOptions): Promise<void> {
    await this.#run('delete', docId, options, async (pool) => await transaction(pool, 'BEGIN', async (tx) => {
      const tables = ['kiln_heads', 'kiln_log_entries', 'kiln_commit_index', 'kiln_checkpoints', 'kiln_anchor_status', 'kiln_pins', 'kiln_documents']
      for (const table of tables) await statement(tx, `DELETE FROM ${table} WHERE doc_id = $1`, [docId])
      throwIfAborted(options?.signal, 'delete', docId)
    }))
  }

  batch (): StorageBatch {
    return queuedBatch({ indexRecord: copyIndexRecord, commit: async (writes, options) => { await this.#commit(writes, options) } })
  }

  async pin (docId: string, options?: AbortOptions): Promise<void> {
    await this.#run('pin', docId, options, async (sql) => await statement(sql, 'INSERT INTO kiln_pins (doc_id) VALUES ($1) ON CONFLICT (doc_id) DO NOTHING', [docId]))
    this.#stats.bytesWritten += Buffer.byteLength(docId)
  }

  async unpin (docId: string, options?: AbortOptions): Promise<void> {
    await this.#run('unpin', docId, options, async (sql) => await statement(sql, 'DELETE FROM kiln_pins WHERE doc_id = $1', [docId]))
  }

  async isPinned (docId: string, options?: AbortOptions): Promise<boolean> {
    const rows = await this.#run('read the pin of', docId, options, async (sql) => await statement(sql, 'SELECT 1 FROM kiln_pins WHERE doc_id = $1', [docId]))
    return rows.length > 0
  }

  listPins (options?: AbortOptions): AsyncIterable<string> {
    return this.#listIds('list pins', 'kiln_pins', options)
  }

  async query (query: StorageQuery, options?: AbortOptions): Promise<StorageQueryPage> {
    const timeout = this.#setup.init.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS
    return await this.#run('run a query', '', options, async (sql) => await runQuery(sql, query, timeout))
  }

  async getIndexRecord (docId: string, options?: AbortOptions): Promise<DocIndexRecord | undefined> {
    const rows = await this.#run('read the index record of', docId, options, async (sql) => await statement(sql,
      `SELECT doctype, controllers, family, tags, schema_doc, schema_commit, content, links, created_at, updated_at, anchored_at
       FROM kiln_documents WHERE doc_id = $1`, [docId]))
    const row = rows[0] as IndexRow | undefined
    if (row === undefined) return undefined
    const record: DocIndexRecord = {
      doctype: Number(row.doctype),
      controllers: row.controllers,
      tags: row.tags,
      content: row.content,
      links: row.links,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at)
    }
    if (row.family !== null) record.family = row.family
    if (row.schema_doc !== null) record.schemaDoc = row.schema_doc
    if (row.schema_commit !== null) record.schemaCommit = row.schema_commit
    if (row.anchored_at !== null) record.anchoredAt = Number(row.anchored_at)
    return record
  }

  writeStats (): StorageWriteStats {
    return { ...this.#stats }
  }

  async #open (): Promise<void> {
    const { init, server } = this.#setup
    const pool = this.#setup.sql ?? connect(init as PostgresConnectionInit, this.#logger)
    // The storage's own pool watches its idle connections from the start; a caller's pool is watched while in use here.
    const unwatch = this.#setup.owned ? undefined : watchIdleErrors(pool, this.#logger)
    try {
      const outcome = await migrate(pool)
      if (outcome.applied.length > 0) this.#logger?.info({ server, applied: outcome.applied }, 'postgres schema migrated')
    } catch (err) {
      unwatch?.()
      if (this.#setup.owned) await pool.end().catch(() => {})
      const reason = isUnreachable(err) ? `the server is unreachable (${describeError(err)})` : describeError(err)
      throw new StorageError(`Cannot open Kiln's storage on PostgreSQL at ${server}: ${reason}`, { cause: err, details: { operation: 'open', server } })
    }
    this.#pool = pool
    this.#unwatch = unwatch
    this.#stopped = false
    this.#logger?.debug({ server }, 'postgres storage open')
  }

  async #getBlock (cid: CID, options?: AbortOptions): Promise<Uint8Array> {
    const rows = await this.#run('read block', cid.toString(), options, async (sql) => await statement(sql, 'SELECT bytes FROM kiln_blocks WHERE cid = $1', [bufferOf(cid.bytes)]))
    const row = rows[0]
    if (row === undefined) {
      throw new BlockNotFoundError(`Block ${cid.toString()} is not in the PostgreSQL store at ${this.#setup.server}`, { details: { cid: cid.toString() } })
    }
    return bytesOf(row.bytes)
  }

  async #getBlocks (cids: readonly CID[], options?: AbortOptions): Promise<Array<Uint8Array | undefined>> {
    if (cids.length === 0) return []
    const rows = await this.#run('read blocks', `${cids.length} blocks`, options, async (sql) => await statement(sql,
      'SELECT encode(cid, \'base64\') AS cid, bytes FROM kiln_blocks WHERE cid IN (SELECT decode(c, \'base64\') FROM unnest($1::text[]) AS c)',
      [cids.map((cid) => bufferOf(cid.bytes).toString('base64'))]))
    const found = new Map<string, Uint8Array>()
    for (const row of rows) found.set(String(row.cid).replaceAll('\n', ''), bytesOf(row.bytes))
    return cids.map((cid) => found.get(bufferOf(cid.bytes).toString('base64')))
  }

  async #putBlock (cid: CID, bytes: Uint8Array, options?: AbortOptions): Promise<void> {
    await this.#run('write block', cid.toString(), options, async (sql) => await statement(sql,
      'INSERT INTO kiln_blocks (cid, bytes) VALUES ($1, $2) ON CONFLICT (cid) DO NOTHING', [bufferOf(cid.bytes), Buffer.from(bytes)]))
    this.#stats.bytesWritten += cid.bytes.byteLength + bytes.byteLength
  }

  async #hasBlock (cid: CID, options?: AbortOptions): Promise<boolean> {
    const rows = await this.#run('check block', cid.toString(), options, async (sql) => await statement(sql, 'SELECT 1 FROM kiln_blocks WHERE cid = $1', [bufferOf(cid.bytes)]))
    return rows.length > 0
  }

  async #commit (writes: QueuedWrite[], options?: CommitOptions): Promise<void> {
    const docIds = [...new Set(writes.flatMap((w) => w.kind === 'block' ? [] : [w.docId]))]
    const key = docIds.length > 0 ? `for ${docIds.slice(0, 5).join(', ')}${docIds.length > 5 ? ` and ${docIds.length - 5} more` : ''}` : `of ${writes.length} blocks`
    throwIfAborted(options?.signal, 'commit a batch', key)
    this.#database('commit a batch', key)
    // Every value is checked and encoded before the transaction opens, so one bad value fails the batch as a whole.
    let net
    try {
      net = await foldWrites(writes)
    } catch (err) {
      if (isKilnError(err, 'StorageError')) throw err
      throw new StorageError(`${String(err)}; nothing of the batch was written`, { cause: err, details: { operation: 'commit', key } })
    }
    const sync = options?.sync === true
    await this.#run('commit a batch', key, options, async (pool) => {
      for (let attempt = 1; ; attempt++) {
        try {
          // One transaction; it resolves once COMMIT is acknowledged (and, unless synchronous_commit is off for it,
          // once the server has flushed its WAL).
          await transaction(pool, sync ? 'BEGIN' : 'BEGIN; SET LOCAL synchronous_commit = off', async (tx) => {
            await writeRows(tx, net)
            throwIfAborted(options?.signal, 'commit a batch', key)
          })
          return
        } catch (err) {
          if (attempt >= 3 || !RETRYABLE.has(codeOf(err))) throw err
        }
      }
    })
    this.#stats.batches++
    if (sync) this.#stats.syncs++
    this.#stats.bytesWritten += net.bytes
  }

  async * #listIds (action: string, table: string, options?: AbortOptions): AsyncGenerator<string> {
    let after: string | null = null
    while (true) {
      const last: string | null = after
      const rows: Row[] = await this.#run(action, '', options, async (sql): Promise<Row[]> => await statement(sql,
        `SELECT doc_id FROM ${table} WHERE $1::text IS NULL OR doc_id > $1::text ORDER BY doc_id LIMIT ${LIST_PAGE}`, [last]))
      for (const row of rows) {
        throwIfAborted(options?.signal, action, '')
        yield String(row.doc_id)
      }
      if (rows.length < LIST_PAGE) return
      after = String(rows.at(-1)?.doc_id)
    }
  }

  async #decodeHead (bytes: unknown, what: string, docId: string): Promise<DocHead> {
    let head: unknown
    try {
      head = await decodeHeadRecord(bytesOf(bytes))
    } catch (err) {
      throw this.#corrupt(what, docId, err)
    }
    if (!looksLikeDocHead(head)) throw this.#corrupt(what, docId, 'it is not a document head')
    return head
  }

  #decode<T> (what: string, docId: string, decode: () => T): T {
    try {
      return decode()
    } catch (err) {
      throw this.#corrupt(what, docId, err)
    }
  }

  /** Runs one operation: aborted → AbortError, not open → StorageError, any other failure → StorageError. */
  async #run<T> (action: string, key: string, options: AbortOptions | undefined, fn: (pool: Pool) => Promise<T>): Promise<T> {
    throwIfAborted(options?.signal, action, key)
    const sql = this.#database(action, key)
    try {
      return await fn(sql)
    } catch (err) {
      if (isKilnError(err)) throw err
      throw this.#failure(action, key, err)
    }
  }

  #database (action: string, key: string): Pool {
    if (this.#pool !== undefined) return this.#pool
    const why = this.#stopped ? 'it was stopped' : 'it is not started; call start() first'
    throw new StorageError(`Cannot ${action}${key === '' ? '' : ` ${key}`}: the PostgreSQL store at ${this.#setup.server} is closed (${why})`, {
      details: { operation: action, key, server: this.#setup.server }
    })
  }

  #failure (action: string, key: string, err: unknown): StorageError {
    const server = this.#setup.server
    const unwritten = WRITES.has(action) ? '; not acknowledged (an interrupted transaction is rolled back)' : ''
    const reason = `${isUnreachable(err) ? `the server is unreachable (${describeError(err)})` : describeError(err)}${unwritten}`
    return new StorageError(`Cannot ${action}${key === '' ? '' : ` ${key}`} in PostgreSQL at ${server}: ${reason}`, {
      cause: err, details: { operation: action, key, server, code: codeOf(err) }
    })
  }

  #corrupt (what: string, key: string, err: unknown): StorageError {
    const reason = typeof err === 'string' ? err : describeError(err)
    return new StorageError(`The PostgreSQL store at ${this.#setup.server} holds a corrupt value for ${what}: ${reason}`, {
      cause: typeof err === 'string' ? undefined : err, details: { operation: 'read', key, server: this.#setup.server }
    })
  }
}

/** The storage's own pool, with limits: a dead server fails operations after the connect timeout rather than hanging them. */
function connect (init: PostgresConnectionInit, logger: Logger | undefined): Pool {
  return createPool({
    connectionString: init.connectionString,
    max: init.maxConnections ?? 10,
    connectTimeoutSeconds: init.connectTimeoutSeconds ?? 10,
    idleTimeoutSeconds: init.idleTimeoutSeconds ?? 30
  }, logger)
}

function codeOf (err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? code : ''
}

/** A plain Uint8Array copy of bytes the driver returned (a Buffer, which compares differently and may share a pool). */
function bytesOf (value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError('not bytes')
  return new Uint8Array(value)
}

function bufferOf (bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function throwIfAborted (signal: AbortSignal | undefined, action: string, key: string): void {
  if (signal?.aborted === true) {
    throw new AbortError(`Gave up: ${action}${key === '' ? '' : ` ${key}`} was aborted`, { cause: signal.reason, details: { operation: action, key } })
  }
}
