import { CodecError, LimitExceededError } from '@kiln/interface'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { compareKeys, inSyncRange, MAX_SYNC_KEY_BYTES, parseSyncKey, type SyncRange } from './keys.js'
import { SYNC_HASH_BYTES, type SyncSummary } from './summary.js'
import { syncFilterOf, type SyncFilter } from './interests.js'

// The messages of /kiln/sync/1.0.0: one dag-cbor map each, `type` naming it. The decoder is the first thing that reads
// a peer's bytes, so it checks everything it can without state: sizes first, then shape, then that the bytes are the
// canonical encoding of what they hold (so a message has one encoding, and what is accepted re-encodes to itself).

/** The protocol's version, `[major, minor]`: a peer of another major is refused, a newer minor is understood. */
export const SYNC_PROTOCOL_VERSION: readonly [number, number] = Object.freeze([1, 1]) as readonly [number, number]
/** The largest message read or written. */
export const MAX_SYNC_MESSAGE_BYTES = 1024 * 1024
/** The most items in one message: interests, ranges, keys (over all ranges), wanted keys, entries or blocks. */
export const MAX_SYNC_MESSAGE_ITEMS = 1000
/** The longest network name a hello may carry, in UTF-8 bytes. */
export const MAX_SYNC_NETWORK_BYTES = 256
/** The longest reason an error message may carry, in UTF-8 bytes. */
export const MAX_SYNC_REASON_BYTES = 1024

/**
 * The first message each side sends: its protocol version, its network, the ranges of keys it is interested in and,
 * since 1.1, the filter its documents must also pass (left out when it has none, so a 1.0 peer reads the hello).
 */
export interface SyncHelloMessage { type: 'hello', version: [number, number], network: string, interests: SyncRange[], filter?: SyncFilter }
/** A range the sender summarises: `count` keys whose hashes sum to `hash`. */
export interface SyncSummaryItem extends SyncRange, SyncSummary {}
/** A range the sender lists in full: every key it holds in `[start, end)`, in order. */
export interface SyncKeysItem extends SyncRange { keys: Uint8Array[] }
/** One range of a `ranges` message. */
export type SyncRangeItem = SyncSummaryItem | SyncKeysItem
/** The sender's view of some ranges: each summarised or listed; ranges in order and not overlapping. */
export interface SyncRangesMessage { type: 'ranges', items: SyncRangeItem[] }
/** Keys whose commits the sender lacks and asks for. */
export interface SyncWantMessage { type: 'want', keys: Uint8Array[] }
/** One block of a commit: its CID and bytes (checked against each other by the receiver, not here). */
export interface SyncBlock { cid: CID, bytes: Uint8Array }
/**
 * The blocks of wanted commits, by key, each with its document's DocID (a key holds only a hash of the genesis, and a
 * DocID also names the doctype), checked by the receiver against the key.
 */
export interface SyncBlocksMessage { type: 'blocks', entries: Array<{ key: Uint8Array, doc: string, blocks: SyncBlock[] }> }
/** The sender has nothing more to say in this phase. */
export interface SyncDoneMessage { type: 'done' }
/** The sender ends the session, and why. */
export interface SyncErrorMessage { type: 'error', reason: string }
/** Any message of the sync protocol. */
export type SyncMessage = SyncHelloMessage | SyncRangesMessage | SyncWantMessage | SyncBlocksMessage | SyncDoneMessage | SyncErrorMessage

/** Whether a range item is listed in full (rather than summarised). */
export function isSyncKeysItem (item: SyncRangeItem): item is SyncKeysItem {
  return 'keys' in item
}

const utf8 = new TextEncoder()

/** The plain object dag-cbor writes for `message`: only the fields of its type, so extra properties never travel. */
function wireOf (message: SyncMessage): Record<string, unknown> {
  const range = (r: SyncRange): Record<string, unknown> => ({ start: r.start, end: r.end })
  switch (message.type) {
    case 'hello': return {
      type: 'hello',
      version: [message.version[0], message.version[1]],
      network: message.network,
      interests: message.interests.map(range),
      ...(message.filter === undefined ? {} : { filter: filterWire(message.filter) })
    }
    case 'ranges': return {
      type: 'ranges',
      items: message.items.map((item) => isSyncKeysItem(item)
        ? { start: item.start, end: item.end, keys: item.keys }
        : { start: item.start, end: item.end, count: item.count, hash: item.hash })
    }
    case 'want': return { type: 'want', keys: message.keys }
    case 'blocks': return { type: 'blocks', entries: message.entries.map((e) => ({ key: e.key, doc: e.doc, blocks: e.blocks.map((b) => ({ cid: b.cid, bytes: b.bytes })) })) }
    case 'done': return { type: 'done' }
    case 'error': return { type: 'error', reason: message.reason }
  }
}

/** A filter's wire form: only its lists that are there. */
function filterWire (filter: SyncFilter): Record<string, unknown> {
  return {
    ...(filter.schemas === undefined ? {} : { schemas: filter.schemas }),
    ...(filter.controllers === undefined ? {} : { controllers: filter.controllers }),
    ...(filter.docs === undefined ? {} : { docs: filter.docs })
  }
}

/** The bytes of `message`; refuses one over the caps with `LimitExceededError` and one of a bad shape with `CodecError`. */
export function encodeSyncMessage (message: SyncMessage): Uint8Array {
  const wire = wireOf(message)
  // what this node sends is held to the rules it holds its peers to
  const checked = messageOf(wire)
  const bytes = dagCbor.encode(wireOf(checked))
  if (bytes.length > MAX_SYNC_MESSAGE_BYTES) tooLarge(`${bytes.length} bytes`, bytes.length, MAX_SYNC_MESSAGE_BYTES)
  return bytes
}

/** The message in `bytes`; refuses malformed or non-canonical input with `CodecError`, oversized with `LimitExceededError`. */
export function decodeSyncMessage (bytes: Uint8Array): SyncMessage {
  if (!(bytes instanceof Uint8Array)) fail('not bytes')
  if (bytes.length > MAX_SYNC_MESSAGE_BYTES) tooLarge(`${bytes.length} bytes`, bytes.length, MAX_SYNC_MESSAGE_BYTES)
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    fail(`not dag-cbor: ${(err as Error).message}`)
  }
  const message = messageOf(value)
  // A `blocks` message is not encoded again to compare: each of its blocks is checked against its CID before use, and
  // re-encoding up to a megabyte of them would double the cost of reading it.
  if (message.type === 'blocks') return message
  const again = dagCbor.encode(wireOf(message))
  if (again.length !== bytes.length || compareKeys(again, bytes) !== 0) fail('not the canonical dag-cbor encoding of its content')
  return message
}

function fail (reason: string, details: Record<string, unknown> = {}): never {
  throw new CodecError(`Invalid sync message: ${reason}`, { details })
}

function tooLarge (what: string, value: number, limit: number): never {
  throw new LimitExceededError(`A sync message with ${what} is over the limit of ${limit}`, { details: { value, limit } })
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) && CID.asCID(value) === null
}

/** `value` as a map with exactly the fields `names`. */
function record (value: unknown, names: readonly string[], where: string): Record<string, unknown> {
  if (!isRecord(value)) fail(`${where} must be a map`, { field: where })
  const keys = Object.keys(value)
  if (keys.length !== names.length || !names.every((name) => Object.hasOwn(value, name))) {
    fail(`${where} must have exactly the fields ${names.join(', ')}`, { field: where, fields: keys.slice(0, 16) })
  }
  return value
}

function list (value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) fail(`${where} must be a list`, { field: where })
  if (value.length > MAX_SYNC_MESSAGE_ITEMS) tooLarge(`${value.length} ${where}`, value.length, MAX_SYNC_MESSAGE_ITEMS)
  return value
}

function bytesOf (value: unknown, where: string, max = MAX_SYNC_KEY_BYTES): Uint8Array {
  if (!(value instanceof Uint8Array)) fail(`${where} must be bytes`, { field: where })
  if (value.length > max) fail(`${where} is ${value.length} bytes, more than ${max}`, { field: where, bytes: value.length })
  return value
}

function key (value: unknown, where: string): Uint8Array {
  const bytes = bytesOf(value, where)
  parseSyncKey(bytes)
  return bytes
}

function text (value: unknown, where: string, max: number): string {
  if (typeof value !== 'string') fail(`${where} must be a string`, { field: where })
  if (utf8.encode(value).length > max) fail(`${where} is longer than ${max} bytes`, { field: where })
  return value
}

function u32 (value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) fail(`${where} must be an integer from 0 to 2^32-1`, { field: where })
  return value
}

/** A range with `start < end`. */
function range (value: Record<string, unknown>, where: string): SyncRange {
  const start = bytesOf(value.start, `${where}.start`)
  const end = bytesOf(value.end, `${where}.end`)
  if (compareKeys(start, end) >= 0) fail(`${where} is empty: start is not below end`, { field: where })
  return { start, end }
}

/** Ranges in order, each starting at or after the end of the one before. */
function ordered<T extends SyncRange> (ranges: T[], where: string): T[] {
  for (let i = 1; i < ranges.length; i++) {
    if (compareKeys(ranges[i - 1]!.end, ranges[i]!.start) > 0) fail(`${where} must be in order and not overlap`, { field: where, at: i })
  }
  return ranges
}

/** Keys in strictly ascending order. */
function ascending (keys: Uint8Array[], where: string): Uint8Array[] {
  for (let i = 1; i < keys.length; i++) {
    if (compareKeys(keys[i - 1]!, keys[i]!) >= 0) fail(`${where} must be in strictly ascending order`, { field: where, at: i })
  }
  return keys
}

function item (value: unknown, where: string): SyncRangeItem {
  if (isRecord(value) && Object.hasOwn(value, 'keys')) {
    const fields = record(value, ['start', 'end', 'keys'], where)
    const r = range(fields, where)
    const keys = ascending(list(fields.keys, `${where}.keys`).map((k, i) => key(k, `${where}.keys[${i}]`)), `${where}.keys`)
    keys.forEach((k, i) => { if (!inSyncRange(r, k)) fail(`${where}.keys[${i}] is outside its range`, { field: `${where}.keys` }) })
    return { ...r, keys }
  }
  const fields = record(value, ['start', 'end', 'count', 'hash'], where)
  const r = range(fields, where)
  const count = fields.count
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) fail(`${where}.count must be a non-negative integer`, { field: `${where}.count` })
  const hash = bytesOf(fields.hash, `${where}.hash`, SYNC_HASH_BYTES)
  if (hash.length !== SYNC_HASH_BYTES) fail(`${where}.hash must be ${SYNC_HASH_BYTES} bytes`, { field: `${where}.hash` })
  return { ...r, count, hash }
}

function block (value: unknown, where: string): SyncBlock {
  const fields = record(value, ['cid', 'bytes'], where)
  const cid = CID.asCID(fields.cid)
  if (cid === null) fail(`${where}.cid must be a CID`, { field: `${where}.cid` })
  return { cid, bytes: bytesOf(fields.bytes, `${where}.bytes`, MAX_SYNC_MESSAGE_BYTES) }
}

/** The message `value` holds, checked field by field. */
function messageOf (value: unknown): SyncMessage {
  if (!isRecord(value)) fail('a message must be a map')
  switch (value.type) {
    case 'hello': {
      const fields = record(value, Object.hasOwn(value, 'filter') ? ['type', 'version', 'network', 'interests', 'filter'] : ['type', 'version', 'network', 'interests'], 'hello')
      const version = list(fields.version, 'hello.version')
      if (version.length !== 2) fail('hello.version must be [major, minor]', { field: 'hello.version' })
      const interests = list(fields.interests, 'hello.interests').map((r, i) => range(record(r, ['start', 'end'], `hello.interests[${i}]`), `hello.interests[${i}]`))
      return {
        type: 'hello',
        version: [u32(version[0], 'hello.version[0]'), u32(version[1], 'hello.version[1]')],
        network: text(fields.network, 'hello.network', MAX_SYNC_NETWORK_BYTES),
        interests,
        ...(Object.hasOwn(fields, 'filter') ? { filter: syncFilterOf(fields.filter) } : {})
      }
    }
    case 'ranges': {
      const fields = record(value, ['type', 'items'], 'ranges')
      const items = ordered(list(fields.items, 'ranges.items').map((it, i) => item(it, `ranges.items[${i}]`)), 'ranges.items')
      const keys = items.reduce((n, it) => n + (isSyncKeysItem(it) ? it.keys.length : 0), 0)
      if (items.length + keys > MAX_SYNC_MESSAGE_ITEMS) tooLarge(`${items.length} ranges and ${keys} keys`, items.length + keys, MAX_SYNC_MESSAGE_ITEMS)
      return { type: 'ranges', items }
    }
    case 'want': {
      const fields = record(value, ['type', 'keys'], 'want')
      return { type: 'want', keys: ascending(list(fields.keys, 'want.keys').map((k, i) => key(k, `want.keys[${i}]`)), 'want.keys') }
    }
    case 'blocks': {
      const fields = record(value, ['type', 'entries'], 'blocks')
      let blocks = 0
      const entries = list(fields.entries, 'blocks.entries').map((e, i) => {
        const entry = record(e, ['key', 'doc', 'blocks'], `blocks.entries[${i}]`)
        const list_ = list(entry.blocks, `blocks.entries[${i}].blocks`).map((b, j) => block(b, `blocks.entries[${i}].blocks[${j}]`))
        blocks += list_.length
        if (blocks > MAX_SYNC_MESSAGE_ITEMS) tooLarge(`more than ${MAX_SYNC_MESSAGE_ITEMS} blocks`, blocks, MAX_SYNC_MESSAGE_ITEMS)
        return { key: key(entry.key, `blocks.entries[${i}].key`), doc: text(entry.doc, `blocks.entries[${i}].doc`, 256), blocks: list_ }
      })
      return { type: 'blocks', entries }
    }
    case 'done':
      record(value, ['type'], 'done')
      return { type: 'done' }
    case 'error': {
      const fields = record(value, ['type', 'reason'], 'error')
      return { type: 'error', reason: text(fields.reason, 'error.reason', MAX_SYNC_REASON_BYTES) }
    }
    default:
      return fail(`unknown type ${JSON.stringify(String(value.type)).slice(0, 40)}`, { field: 'type' })
  }
}
