import { LogEntryType, StorageError } from '@kiln/interface'
import type { DocHead, DocState, StoredLogEntry } from '@kiln/interface'
import { decodeRecord, encodeHeadRecord } from '@kiln/codec'
import { CID } from 'multiformats/cid'
import type { Database, Operation } from './database.js'
import {
  LAYOUT_KEY, commitKey, concat, docIdBytes, docIdOfKey, encodeSeq, headKey, logEntryKey, prefixRange
} from './key-layout.js'
import { encodeLogEntry } from './values.js'

// Layout 1 kept each document's whole state, log included, under one key, and a log index of every CID indexed for
// it in first-indexed order (log commits and commits of losing branches alike):
//   's' ‖ docId                          → dag-cbor DocState
//   'l' ‖ u32 len ‖ docId ‖ u64 seq      → CID bytes
//   'n' ‖ docId                          → the next 'l' seq
// Blocks ('b') and pins ('p') kept the keys they have in layout 2.
const STATE = 0x73
const LOG = 0x6c
const NEXT = 0x6e
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Rewrites a layout-1 database as layout 2, one document per batch: the batch that writes a document's head, log
 * entries and commit index also deletes its layout-1 keys, so a migration stopped half-way (a crash, a failed write)
 * is finished by the next one. The last batch sets the version to 2 (then the layout-2 migration goes on to 3). Layout 1 kept no checkpoints, and heads at
 * older positions cannot be derived without replaying, so a migrated log has none (a load replays from genesis).
 * Returns how many documents it migrated.
 */
export async function migrateFromLayout1 (db: Database, path: string, write: (operations: Operation[]) => Promise<void>): Promise<number> {
  let documents = 0
  for await (const key of db.keys(prefixRange(Uint8Array.of(STATE)))) {
    await write(await migrateDocument(db, path, docIdOfKey(key)))
    documents++
  }
  // Documents with a log index but no state: their commits are known, none is on a log.
  let previous: string | undefined
  for await (const key of db.keys(prefixRange(Uint8Array.of(LOG)))) {
    const docId = docIdOfLogKey(key)
    if (docId === previous) continue
    previous = docId
    await write(await migrateDocument(db, path, docId))
    documents++
  }
  const strayNextKeys = await db.keys(prefixRange(Uint8Array.of(NEXT))).all()
  await write([
    ...strayNextKeys.map((key) => ({ type: 'del' as const, key })),
    { type: 'put', key: LAYOUT_KEY, value: Uint8Array.of(2) }
  ])
  return documents
}

/** The layout-2 writes of one document, with the deletion of its layout-1 keys. */
async function migrateDocument (db: Database, path: string, docId: string): Promise<Operation[]> {
  const fail = (what: string, err: unknown): StorageError => new StorageError(
    `Cannot migrate ${docId} in the LevelDB store at ${path} from key layout 1: ${what}${err instanceof Error ? `: ${err.message}` : ''}`,
    { cause: err, details: { operation: 'migrate', key: docId, path } }
  )
  const operations: Operation[] = []
  const onLog = new Set<string>()
  const stateBytes = await db.get(stateKey(docId))
  if (stateBytes !== undefined) {
    let state: unknown
    try {
      state = await decodeRecord(stateBytes)
    } catch (err) {
      throw fail('its state is not dag-cbor', err)
    }
    if (!looksLikeState(state)) throw fail('its state is not a document state with a log', undefined)
    let headBytes: Uint8Array
    try {
      headBytes = await encodeHeadRecord(headOf(state))
      state.log.forEach((entry, seq) => {
        operations.push({ type: 'put', key: logEntryKey(docId, seq), value: encodeLogEntry(storedEntryOf(entry)) })
        operations.push({ type: 'put', key: commitKey(docId, entry.cid), value: encodeSeq(seq) })
        onLog.add(entry.cid.toString())
      })
    } catch (err) {
      throw fail('its state cannot be rewritten as a head and log', err)
    }
    operations.push({ type: 'put', key: headKey(docId), value: headBytes }, { type: 'del', key: stateKey(docId) })
  }
  for (const [key, value] of await db.iterator(prefixRange(logPrefix(docId))).all()) {
    let cid: CID
    try {
      cid = CID.decode(new Uint8Array(value))
    } catch (err) {
      throw fail('its log index holds bytes that are not a CID', err)
    }
    // Indexed but not on the log: a commit of a losing branch.
    if (!onLog.has(cid.toString())) {
      operations.push({ type: 'put', key: commitKey(docId, cid), value: new Uint8Array(0) })
      onLog.add(cid.toString())
    }
    operations.push({ type: 'del', key })
  }
  operations.push({ type: 'del', key: concat(Uint8Array.of(NEXT), new TextEncoder().encode(docId)) })
  return operations
}

/** The head of a layout-1 state: everything but the log, with the log's ends and length. */
function headOf (state: DocState): DocHead {
  const { log, anchorProof, ...rest } = state
  return {
    type: rest.type,
    content: rest.content,
    metadata: rest.metadata,
    signature: rest.signature,
    anchorStatus: rest.anchorStatus,
    ...(anchorProof === undefined ? {} : { anchorProof }),
    genesis: log[0]!.cid,
    tip: log[log.length - 1]!.cid,
    logLength: log.length
  }
}

/** A layout-1 log entry as layout 2 stores it: a time only on an anchor entry, where the chain gave it. */
function storedEntryOf (entry: DocState['log'][number]): StoredLogEntry {
  return entry.type === LogEntryType.ANCHOR && entry.timestamp !== undefined
    ? { cid: entry.cid, type: entry.type, timestamp: entry.timestamp }
    : { cid: entry.cid, type: entry.type }
}

function looksLikeState (value: unknown): value is DocState {
  if (value === null || typeof value !== 'object') return false
  const state = value as Partial<DocState>
  return typeof state.type === 'number' && state.metadata !== null && typeof state.metadata === 'object' &&
    Array.isArray(state.log) && state.log.length > 0 &&
    state.log.every((entry) => entry !== null && typeof entry === 'object' && CID.asCID(entry.cid) !== null)
}

function stateKey (docId: string): Uint8Array {
  return concat(Uint8Array.of(STATE), new TextEncoder().encode(docId))
}

function logPrefix (docId: string): Uint8Array {
  return concat(Uint8Array.of(LOG), docIdBytes(docId))
}

function docIdOfLogKey (key: Uint8Array): string {
  const length = new DataView(key.buffer, key.byteOffset + 1, 4).getUint32(0)
  return utf8.decode(key.subarray(5, 5 + length))
}
