import { encodeCar, encodeRecord } from '@kiln/codec'
import { isCommitID, parseDocOrCommitID } from '@kiln/docid'
import { isKilnError, type Block, type KilnNodeApi } from '@kiln/interface'
import pg from 'pg'
import { BackupOptionError, TamperedWarehouseRowError } from './errors.js'
import { checkWarehouseUrl, unavailable } from './mirror.js'
import { rebuildWarehouseDocument, type DocumentRow, type EntryRow, type RebuiltDocument } from './warehouse-document.js'
import { DEFAULT_WAREHOUSE_SCHEMA, WAREHOUSE_VERSION, checkSchemaName, warehouseVersion } from './warehouse-schema.js'

/**
 * The root format of the per-document CAR a node's `importDocument` reads (the one `exportDocument` writes): a
 * manifest listing each document's log, dependencies (schemas) first, and the blocks each anchor's check reads.
 */
export const DOCUMENT_EXPORT_FORMAT = 'kiln-document-export/1'

/** How far a restore has come: for a progress line. */
export interface RestoreProgress {
  /** Documents restored so far. */
  done: number
  /** Documents to restore. */
  total: number
}

/** Options of the restores. */
export interface RestoreOptions {
  signal?: AbortSignal
  /** Called after each document. */
  onProgress?: (progress: RestoreProgress) => void
}

/** What a restore needs of the node it fills: its import, which sends every commit through the apply pipeline. */
export type RestoreTarget = Pick<KilnNodeApi, 'importDocument'>

/** Options of {@link restoreFromWarehouse}. */
export interface WarehouseSource {
  connectionString: string
  /** The warehouse's PostgreSQL schema; `kiln_warehouse` by default. */
  schema?: string
}

/** Documents read from the warehouse per page. */
const PAGE = 200

/**
 * Rebuilds a node from a warehouse: each document's commits, read from the mirrored blocks (each checked against its
 * CID), are imported through the node's apply pipeline, with the schema each names first. A row that was tampered
 * with is a `TamperedWarehouseRowError` naming its table, key and document, and nothing of that document is imported.
 */
export async function restoreFromWarehouse (source: WarehouseSource, target: RestoreTarget, options: RestoreOptions = {}): Promise<RestoreProgress> {
  const schema = checkSchemaName(source.schema ?? DEFAULT_WAREHOUSE_SCHEMA)
  const client = new pg.Client({ connectionString: checkWarehouseUrl(source.connectionString), connectionTimeoutMillis: 10_000 })
  client.on('error', () => { /* reported by the query that fails */ })
  try {
    await client.connect()
  } catch (err) {
    throw unavailable(err)
  }
  try {
    const reader = new WarehouseReader(client, schema)
    const version = await reader.call(async () => await warehouseVersion(client, schema))
    if (version > WAREHOUSE_VERSION) throw new BackupOptionError(`The warehouse is at schema version ${version}, newer than the ${WAREHOUSE_VERSION} this Kiln reads`, { details: { version } })
    const total = Number((await reader.call(async () => await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.documents`))).rows[0]!.n)
    let done = 0
    let after = ''
    options.onProgress?.({ done, total })
    for (;;) {
      options.signal?.throwIfAborted()
      const { rows } = await reader.call(async () => await client.query<DocumentRow>(
        `SELECT doc_id, doctype, tip, log_length, schema_id FROM ${schema}.documents WHERE doc_id > $1 ORDER BY doc_id LIMIT ${PAGE}`, [after]))
      if (rows.length === 0) break
      after = rows[rows.length - 1]!.doc_id
      const rebuilt = await reader.documents(rows)
      for (const row of rows) {
        const doc = rebuilt.get(row.doc_id)!
        const car = await reader.carOf(doc)
        try {
          await target.importDocument(car, { signal: options.signal, publish: false })
        } catch (err) {
          throw refused(err, doc)
        }
        options.onProgress?.({ done: ++done, total })
      }
    }
    return { done, total }
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * The refusals that mean the data is wrong (so a row was tampered with); others (a chain this node cannot verify, a
 * storage failure, an abort) are the node's and pass through as they are.
 */
const DATA_REFUSALS = new Set([
  'CodecError', 'InvalidCommitError', 'InvalidSignatureError', 'UnauthorizedSignerError', 'InvalidAnchorProofError', 'SchemaValidationError',
  'DoctypeRuleError', 'ConflictingCommitError', 'DocumentNotFoundError', 'BlockNotFoundError', 'InvalidDocIDError', 'LimitExceededError'
])

/** A commit the pipeline refused, as the warehouse row it came from. */
function refused (err: unknown, doc: RebuiltDocument): unknown {
  if (!isKilnError(err) || !DATA_REFUSALS.has(err.name)) return err
  const commit = typeof err.details.commit === 'string' ? err.details.commit : undefined
  const docId = typeof err.details.docId === 'string' ? err.details.docId : doc.docId
  const seq = commit === undefined ? -1 : doc.docId === docId ? doc.log.findIndex((c) => c.toString() === commit) : -1
  const key = seq >= 0 ? `(doc_id=${docId}, seq=${seq})` : `(doc_id=${docId})`
  return new TamperedWarehouseRowError(`log_entries row ${key} of document ${doc.docId}${commit === undefined ? '' : ` (commit ${commit})`} is refused by the apply pipeline: ${err.name}: ${err.message}`, {
    cause: err,
    details: { table: 'log_entries', key, docId: doc.docId, ...(commit === undefined ? {} : { commit }), refusedWith: err.name }
  })
}

/** Reads and checks documents from the warehouse. */
class WarehouseReader {
  /** Schema documents rebuilt up to a version (CommitID string → the document cut at that commit). */
  private readonly schemas = new Map<string, RebuiltDocument>()

  constructor (private readonly client: pg.Client, private readonly schema: string) {}

  /** Runs one warehouse call; a failure of the warehouse is a `WarehouseUnavailableError`. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (isKilnError(err)) throw err
      throw unavailable(err)
    }
  }

  /** Rebuilds documents from their rows: log entries in order, blocks checked against their CIDs. */
  async documents (rows: readonly DocumentRow[]): Promise<Map<string, RebuiltDocument>> {
    const s = this.schema
    const ids = rows.map((r) => r.doc_id)
    const entries = (await this.call(async () => await this.client.query<EntryRow>(
      // Only the entries the documents row vouches for: entries past its log_length are a copy still under way.
      `SELECT l.doc_id, l.seq, l.cid, l.entry_type, l.blocks FROM ${s}.log_entries l JOIN ${s}.documents d ON d.doc_id = l.doc_id
       WHERE l.doc_id = ANY($1::text[]) AND l.seq < d.log_length ORDER BY l.doc_id, l.seq`, [ids]))).rows
    const byDoc = new Map<string, EntryRow[]>(ids.map((id) => [id, []]))
    for (const entry of entries) byDoc.get(entry.doc_id)!.push(entry)
    const wanted = [...new Set(entries.flatMap((e) => e.blocks))]
    const blocks = new Map<string, Uint8Array>()
    for (const row of (await this.call(async () => await this.client.query<{ cid: string, bytes: Buffer }>(
      `SELECT cid, bytes FROM ${s}.blocks WHERE cid = ANY($1::text[])`, [wanted]))).rows) {
      blocks.set(row.cid, new Uint8Array(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength))
    }
    const out = new Map<string, RebuiltDocument>()
    for (const row of rows) out.set(row.doc_id, await rebuildWarehouseDocument(row, byDoc.get(row.doc_id)!, blocks))
    return out
  }

  /** The CAR `importDocument` reads: the schema the document names (up to its version) first, then the document. */
  async carOf (doc: RebuiltDocument): Promise<Uint8Array> {
    const chain: RebuiltDocument[] = [doc]
    const seen = new Set([doc.docId])
    for (let ref = doc.schema; ref !== null && chain.length < 8;) {
      const dep = await this.schemaAt(ref, doc)
      if (dep === undefined || seen.has(dep.docId)) break
      seen.add(dep.docId)
      chain.unshift(dep)
      ref = dep.schema
    }
    const blocks = new Map<string, Block>()
    for (const d of chain) for (const b of d.blocks) blocks.set(b.cid.toString(), b)
    const manifest = await encodeRecord({
      format: DOCUMENT_EXPORT_FORMAT,
      documents: chain.map((d) => ({ docId: d.docId, type: d.type, log: d.log, anchors: d.anchors }))
    })
    return await encodeCar([manifest.cid], [manifest, ...blocks.values()])
  }

  /** The schema document a CommitID names, cut at that commit; undefined when the warehouse lacks it (the import then says so). */
  private async schemaAt (ref: string, by: RebuiltDocument): Promise<RebuiltDocument | undefined> {
    const cached = this.schemas.get(ref)
    if (cached !== undefined) return cached
    let parsed
    try {
      parsed = parseDocOrCommitID(ref)
    } catch {
      return undefined
    }
    if (!isCommitID(parsed)) return undefined
    const docId = parsed.baseID.toString()
    const { rows } = await this.call(async () => await this.client.query<DocumentRow>(
      `SELECT doc_id, doctype, tip, log_length, schema_id FROM ${this.schema}.documents WHERE doc_id = $1`, [docId]))
    if (rows.length === 0) return undefined
    const full = (await this.documents(rows)).get(docId)!
    const at = full.log.findIndex((cid) => cid.equals(parsed.commit))
    if (at < 0) {
      throw new TamperedWarehouseRowError(`documents row (doc_id=${by.docId}) names the schema ${ref}, whose commit is not in the mirrored log of ${docId}`, {
        details: { table: 'documents', key: `(doc_id=${by.docId})`, docId: by.docId }
      })
    }
    const log = full.log.slice(0, at + 1)
    const keep = new Set(log.map((c) => c.toString()))
    const cut: RebuiltDocument = { ...full, log, anchors: Object.fromEntries(Object.entries(full.anchors).filter(([cid]) => keep.has(cid))) }
    this.schemas.set(ref, cut)
    return cut
  }
}

