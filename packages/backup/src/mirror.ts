import {
  AnchorStatus, NodeStoppedError, isKilnError, type Block, type DocHead, type Logger, type StoredLogEntry, type WriteObserver, type WriteObserverComponents,
  type WrittenDocument
} from '@kiln/interface'
import pg from 'pg'
import { BackupOptionError, WarehouseUnavailableError } from './errors.js'
import { DEFAULT_WAREHOUSE_SCHEMA, checkSchemaName, migrateWarehouse } from './warehouse-schema.js'
import { documentRow, logEntryRow, type DocumentRow, type LogEntryRow } from './warehouse-rows.js'

/** Options of {@link warehouseMirror}. */
export interface WarehouseMirrorInit {
  /** The warehouse: a `postgres://` or `postgresql://` connection string. */
  connectionString: string
  /** The PostgreSQL schema of the warehouse's tables; `kiln_warehouse` by default. */
  schema?: string
  /** Documents copied per transaction; 200 by default. */
  batchSize?: number
  /**
   * Most documents waiting to be copied that the mirror remembers (100,000 by default): past it, it forgets them and
   * rescans the node's documents once the warehouse keeps up, so its memory stays bounded however long it is down.
   */
  maxPending?: number
  /** The first wait after a failed copy, in ms (doubling up to `maxRetryMs`); 250 by default. */
  minRetryMs?: number
  /** The longest wait between retries, in ms; 30,000 by default. */
  maxRetryMs?: number
}

/** Where a mirror stands: for tests, health checks and the daemon's log. */
export interface MirrorStatus {
  /** Documents written on the node and not yet copied (a rescan pending counts as unknown: `rescan` is true). */
  pending: number
  /** A full comparison of the node's documents with the warehouse is due (at start, after an overflow). */
  rescan: boolean
  /** Documents copied since start. */
  mirrored: number
  /** The last failure to reach the warehouse, cleared by the next success. */
  lastError?: string
}

/** A running mirror, as the node holds it (and a test that kept it). */
export interface WarehouseMirror extends WriteObserver {
  status(): MirrorStatus
  /**
   * Resolves once every write the node told of so far (and the start-up rescan) is in the warehouse; rejects with
   * `NodeStoppedError` when the mirror stops first.
   */
  caughtUp(options?: { signal?: AbortSignal }): Promise<void>
}

/** Most blocks one warehouse transaction carries: a document with a long log is copied over several. */
const MAX_BLOCKS_PER_TRANSACTION = 2_000

/** The longest one warehouse query may take (a stalled connection is given up and the copy retried), in ms. */
const QUERY_TIMEOUT_MS = 60_000

/** Documents compared with the warehouse per query during a rescan. */
const RESCAN_PAGE = 500

/** Checks a connection string: a PostgreSQL URL. */
export function checkWarehouseUrl (url: string): string {
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\/./.test(url)) {
    throw new BackupOptionError('The warehouse must be a postgres:// (or postgresql://) connection string', { details: { field: 'connectionString' } })
  }
  return url
}

function positive (value: number | undefined, fallback: number, field: string): number {
  const n = value ?? fallback
  if (!Number.isInteger(n) || n < 1) throw new BackupOptionError(`${field} must be a positive integer, got ${String(value)}`, { details: { field } })
  return n
}

/**
 * A node plugin that mirrors every block, log entry and state the node writes to a PostgreSQL warehouse, in the
 * background, at least once, resuming after a restart; see docs/warehouse.md for the schema.
 */
export function warehouseMirror (init: WarehouseMirrorInit): (components: WriteObserverComponents) => WarehouseMirror {
  const options = {
    connectionString: checkWarehouseUrl(init.connectionString),
    schema: checkSchemaName(init.schema ?? DEFAULT_WAREHOUSE_SCHEMA),
    batchSize: positive(init.batchSize, 200, 'batchSize'),
    maxPending: positive(init.maxPending, 100_000, 'maxPending'),
    minRetryMs: positive(init.minRetryMs, 250, 'minRetryMs'),
    maxRetryMs: positive(init.maxRetryMs, 30_000, 'maxRetryMs')
  }
  return (components) => new Mirror(options, components)
}

/** A rejected warehouse call as the named error the mirror logs and a restore throws. */
export function unavailable (err: unknown): WarehouseUnavailableError {
  if (err instanceof WarehouseUnavailableError) return err
  return new WarehouseUnavailableError(`The warehouse failed: ${(err as Error).message}`, { cause: err })
}

class Mirror implements WarehouseMirror {
  private readonly pool: pg.Pool
  private readonly logger?: Logger
  /** Documents written since they were last copied; bounded by `maxPending`. */
  private readonly dirty = new Set<string>()
  private rescan = true
  private migrated = false
  private mirrored = 0
  private lastError?: string
  private running = false
  private loop?: Promise<void>
  /** Wakes the loop: a write arrived, or the mirror stops. */
  private wake?: () => void
  private readonly waiters = new Set<() => void>()
  private abort = new AbortController()
  /** A copy is under way (the loop is not waiting for writes). */
  private busy = false

  constructor (private readonly o: Required<WarehouseMirrorInit>, private readonly c: WriteObserverComponents) {
    this.logger = c.logger
    this.pool = new pg.Pool({ connectionString: o.connectionString, max: 1, connectionTimeoutMillis: 10_000, query_timeout: QUERY_TIMEOUT_MS })
    // An idle connection the server drops is reported here; the next query reconnects.
    this.pool.on('error', (err) => { this.logger?.debug({ err }, 'warehouse connection lost') })
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.abort = new AbortController()
    this.rescan = true
    this.loop = this.run()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.abort.abort()
    this.wake?.()
    await this.loop
    await this.pool.end()
  }

  written (doc: WrittenDocument): void {
    if (!this.running) return
    this.requeue(doc.docId)
    this.wake?.()
  }

  /** Marks a document to be copied, within the memory bound. */
  private requeue (docId: string): void {
    if (!this.dirty.has(docId)) {
      if (this.dirty.size >= this.o.maxPending) {
        // Too far behind to remember each document: compare them all with the warehouse once it keeps up.
        this.dirty.clear()
        this.rescan = true
      } else {
        this.dirty.add(docId)
      }
    }
  }

  status (): MirrorStatus {
    return { pending: this.dirty.size, rescan: this.rescan, mirrored: this.mirrored, ...(this.lastError === undefined ? {} : { lastError: this.lastError }) }
  }

  async caughtUp (options: { signal?: AbortSignal } = {}): Promise<void> {
    while (!this.idle()) {
      options.signal?.throwIfAborted()
      if (!this.running) throw new NodeStoppedError('The warehouse mirror is stopped: it will catch up when the node starts again')
      await new Promise<void>((resolve) => {
        const done = (): void => { this.waiters.delete(done); options.signal?.removeEventListener('abort', done); resolve() }
        this.waiters.add(done)
        options.signal?.addEventListener('abort', done, { once: true })
      })
    }
  }

  private idle (): boolean {
    return !this.rescan && this.dirty.size === 0 && this.lastError === undefined && !this.busy
  }

  private notify (): void {
    for (const waiter of [...this.waiters]) waiter()
  }

  /** The background loop: copy what is dirty, wait for more; on failure, back off and try again. */
  private async run (): Promise<void> {
    let retryMs = this.o.minRetryMs
    while (this.running) {
      if (!this.rescan && this.dirty.size === 0) {
        this.notify()
        await new Promise<void>((resolve) => { this.wake = resolve })
        this.wake = undefined
        continue
      }
      this.busy = true
      try {
        if (!this.migrated) {
          const client = await this.pool.connect()
          try {
            await migrateWarehouse(client, this.o.schema)
          } finally {
            client.release()
          }
          this.migrated = true
        }
        if (this.rescan) {
          this.rescan = false
          await this.rescanAll().catch((err: unknown) => { this.rescan = true; throw err })
        }
        const batch = [...this.dirty].slice(0, this.o.batchSize)
        for (const docId of batch) this.dirty.delete(docId)
        // A batch that fails is put back, to be copied again.
        await this.copy(batch).catch((err: unknown) => { for (const docId of batch) this.requeue(docId); throw err })
        if (this.lastError !== undefined) this.logger?.info({}, 'the warehouse mirror reaches the warehouse again')
        this.lastError = undefined
        retryMs = this.o.minRetryMs
        this.busy = false
      } catch (err) {
        const failure = isKilnError(err) ? err : unavailable(err)
        if (this.lastError === undefined) this.logger?.warn({ err: failure }, 'the warehouse mirror cannot copy; retrying with backoff')
        this.lastError = failure.message
        this.busy = false
        this.notify()
        await this.delay(retryMs)
        retryMs = Math.min(retryMs * 2, this.o.maxRetryMs)
      }
    }
    this.notify()
  }

  private async delay (ms: number): Promise<void> {
    if (!this.running) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms)
      function finish (): void { clearTimeout(timer); resolve() }
      this.abort.signal.addEventListener('abort', finish, { once: true })
    })
  }

  /** Compares every document the node holds with the warehouse's tips, and copies those that differ. */
  private async rescanAll (): Promise<void> {
    let page: string[] = []
    const flush = async (): Promise<void> => {
      const known = await this.warehouseTips(page)
      const stale: string[] = []
      for (const docId of page) {
        const head = await this.c.storage.getHead(docId)
        const row = known.get(docId)
        if (head !== undefined && (row === undefined || row.tip !== head.tip.toString() || row.anchorStatus !== head.anchorStatus)) stale.push(docId)
      }
      for (let i = 0; i < stale.length; i += this.o.batchSize) await this.copy(stale.slice(i, i + this.o.batchSize))
      page = []
    }
    for await (const docId of this.c.storage.listDocuments({ signal: this.abort.signal })) {
      page.push(docId)
      if (page.length >= RESCAN_PAGE) await flush()
    }
    if (page.length > 0) await flush()
  }

  /** The warehouse's tip, log length and anchor status of each of `docIds` it has. */
  private async warehouseTips (docIds: readonly string[]): Promise<Map<string, { tip: string, logLength: number, anchorStatus: number }>> {
    const { rows } = await this.pool.query<{ doc_id: string, tip: string, log_length: number, anchor_status: string }>(
      `SELECT doc_id, tip, log_length, anchor_status FROM ${this.o.schema}.documents WHERE doc_id = ANY($1::text[])`, [docIds])
    return new Map(rows.map((r) => [r.doc_id, { tip: r.tip, logLength: r.log_length, anchorStatus: AnchorStatus[r.anchor_status as keyof typeof AnchorStatus] ?? -1 }]))
  }

  /** Copies documents: the blocks and log entries the warehouse lacks, then each one's state, idempotently. */
  private async copy (docIds: readonly string[]): Promise<void> {
    const known = await this.warehouseTips(docIds)
    let blocks = new Map<string, { codec: number, bytes: Uint8Array }>()
    let entries: LogEntryRow[] = []
    let documents: Array<{ row: DocumentRow, logLength: number }> = []
    const flush = async (): Promise<void> => {
      if (blocks.size === 0 && entries.length === 0 && documents.length === 0) return
      await this.write(blocks, entries, documents)
      this.mirrored += documents.length
      blocks = new Map()
      entries = []
      documents = []
    }
    for (const docId of docIds) {
      // What is read from the node: a document that cannot be read (a block missing from its storage) is skipped, so
      // that it does not hold the others back; its next write, or the next rescan, tries it again.
      let read: { head: DocHead, stored: StoredLogEntry[], commits: Array<{ seq: number, blocks: Block[] }> } | undefined
      try {
        read = await this.readDocument(docId, known.get(docId))
      } catch (err) {
        if (!isKilnError(err) || err.name === 'AbortError') throw err
        this.logger?.warn({ err, docId }, 'the warehouse mirror cannot read a document; skipped until its next write')
        continue
      }
      if (read === undefined) continue
      for (const { seq, blocks: commitBlocks } of read.commits) {
        for (const block of commitBlocks) blocks.set(block.cid.toString(), { codec: block.cid.code, bytes: block.bytes })
        entries.push(logEntryRow(docId, seq, read.stored[seq]!, commitBlocks))
        if (blocks.size >= MAX_BLOCKS_PER_TRANSACTION) await flush()
      }
      documents.push({ row: documentRow(docId, read.head, read.stored), logLength: read.stored.length })
    }
    await flush()
  }

  /**
   * A document's head, log and the blocks of the commits the warehouse lacks: those after its tip when that tip is on
   * the log, else all (a branch switch). Undefined for a document gone, or written meanwhile (it is marked again).
   */
  private async readDocument (docId: string, known: { tip: string, logLength: number } | undefined): Promise<{ head: DocHead, stored: StoredLogEntry[], commits: Array<{ seq: number, blocks: Block[] }> } | undefined> {
    const head = await this.c.storage.getHead(docId)
    if (head === undefined) return undefined
    const stored = await this.c.storage.readLog(docId, { to: head.logLength })
    if (stored.length !== head.logLength) { this.requeue(docId); return undefined }
    const from = known !== undefined && known.logLength <= stored.length && stored[known.logLength - 1]?.cid.toString() === known.tip ? known.logLength : 0
    const commits: Array<{ seq: number, blocks: Block[] }> = []
    for (let seq = from; seq < stored.length; seq++) commits.push({ seq, blocks: await this.c.blocksOf(stored[seq]!.cid, { signal: this.abort.signal }) })
    return { head, stored, commits }
  }

  /** One transaction: blocks, log entries and document rows, upserted, and log entries past each log's end dropped. */
  private async write (blocks: Map<string, { codec: number, bytes: Uint8Array }>, entries: LogEntryRow[], documents: Array<{ row: DocumentRow, logLength: number }>): Promise<void> {
    const s = this.o.schema
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      if (blocks.size > 0) {
        const cids = [...blocks.keys()]
        await client.query(`INSERT INTO ${s}.blocks (cid, codec, bytes) SELECT * FROM unnest($1::text[], $2::integer[], $3::bytea[]) ON CONFLICT (cid) DO NOTHING`, [
          cids, cids.map((cid) => blocks.get(cid)!.codec), cids.map((cid) => Buffer.from(blocks.get(cid)!.bytes))
        ])
      }
      if (entries.length > 0) {
        await client.query(`INSERT INTO ${s}.log_entries (doc_id, seq, cid, entry_type, anchored_at, blocks)
          SELECT d, q, c, t, a, string_to_array(b, ' ') FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]) AS u(d, q, c, t, a, b)
          ON CONFLICT (doc_id, seq) DO UPDATE SET cid = excluded.cid, entry_type = excluded.entry_type, anchored_at = excluded.anchored_at, blocks = excluded.blocks`, [
          entries.map((e) => e.docId), entries.map((e) => e.seq), entries.map((e) => e.cid), entries.map((e) => e.entryType), entries.map((e) => e.anchoredAt), entries.map((e) => e.blocks.join(' '))
        ])
      }
      if (documents.length > 0) {
        const rows = documents.map((d) => d.row)
        await client.query(`DELETE FROM ${s}.log_entries AS l USING unnest($1::text[], $2::integer[]) AS u(d, n) WHERE l.doc_id = u.d AND l.seq >= u.n`, [
          rows.map((r) => r.docId), documents.map((d) => d.logLength)
        ])
        await client.query(`INSERT INTO ${s}.documents (doc_id, doctype, genesis, tip, log_length, controller, family, schema_id, tags, anchor_status, anchored_at, content, metadata, state)
          SELECT d, t, g, p, n, c, f, sc, ARRAY(SELECT jsonb_array_elements_text(tg::jsonb)), st, a, co::jsonb, m::jsonb, s::jsonb
          FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::text[], $13::text[], $14::text[])
            AS u(d, t, g, p, n, c, f, sc, tg, st, a, co, m, s)
          ON CONFLICT (doc_id) DO UPDATE SET doctype = excluded.doctype, genesis = excluded.genesis, tip = excluded.tip, log_length = excluded.log_length,
            controller = excluded.controller, family = excluded.family, schema_id = excluded.schema_id, tags = excluded.tags,
            anchor_status = excluded.anchor_status, anchored_at = excluded.anchored_at, content = excluded.content, metadata = excluded.metadata,
            state = excluded.state, mirrored_at = now()`, [
          rows.map((r) => r.docId), rows.map((r) => r.doctype), rows.map((r) => r.genesis), rows.map((r) => r.tip), rows.map((r) => r.logLength),
          rows.map((r) => r.controller), rows.map((r) => r.family), rows.map((r) => r.schemaId), rows.map((r) => JSON.stringify(r.tags)),
          rows.map((r) => r.anchorStatus), rows.map((r) => r.anchoredAt), rows.map((r) => r.content), rows.map((r) => r.metadata), rows.map((r) => r.state)
        ])
      }
      await client.query('COMMIT')
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw err
    } finally {
      client.release()
    }
  }
}
