import { verifyBlock } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import type { Block } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { TamperedWarehouseRowError } from './errors.js'
import { entryTypeOf } from './warehouse-rows.js'

/** One mirrored log entry as a restore reads it (a `log_entries` row). */
export interface EntryRow {
  doc_id: string
  seq: number
  cid: string
  entry_type: string
  blocks: string[]
}

/** One mirrored document as a restore reads it (a `documents` row). */
export interface DocumentRow {
  doc_id: string
  doctype: number
  tip: string
  log_length: number
  schema_id: string | null
}

/** A document as a restore rebuilds it from the warehouse: its log and the blocks each commit needs, all checked. */
export interface RebuiltDocument {
  docId: string
  type: number
  log: CID[]
  /** Anchor commit CID → the other blocks its check reads. */
  anchors: Record<string, CID[]>
  blocks: Block[]
  schema: string | null
}

/**
 * Reads one document from its warehouse rows: every block it names must be there and hash to its CID, and the log must
 * be whole (positions 0 to `log_length - 1`) and end at the row's tip. `TamperedWarehouseRowError` naming the row.
 */
export async function rebuildWarehouseDocument (row: DocumentRow, entries: readonly EntryRow[], blocks: ReadonlyMap<string, Uint8Array>): Promise<RebuiltDocument> {
  const docId = typeof row.doc_id === 'string' ? row.doc_id : String(row.doc_id)
  const tampered = (message: string, table: string, key: string, extra: Record<string, unknown> = {}): TamperedWarehouseRowError =>
    new TamperedWarehouseRowError(`${table} row ${key} of document ${docId}: ${message}`, { details: { table, key, docId, ...extra } })
  let id: DocID
  try {
    id = DocID.fromString(docId)
  } catch {
    throw tampered('the doc_id is not a DocID', 'documents', `(doc_id=${docId})`)
  }
  if (typeof row.schema_id !== 'string' && row.schema_id !== null) throw tampered('its schema_id is not text', 'documents', `(doc_id=${docId})`)
  if (typeof row.tip !== 'string') throw tampered('its tip is not text', 'documents', `(doc_id=${docId})`)
  if (id.type !== row.doctype) throw tampered(`its doctype ${row.doctype} is not its DocID's ${id.type}`, 'documents', `(doc_id=${docId})`)
  if (!Array.isArray(entries) || entries.length !== row.log_length || entries.some((e, i) => e?.seq !== i)) {
    throw tampered(`its log in the warehouse is not the ${String(row.log_length)} entries its log_length says, at positions 0 on`, 'documents', `(doc_id=${docId})`)
  }
  if (entries[entries.length - 1]?.cid !== row.tip) throw tampered(`its tip ${row.tip} is not the last log entry`, 'documents', `(doc_id=${docId})`)
  const log: CID[] = []
  const anchors: Record<string, CID[]> = {}
  const out = new Map<string, Block>()
  for (const entry of entries) {
    const key = `(doc_id=${docId}, seq=${entry.seq})`
    if (entry.doc_id !== docId) throw tampered(`it is the entry of ${String(entry.doc_id)}`, 'log_entries', key)
    if (!Array.isArray(entry.blocks) || !(entry.blocks as unknown[]).every((b) => typeof b === 'string')) throw tampered('its blocks are not a list of CIDs', 'log_entries', key)
    let cid: CID
    try {
      cid = CID.parse(entry.cid)
      if (cid.toString() !== entry.cid) throw new TypeError('not canonical')
    } catch {
      throw tampered(`its cid ${JSON.stringify(entry.cid)} is not a CID`, 'log_entries', key)
    }
    const type = entryTypeOf(entry.entry_type)
    if (type === undefined) throw tampered(`its entry_type ${JSON.stringify(entry.entry_type)} is not GENESIS, SIGNED or ANCHOR`, 'log_entries', key)
    const supporting: CID[] = []
    for (const text of entry.blocks) {
      const bytes = blocks.get(text)
      if (bytes === undefined) throw tampered(`the block ${text} it needs is not in the warehouse`, 'log_entries', key)
      let blockCid: CID
      try {
        blockCid = CID.parse(text)
        if (blockCid.toString() !== text) throw new TypeError('not canonical')
        await verifyBlock(blockCid, bytes)
      } catch (err) {
        throw new TamperedWarehouseRowError(`blocks row (cid=${text}) of document ${docId}: its bytes do not hash to its CID`, {
          cause: err, details: { table: 'blocks', key: `(cid=${text})`, docId }
        })
      }
      out.set(text, { cid: blockCid, bytes })
      if (!blockCid.equals(cid)) supporting.push(blockCid)
    }
    if (!out.has(cid.toString())) throw tampered(`its commit ${entry.cid} is not among its blocks`, 'log_entries', key)
    log.push(cid)
    if (entry.entry_type === 'ANCHOR') anchors[cid.toString()] = supporting
  }
  return { docId, type: row.doctype, log, anchors, blocks: [...out.values()], schema: row.schema_id }
}
