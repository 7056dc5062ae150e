import { concatBytes } from '@kiln/codec'
import type { CID } from 'multiformats/cid'

// Every record lives in one LevelDB keyspace with binary keys; the first byte says what a key holds. Where a
// document's keys are read as a range (log entries, commit index, checkpoints), its ID is written length-first (u32
// big-endian, then UTF-8), so no DocID's range can hold another's keys, whatever characters the IDs hold ('doc' and
// 'doc1' do not share a prefix). Keys read one at a time (head, status record, pin) hold the bare UTF-8 ID, which
// listings decode. See the README for the full table.

const BLOCK = 0x62 // 'b' ‖ CID bytes                               → block bytes
const HEAD = 0x68 // 'h' ‖ docId                                    → dag-cbor DocHead
const STATUS = 0x61 // 'a' ‖ docId                                  → status u8 ‖ tip CID bytes
const PIN = 0x70 // 'p' ‖ docId                                     → empty
const ENTRY = 0x65 // 'e' ‖ u32 len ‖ docId ‖ u64 seq                → log entry (see encodeLogEntry)
const COMMIT = 0x63 // 'c' ‖ u32 len ‖ docId ‖ CID bytes             → u64 seq, or empty when off the log
const CHECKPOINT = 0x6b // 'k' ‖ u32 len ‖ docId ‖ u64 seq           → dag-cbor DocHead
const INDEX_RECORD = 0x78 // 'x' ‖ docId                            → JSON of the DocIndexRecord
const TERM = 0x69 // 'i' ‖ field u8 ‖ u32 len ‖ value ‖ docId       → empty (one per indexed value)
const TIME = 0x74 // 't' ‖ field u8 ‖ 0x01 ‖ time f64* ‖ docId       → empty; 0x02 ‖ docId when the time is absent
/** The single key holding the layout version. */
export const LAYOUT_KEY = Uint8Array.of(0x76) // 'v'
/** The layout this package reads and writes. */
export const LAYOUT_VERSION = 3

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })
const SEQ_BYTES = 8

/** A key range as LevelDB iterators and `clear` take it. */
export interface KeyRange { gte: Uint8Array, lt: Uint8Array }

/** Key of a block: the full CID bytes, so a CID of another codec or version is another block. */
export function blockKey (cid: CID): Uint8Array {
  return concat(Uint8Array.of(BLOCK), cid.bytes)
}

/** Key of a document's head. */
export function headKey (docId: string): Uint8Array {
  return concat(Uint8Array.of(HEAD), utf8.encode(docId))
}

/** Key of a document's anchor-status record. */
export function statusKey (docId: string): Uint8Array {
  return concat(Uint8Array.of(STATUS), utf8.encode(docId))
}

/** Key of a pin: present when the document is pinned. */
export function pinKey (docId: string): Uint8Array {
  return concat(Uint8Array.of(PIN), utf8.encode(docId))
}

/** Key of entry `seq` of a document's log. */
export function logEntryKey (docId: string, seq: number): Uint8Array {
  return concat(Uint8Array.of(ENTRY), docIdBytes(docId), encodeSeq(seq))
}

/** The log entry keys of a document from position `from` up to, not including, `to` (default: the end). */
export function logRange (docId: string, from = 0, to?: number): KeyRange {
  return seqRange(ENTRY, docId, from, to)
}

/** Key of the commit-index entry of `cid` for a document. */
export function commitKey (docId: string, cid: CID): Uint8Array {
  return concat(Uint8Array.of(COMMIT), docIdBytes(docId), cid.bytes)
}

/** Every commit-index key of a document. */
export function commitRange (docId: string): KeyRange {
  return prefixRange(concat(Uint8Array.of(COMMIT), docIdBytes(docId)))
}

/** Key of a document's checkpoint at position `seq`. */
export function checkpointKey (docId: string, seq: number): Uint8Array {
  return concat(Uint8Array.of(CHECKPOINT), docIdBytes(docId), encodeSeq(seq))
}

/** The checkpoint keys of a document from position `from` up to, not including, `to` (default: the end). */
export function checkpointRange (docId: string, from = 0, to?: number): KeyRange {
  return seqRange(CHECKPOINT, docId, from, to)
}

/** The range of every head key: one per document with a head. */
export function headRange (): KeyRange {
  return prefixRange(Uint8Array.of(HEAD))
}

/** The range of every pin key. */
export function pinRange (): KeyRange {
  return prefixRange(Uint8Array.of(PIN))
}

/** The fields whose values the query index keeps secondary keys for (`TERM` keys), with their byte. */
export const TERM_FIELDS = {
  doctype: 0x64, // 'd': the doctype code in decimal
  controller: 0x63, // 'c'
  family: 0x66, // 'f'
  tag: 0x67, // 'g'
  schemaDoc: 0x73, // 's'
  schemaCommit: 0x76, // 'v'
  link: 0x6c // 'l'
} as const

/** The times the query index orders documents by (`TIME` keys), with their byte. */
export const TIME_FIELDS = {
  created: 0x63, // 'c'
  updated: 0x75, // 'u'
  anchored: 0x61 // 'a'
} as const

/** A field of the query index with secondary keys. */
export type TermField = keyof typeof TERM_FIELDS
/** A time the query index sorts by. */
export type TimeField = keyof typeof TIME_FIELDS

const PRESENT = 0x01
const ABSENT = 0x02
/** Bytes before the DocID in a time key: kind, field, presence and (when present) the 8 time bytes. */
const TIME_PREFIX_PRESENT = 3 + 8
const TIME_PREFIX_ABSENT = 3

/** Key of a document's query index record. */
export function indexRecordKey (docId: string): Uint8Array {
  return concat(Uint8Array.of(INDEX_RECORD), utf8.encode(docId))
}

/** The range of every query index record: one per indexed document. */
export function indexRecordRange (): KeyRange {
  return prefixRange(Uint8Array.of(INDEX_RECORD))
}

/** The prefix of every secondary key of `field` = `value`: the DocIDs follow it, in byte order. */
export function termPrefix (field: TermField, value: string): Uint8Array {
  return concat(Uint8Array.of(TERM, TERM_FIELDS[field]), docIdBytes(value))
}

/** The secondary key saying document `docId` has `value` in `field`. */
export function termKey (field: TermField, value: string, docId: string): Uint8Array {
  return concat(termPrefix(field, value), utf8.encode(docId))
}

/**
 * The time key of `docId` for `field`: `time` in an order-preserving form (byte order is numeric order), or the absent
 * marker after every present time, so that the DocIDs of absent times follow the others in byte order.
 */
export function timeKey (field: TimeField, time: number | undefined, docId: string): Uint8Array {
  if (time === undefined) return concat(Uint8Array.of(TIME, TIME_FIELDS[field], ABSENT), utf8.encode(docId))
  return concat(Uint8Array.of(TIME, TIME_FIELDS[field], PRESENT), encodeTime(time), utf8.encode(docId))
}

/** The time keys of `field` with a time (`present`) or without one. */
export function timeRange (field: TimeField, present: boolean): KeyRange {
  return prefixRange(Uint8Array.of(TIME, TIME_FIELDS[field], present ? PRESENT : ABSENT))
}

/**
 * The time keys of `field` with a time strictly between `after` and `before` (either may be absent). No DocID's
 * UTF-8 holds a 0xff byte, so `time ‖ 0xff` lies after every key at exactly `after`.
 */
export function timeSpan (field: TimeField, after: number | undefined, before: number | undefined): KeyRange {
  const prefix = Uint8Array.of(TIME, TIME_FIELDS[field], PRESENT)
  const all = prefixRange(prefix)
  return {
    gte: after === undefined ? all.gte : concat(prefix, encodeTime(after), Uint8Array.of(0xff)),
    lt: before === undefined ? all.lt : concat(prefix, encodeTime(before))
  }
}

/** The time and DocID of a time key of the range `present` says. */
export function decodeTimeKey (key: Uint8Array, present: boolean): { time: number | undefined, docId: string } {
  if (!present) return { time: undefined, docId: utf8Decoder.decode(key.subarray(TIME_PREFIX_ABSENT)) }
  return { time: decodeTime(key.subarray(3, TIME_PREFIX_PRESENT)), docId: utf8Decoder.decode(key.subarray(TIME_PREFIX_PRESENT)) }
}

/** The DocID at the end of a key that starts with `prefix`. */
export function docIdAfter (key: Uint8Array, prefixLength: number): string {
  return utf8Decoder.decode(key.subarray(prefixLength))
}

/** A float64 as 8 bytes whose byte order is numeric order: the sign bit flipped for positives, every bit for negatives. */
export function encodeTime (time: number): Uint8Array {
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setFloat64(0, time === 0 ? 0 : time)
  if ((bytes[0]! & 0x80) === 0) bytes[0]! |= 0x80
  else for (let i = 0; i < 8; i++) bytes[i] = ~bytes[i]! & 0xff
  return bytes
}

function decodeTime (bytes: Uint8Array): number {
  // A copy of its own: LevelDB hands back Buffers, whose slice() shares a pooled ArrayBuffer.
  const copy = Uint8Array.from(bytes)
  if ((copy[0]! & 0x80) !== 0) copy[0]! &= 0x7f
  else for (let i = 0; i < 8; i++) copy[i] = ~copy[i]! & 0xff
  return new DataView(copy.buffer).getFloat64(0)
}

/** The document ID of a head, status or pin key. Throws on bytes that are not UTF-8. */
export function docIdOfKey (key: Uint8Array): string {
  return utf8Decoder.decode(key.subarray(1))
}

/** A log position as 8 big-endian bytes: byte order is numeric order. */
export function encodeSeq (seq: number): Uint8Array {
  const bytes = new Uint8Array(SEQ_BYTES)
  new DataView(bytes.buffer).setBigUint64(0, BigInt(seq))
  return bytes
}

/** The log position in the last 8 bytes of `bytes` (a log entry or checkpoint key, or a commit-index value). */
export function decodeSeq (bytes: Uint8Array): number {
  if (bytes.byteLength < SEQ_BYTES) throw new RangeError(`A log position needs ${SEQ_BYTES} bytes, got ${bytes.byteLength}`)
  const tail = bytes.subarray(bytes.byteLength - SEQ_BYTES)
  return Number(new DataView(tail.buffer, tail.byteOffset, SEQ_BYTES).getBigUint64(0))
}

/** The bytes of a document ID inside range keys: u32 big-endian length, then UTF-8. */
export function docIdBytes (docId: string): Uint8Array {
  const id = utf8.encode(docId)
  const length = new Uint8Array(4)
  new DataView(length.buffer).setUint32(0, id.byteLength)
  return concat(length, id)
}

/** Every key that starts with `prefix`: from the prefix itself up to (not including) the next prefix. */
export function prefixRange (prefix: Uint8Array): KeyRange {
  const end = prefix.slice()
  let i = end.length - 1
  while (i >= 0 && end[i] === 0xff) i--
  // A prefix of only 0xff bytes has no successor; none of ours is one (each starts with an ASCII letter).
  end[i] = (end[i] ?? 0) + 1
  return { gte: prefix, lt: end.subarray(0, i + 1) }
}

/** Joins byte arrays into a new one. */
export const concat = concatBytes

function seqRange (kind: number, docId: string, from: number, to: number | undefined): KeyRange {
  const prefix = concat(Uint8Array.of(kind), docIdBytes(docId))
  return { gte: concat(prefix, encodeSeq(from)), lt: to === undefined ? prefixRange(prefix).lt : concat(prefix, encodeSeq(to)) }
}
