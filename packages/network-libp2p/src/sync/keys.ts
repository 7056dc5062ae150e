import { sha256 } from '#platform/bytes'
import { CodecError } from '@kiln/interface'
import { CID } from 'multiformats/cid'

// The keys of catch-up sync: one per commit a node holds, laid out so that bytewise order is the order that matters.
//
//   offset  length  field
//   0       1       version: 1
//   1       8       network: the first 8 bytes of sha256(UTF-8 network name)
//   9       8       family: the first 8 bytes of sha256(UTF-8 family name, "" when none)
//   17      32      document: sha256(bytes of the genesis commit's CID)
//   49      4       height: big-endian u32, 0 for the genesis commit
//   53      …       commit: the bytes of the commit's CID (exactly one CID, nothing after it)
//
// A network, a family within it and a document within that are each a fixed-length prefix, so every interest is a
// half-open byte range; within a document, commits sort by height, so a peer that lists keys in order lists each
// commit after the ones it depends on. sha256 comes from node:crypto because keys and summaries are computed
// synchronously, in the sorted store's hot path (multiformats' hasher may be asynchronous).

/** The version byte every key starts with. */
export const SYNC_KEY_VERSION = 1
/** The bytes before the commit CID: version, network, family, document, height. */
export const SYNC_KEY_PREFIX_BYTES = 1 + 8 + 8 + 32 + 4
/** The longest key Kiln writes or reads: the prefix and a CID of at most 203 bytes. */
export const MAX_SYNC_KEY_BYTES = 256
/** The largest height a key can carry (a u32). */
export const MAX_SYNC_HEIGHT = 0xffff_ffff

const NETWORK_AT = 1
const FAMILY_AT = 9
const DOCUMENT_AT = 17
const HEIGHT_AT = 49
const encoder = new TextEncoder()

/** A half-open range of keys, `[start, end)`, compared bytewise; both ends are byte strings, not necessarily keys. */
export interface SyncRange {
  start: Uint8Array
  end: Uint8Array
}

/** What a key is made of: the commit, its document's genesis and height, and the network and family it belongs to. */
export interface SyncKeyParts {
  network: string
  /** The document's family (its model, schema or any grouping peers subscribe to); `""` when it has none. */
  family?: string
  genesis: CID
  height: number
  commit: CID
}

/** A key read back: the hashed prefix fields as bytes (names cannot be recovered from them), height and commit. */
export interface ParsedSyncKey {
  version: number
  /** 8 bytes. */
  network: Uint8Array
  /** 8 bytes. */
  family: Uint8Array
  /** 32 bytes: sha256 of the genesis CID's bytes. */
  document: Uint8Array
  height: number
  commit: CID
}

/** The 8 bytes that stand for a network or family name in a key. */
function nameHash (name: string): Uint8Array {
  return sha256(encoder.encode(name)).subarray(0, 8)
}

/** The 32 bytes that stand for a document in a key: sha256 of its genesis CID's bytes. */
export function syncDocumentHash (genesis: CID): Uint8Array {
  return sha256(genesis.bytes)
}

/** The first `length` bytes of the key layout for `network`, `family` and `genesis` (as far as given). */
function prefix (network: string, family?: string, genesis?: CID): Uint8Array {
  const length = genesis !== undefined ? HEIGHT_AT : family !== undefined ? DOCUMENT_AT : FAMILY_AT
  const bytes = new Uint8Array(length)
  bytes[0] = SYNC_KEY_VERSION
  bytes.set(nameHash(network), NETWORK_AT)
  if (family !== undefined) bytes.set(nameHash(family), FAMILY_AT)
  if (genesis !== undefined) bytes.set(syncDocumentHash(genesis), DOCUMENT_AT)
  return bytes
}

/** The key of one commit: see the layout at the top of this file and in docs/sync.md. */
export function syncKey (parts: SyncKeyParts): Uint8Array {
  const { height, commit } = parts
  if (!Number.isInteger(height) || height < 0 || height > MAX_SYNC_HEIGHT) {
    throw new CodecError(`A sync key's height must be an integer from 0 to ${MAX_SYNC_HEIGHT}, got ${height}`, { details: { field: 'height', value: height } })
  }
  const head = prefix(parts.network, parts.family ?? '', parts.genesis)
  const key = new Uint8Array(SYNC_KEY_PREFIX_BYTES + commit.bytes.length)
  if (key.length > MAX_SYNC_KEY_BYTES) {
    throw new CodecError(`The commit CID ${commit.toString()} is too long for a sync key (${key.length} bytes, at most ${MAX_SYNC_KEY_BYTES})`, { details: { commit: commit.toString(), bytes: key.length } })
  }
  key.set(head, 0)
  new DataView(key.buffer).setUint32(HEIGHT_AT, height, false)
  key.set(commit.bytes, SYNC_KEY_PREFIX_BYTES)
  return key
}

function malformed (reason: string, details: Record<string, unknown> = {}): never {
  throw new CodecError(`Invalid sync key: ${reason}`, { details })
}

/** Reads a key back; refuses anything that is not exactly one key of this version with `CodecError`. */
export function parseSyncKey (bytes: Uint8Array): ParsedSyncKey {
  if (!(bytes instanceof Uint8Array)) malformed('not bytes')
  if (bytes.length > MAX_SYNC_KEY_BYTES) malformed(`${bytes.length} bytes, more than ${MAX_SYNC_KEY_BYTES}`, { bytes: bytes.length })
  if (bytes.length <= SYNC_KEY_PREFIX_BYTES) malformed(`${bytes.length} bytes, too short to hold a commit CID`, { bytes: bytes.length })
  if (bytes[0] !== SYNC_KEY_VERSION) malformed(`version ${bytes[0]}, expected ${SYNC_KEY_VERSION}`, { version: bytes[0] })
  let commit: CID
  let rest: Uint8Array
  try {
    [commit, rest] = CID.decodeFirst(bytes.subarray(SYNC_KEY_PREFIX_BYTES))
  } catch (err) {
    malformed(`the commit CID does not decode: ${(err as Error).message}`)
  }
  if (rest.length !== 0) malformed(`${rest.length} bytes after the commit CID`, { trailing: rest.length })
  // a CID with another encoding of the same value (e.g. a non-minimal varint) would be a second key for one commit
  if (commit.bytes.length !== bytes.length - SYNC_KEY_PREFIX_BYTES) malformed('the commit CID is not in its canonical form')
  return {
    version: SYNC_KEY_VERSION,
    network: bytes.slice(NETWORK_AT, FAMILY_AT),
    family: bytes.slice(FAMILY_AT, DOCUMENT_AT),
    document: bytes.slice(DOCUMENT_AT, HEIGHT_AT),
    height: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(HEIGHT_AT, false),
    commit
  }
}

/** Bytewise order of two byte strings (a proper prefix sorts first): negative, zero or positive. */
export function compareKeys (a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** Whether `key` lies in the half-open `range`. */
export function inSyncRange (range: SyncRange, key: Uint8Array): boolean {
  return compareKeys(range.start, key) <= 0 && compareKeys(key, range.end) < 0
}

/**
 * The smallest byte string greater than every string that starts with `prefix`: the prefix with its last byte below
 * 0xff incremented and what follows dropped. Every prefix here starts with the version byte 1, so one always exists.
 */
function prefixEnd (prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1)
      end[i]!++
      return end
    }
  }
  return malformed('a prefix of only 0xff bytes has no end')
}

/** Every key of this version: `[0x01, 0x02)`. */
export function syncKeySpace (): SyncRange {
  return { start: Uint8Array.of(SYNC_KEY_VERSION), end: Uint8Array.of(SYNC_KEY_VERSION + 1) }
}

/** Every key of `network`. */
export function networkRange (network: string): SyncRange {
  const start = prefix(network)
  return { start, end: prefixEnd(start) }
}

/** Every key of `family` in `network` (`""`: the documents without a family). */
export function familyRange (network: string, family: string): SyncRange {
  const start = prefix(network, family)
  return { start, end: prefixEnd(start) }
}

/** Every key of the document whose genesis is `genesis`, in `family` of `network`. */
export function documentRange (network: string, family: string, genesis: CID): SyncRange {
  const start = prefix(network, family, genesis)
  return { start, end: prefixEnd(start) }
}
