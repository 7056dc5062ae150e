import { AnchorStatus, LogEntryType } from '@kiln/interface'
import type { DocIndexRecord, StoredLogEntry } from '@kiln/interface'
import { checkPosition, unstorableWrite, type QueuedWrite } from '@kiln/codec'
import { storedIndexRecord } from '@kiln/query'
import { CID } from 'multiformats/cid'

/** A log entry row. */
export interface EntryRow { docId: string, seq: number, cid: Uint8Array, type: number, time: number | null }

/**
 * What a batch leaves behind, whatever order its writes were queued in: the stored rows each truncation or drop
 * removes (from the smallest position cut per document), then the rows put, the last put of a key winning. A put
 * queued before a cut that covers it is gone; one queued after it stays. The statements that write this never depend
 * on each other's order beyond "cuts before puts".
 */
export interface NetWrites {
  blocks: Map<string, { cid: Uint8Array, bytes: Uint8Array }>
  heads: Map<string, Uint8Array>
  truncations: Map<string, number>
  entries: Map<string, Map<number, EntryRow>>
  commits: Map<string, { docId: string, cid: Uint8Array, seq: number | null }>
  drops: Map<string, number>
  checkpoints: Map<string, Map<number, Uint8Array>>
  statuses: Map<string, { tip: Uint8Array, status: number }>
  records: Map<string, DocIndexRecord>
  pins: Set<string>
  /** Bytes of keys and values put, for write stats; positions count 8 bytes whatever their value. */
  bytes: number
}

const TYPES = new Set<number>(Object.values(LogEntryType))
const STATUSES = new Set<number>(Object.values(AnchorStatus))
const SEQ_BYTES = 8
const utf8 = new TextEncoder()

/** Checks every queued write and folds them into the rows to write; a bad one rejects with its description. */
export async function foldWrites (writes: readonly QueuedWrite[]): Promise<NetWrites> {
  const net: NetWrites = {
    blocks: new Map(),
    heads: new Map(),
    truncations: new Map(),
    entries: new Map(),
    commits: new Map(),
    drops: new Map(),
    checkpoints: new Map(),
    statuses: new Map(),
    records: new Map(),
    pins: new Set(),
    bytes: 0
  }
  for (const write of writes) {
    try {
      await fold(net, write)
    } catch (err) {
      throw unstorableWrite(write, err, err instanceof Error ? err.message : String(err))
    }
  }
  return net
}

async function fold (net: NetWrites, write: QueuedWrite): Promise<void> {
  const docBytes = write.kind === 'block' ? 0 : utf8.encode(write.docId).byteLength
  switch (write.kind) {
    case 'block':
      net.blocks.set(write.cid.toString(), { cid: write.cid.bytes, bytes: write.bytes })
      net.bytes += write.cid.bytes.byteLength + write.bytes.byteLength
      return
    case 'head': {
      const bytes = await write.encoded
      net.heads.set(write.docId, bytes)
      net.bytes += docBytes + bytes.byteLength
      return
    }
    case 'entry': {
      checkPosition(write.seq)
      const row = entryRow(write.docId, write.seq, write.entry)
      mapOf(net.entries, write.docId).set(write.seq, row)
      net.bytes += docBytes + SEQ_BYTES + row.cid.byteLength + 2 + (row.time === null ? 0 : 8)
      return
    }
    case 'truncate':
      checkPosition(write.seq)
      cut(net.truncations, net.entries, write.docId, write.seq)
      return
    case 'index': {
      const cid = asCID(write.cid, 'its cid')
      const seq = write.place?.seq
      if (seq !== undefined) checkPosition(seq)
      net.commits.set(`${write.docId}\u0000${cid.toString()}`, { docId: write.docId, cid: cid.bytes, seq: seq ?? null })
      net.bytes += docBytes + cid.bytes.byteLength + (seq === undefined ? 0 : SEQ_BYTES)
      return
    }
    case 'checkpoint': {
      checkPosition(write.seq)
      const bytes = await write.encoded
      mapOf(net.checkpoints, write.docId).set(write.seq, bytes)
      net.bytes += docBytes + SEQ_BYTES + bytes.byteLength
      return
    }
    case 'drop':
      checkPosition(write.seq)
      cut(net.drops, net.checkpoints, write.docId, write.seq)
      return
    case 'status': {
      const tip = asCID(write.record?.tip, 'its tip')
      if (!STATUSES.has(write.record.status)) throw new RangeError(`its status ${String(write.record.status)} is not an AnchorStatus`)
      net.statuses.set(write.docId, { tip: tip.bytes, status: write.record.status })
      net.bytes += docBytes + 1 + tip.bytes.byteLength
      return
    }
    case 'docIndex': {
      if (write.record instanceof Error) throw write.record
      const record = write.record
      const earlier = net.records.get(write.docId)
      // The first createdAt given is kept, within a batch as across batches.
      net.records.set(write.docId, earlier === undefined ? record : { ...record, createdAt: earlier.createdAt })
      net.bytes += docBytes + JSON.stringify(record).length
      return
    }
    case 'pin':
      net.pins.add(write.docId)
      net.bytes += docBytes
  }
}

/** Records a cut of `docId`'s rows from `seq` on: stored rows go from the smallest cut, queued puts at once. */
function cut<T> (cuts: Map<string, number>, puts: Map<string, Map<number, T>>, docId: string, seq: number): void {
  cuts.set(docId, Math.min(cuts.get(docId) ?? seq, seq))
  const queued = puts.get(docId)
  if (queued !== undefined) for (const key of queued.keys()) if (key >= seq) queued.delete(key)
}

function mapOf<T> (map: Map<string, Map<number, T>>, docId: string): Map<number, T> {
  let inner = map.get(docId)
  if (inner === undefined) map.set(docId, inner = new Map())
  return inner
}

function entryRow (docId: string, seq: number, entry: StoredLogEntry): EntryRow {
  const cid = asCID(entry?.cid, 'its cid')
  if (!TYPES.has(entry.type)) throw new RangeError(`its type ${String(entry.type)} is not a LogEntryType`)
  if (entry.timestamp !== undefined && (typeof entry.timestamp !== 'number' || !Number.isFinite(entry.timestamp))) {
    throw new RangeError(`its timestamp ${String(entry.timestamp)} is not a finite number`)
  }
  return { docId, seq, cid: cid.bytes, type: entry.type, time: entry.timestamp ?? null }
}

/**
 * The record as stored, copied when queued (its JSON form, checked by @kiln/query, with times the bigint columns can
 * hold); a record that cannot be stored is the error `commit()` fails the batch with.
 */
export function copyIndexRecord (record: DocIndexRecord): DocIndexRecord | Error {
  try {
    return checkIndexRecord(record)
  } catch (err) {
    return err instanceof Error ? err : new TypeError(String(err))
  }
}

function checkIndexRecord (record: DocIndexRecord): DocIndexRecord {
  const stored = storedIndexRecord(record)
  for (const field of ['createdAt', 'updatedAt', 'anchoredAt'] as const) {
    const time = stored[field]
    if (time !== undefined && !Number.isSafeInteger(time)) throw new RangeError(`its ${field} ${String(time)} is not a whole number of milliseconds`)
  }
  if (jsonText(stored.content) === undefined) throw new TypeError('its content is not JSON')
  // PostgreSQL's jsonb parser recurses and fails on very deep values ("stack depth limit exceeded"), which would refuse
  // a commit LevelDB accepts: such content is indexed as null (queries on its paths see nothing), the head keeps it.
  if (nestingOf(stored.content) > MAX_INDEXED_NESTING) stored.content = null
  return stored
}

/** Deepest nesting of arrays and objects the query index keeps a document's content at. */
export const MAX_INDEXED_NESTING = 1000

/** How deep arrays and objects nest in a JSON value, counted without recursion (the value may be hostile). */
function nestingOf (value: unknown): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (node === null || typeof node !== 'object') continue
    if (depth + 1 > deepest) deepest = depth + 1
    if (deepest > MAX_INDEXED_NESTING) return deepest
    for (const child of Object.values(node)) stack.push([child, depth + 1])
  }
  return deepest
}

/**
 * The JSON text of a value for a jsonb column or parameter; `undefined` for a value JSON cannot hold. PostgreSQL's
 * jsonb cannot hold the character U+0000: it is stored (and compared) as U+FFFD.
 */
export function jsonText (value: unknown): string | undefined {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch {
    return undefined
  }
  // The escape \u0000 itself, not a literal backslash followed by "u0000" (an even run of backslashes before it).
  return text?.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd')
}

function asCID (value: unknown, what: string): CID {
  const cid = CID.asCID(value)
  if (cid === null) throw new TypeError(`${what} is not a CID (${String(value)})`)
  return cid
}
