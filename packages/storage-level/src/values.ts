import { AnchorStatus, LogEntryType } from '@kiln/interface'
import type { AnchorStatusRecord, CommitPlace, StoredLogEntry } from '@kiln/interface'
import { isPosition } from '@kiln/codec'
import { CID } from 'multiformats/cid'
import { concat, decodeSeq, encodeSeq } from './key-layout.js'

// The binary forms of the small values written on every commit. Heads and checkpoints are @kiln/codec's head records
// (dag-cbor behind a fixed-width log length); these are fixed layouts, cheaper to write and read than dag-cbor and of a size that
// depends only on the CID's.

const TYPES = new Set<number>(Object.values(LogEntryType))
const STATUSES = new Set<number>(Object.values(AnchorStatus))
const HAS_TIMESTAMP = 0x01
const EMPTY = new Uint8Array(0)

/** A log entry as `type u8 ‖ flags u8 ‖ [timestamp f64 big-endian when flags & 1] ‖ CID bytes`; RangeError on a bad one. */
export function encodeLogEntry (entry: StoredLogEntry): Uint8Array {
  const cid = CID.asCID(entry?.cid)
  if (cid === null) throw new RangeError(`its cid is not a CID (${String(entry?.cid)})`)
  if (!TYPES.has(entry.type)) throw new RangeError(`its type ${String(entry.type)} is not a LogEntryType`)
  if (entry.timestamp === undefined) return concat(Uint8Array.of(entry.type, 0), cid.bytes)
  if (typeof entry.timestamp !== 'number' || !Number.isFinite(entry.timestamp)) {
    throw new RangeError(`its timestamp ${String(entry.timestamp)} is not a finite number`)
  }
  const timestamp = new Uint8Array(8)
  new DataView(timestamp.buffer).setFloat64(0, entry.timestamp)
  return concat(Uint8Array.of(entry.type, HAS_TIMESTAMP), timestamp, cid.bytes)
}

/** The log entry {@link encodeLogEntry} wrote. Throws on bytes it did not write. */
export function decodeLogEntry (bytes: Uint8Array): StoredLogEntry {
  const type = bytes[0]
  const flags = bytes[1]
  if (type === undefined || !TYPES.has(type) || (flags !== 0 && flags !== HAS_TIMESTAMP)) throw new RangeError('not a log entry')
  if (flags === 0) return { cid: CID.decode(bytes.subarray(2)), type: type as LogEntryType }
  const view = new DataView(bytes.buffer, bytes.byteOffset + 2, 8)
  return { cid: CID.decode(bytes.subarray(10)), type: type as LogEntryType, timestamp: view.getFloat64(0) }
}

/** A commit-index value: the u64 log position, or no bytes for a commit off the log. */
export function encodeCommitPlace (place: CommitPlace): Uint8Array {
  if (place?.seq === undefined) return EMPTY
  if (!isPosition(place.seq)) throw new RangeError(`its position ${String(place.seq)} is not a non-negative integer`)
  return encodeSeq(place.seq)
}

/** The place {@link encodeCommitPlace} wrote. Throws on bytes it did not write. */
export function decodeCommitPlace (bytes: Uint8Array): CommitPlace {
  if (bytes.byteLength === 0) return {}
  if (bytes.byteLength !== 8) throw new RangeError(`a log position has 8 bytes, not ${bytes.byteLength}`)
  return { seq: decodeSeq(bytes) }
}

/** An anchor-status record as `status u8 ‖ tip CID bytes`. */
export function encodeStatusRecord (record: AnchorStatusRecord): Uint8Array {
  const tip = CID.asCID(record?.tip)
  if (tip === null) throw new RangeError(`its tip is not a CID (${String(record?.tip)})`)
  if (!STATUSES.has(record.status)) throw new RangeError(`its status ${String(record.status)} is not an AnchorStatus`)
  return concat(Uint8Array.of(record.status), tip.bytes)
}

/** The record {@link encodeStatusRecord} wrote. Throws on bytes it did not write. */
export function decodeStatusRecord (bytes: Uint8Array): AnchorStatusRecord {
  const status = bytes[0]
  if (status === undefined || !STATUSES.has(status)) throw new RangeError('not an anchor status')
  return { status: status as AnchorStatus, tip: CID.decode(bytes.subarray(1)) }
}
