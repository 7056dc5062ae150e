import type { CID } from 'multiformats/cid'

// Every record lives in one LevelDB keyspace with binary keys; the first byte says what a key holds. A document's ID
// is written length-first (u32 big-endian, then UTF-8), so no DocID's keys can fall inside another's range, whatever
// characters the IDs hold ('doc' and 'doc1' do not share a prefix). See the README for the full table.

const BLOCK = 0x62 // 'b' ‖ CID bytes                         → block bytes
const STATE = 0x73 // 's' ‖ docId                             → dag-cbor DocState
const PIN = 0x70 // 'p' ‖ docId                               → empty
const LOG = 0x6c // 'l' ‖ docId ‖ seq (u64 big-endian)        → CID bytes
const NEXT = 0x6e // 'n' ‖ docId                              → the next log seq (u64 big-endian)
/** The single key holding the layout version. */
export const LAYOUT_KEY = Uint8Array.of(0x76) // 'v'
/** The layout this package reads and writes. */
export const LAYOUT_VERSION = 1

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })
const SEQ_BYTES = 8

/** Key of a block: the full CID bytes, so a CID of another codec or version is another block. */
export function blockKey (cid: CID): Uint8Array {
  return concat(Uint8Array.of(BLOCK), cid.bytes)
}

/** Key of a document's state. */
export function stateKey (docId: string): Uint8Array {
  return concat(Uint8Array.of(STATE), utf8.encode(docId))
}

/** Key holding the next log sequence number of a document: one point read instead of a reverse seek. */
export function nextSeqKey (docId: string): Uint8Array {
  return concat(Uint8Array.of(NEXT), utf8.encode(docId))
}

/** Key of a pin: present when the document is pinned. */
export function pinKey (docId: string): Uint8Array {
  return concat(Uint8Array.of(PIN), utf8.encode(docId))
}

/** Key of the `seq`-th entry of a document's log index. */
export function logKey (docId: string, seq: number): Uint8Array {
  return concat(logPrefix(docId), encodeSeq(seq))
}

/** The range of every log index key of a document, for iterating in order. */
export function logRange (docId: string): { gte: Uint8Array, lte: Uint8Array } {
  const prefix = logPrefix(docId)
  return { gte: concat(prefix, new Uint8Array(SEQ_BYTES)), lte: concat(prefix, new Uint8Array(SEQ_BYTES).fill(0xff)) }
}

/** The range of every state key: one per document with a state. */
export function stateRange (): { gte: Uint8Array, lt: Uint8Array } {
  return prefixRange(Uint8Array.of(STATE))
}

/** The range of every pin key. */
export function pinRange (): { gte: Uint8Array, lt: Uint8Array } {
  return prefixRange(Uint8Array.of(PIN))
}

/** The document ID of a state or pin key. Throws on bytes that are not UTF-8. */
export function docIdOfKey (key: Uint8Array): string {
  return utf8Decoder.decode(key.subarray(1))
}

/** A log sequence number as 8 big-endian bytes: byte order is numeric order. */
export function encodeSeq (seq: number): Uint8Array {
  const bytes = new Uint8Array(SEQ_BYTES)
  new DataView(bytes.buffer).setBigUint64(0, BigInt(seq))
  return bytes
}

/** The sequence number at the end of a log key. */
export function decodeSeq (bytes: Uint8Array): number {
  if (bytes.byteLength < SEQ_BYTES) throw new RangeError(`A sequence number needs ${SEQ_BYTES} bytes, got ${bytes.byteLength}`)
  const tail = bytes.subarray(bytes.byteLength - SEQ_BYTES)
  return Number(new DataView(tail.buffer, tail.byteOffset, SEQ_BYTES).getBigUint64(0))
}

function logPrefix (docId: string): Uint8Array {
  return concat(Uint8Array.of(LOG), docIdBytes(docId))
}


function docIdBytes (docId: string): Uint8Array {
  const id = utf8.encode(docId)
  const length = new Uint8Array(4)
  new DataView(length.buffer).setUint32(0, id.byteLength)
  return concat(length, id)
}

// Every key that starts with `prefix`: from the prefix itself up to (not including) the next prefix.
function prefixRange (prefix: Uint8Array): { gte: Uint8Array, lt: Uint8Array } {
  const end = prefix.slice()
  let i = end.length - 1
  while (i >= 0 && end[i] === 0xff) i--
  // A prefix of only 0xff bytes has no successor; none of ours is one (each starts with an ASCII letter).
  end[i] = (end[i] ?? 0) + 1
  return { gte: prefix, lt: end.subarray(0, i + 1) }
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}
