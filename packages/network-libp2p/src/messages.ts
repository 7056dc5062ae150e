import { CodecError, LimitExceededError } from '@kiln/interface'
import { parseCID } from '@kiln/codec'
import { isCommitID, parseDocOrCommitID } from '@kiln/docid'
import * as dagCbor from '@ipld/dag-cbor'
import { base64url } from 'multiformats/bases/base64'
import { sha256 } from 'multiformats/hashes/sha2'
import type { CID } from 'multiformats/cid'

/** The message types of Ceramic's pubsub topic (`typ`). */
export const MessageType = Object.freeze({ UPDATE: 0, QUERY: 1, RESPONSE: 2, KEEPALIVE: 3 } as const)

/** A new tip of a document. */
export interface UpdateMessage { typ: 0, stream: string, tip: CID, model?: string }
/** A question: which tip do you hold for `stream`? `id` is {@link queryId} of the stream. */
export interface QueryMessage { typ: 1, id: string, stream: string }
/** The answer to the query `id`: tips by stream. */
export interface ResponseMessage { typ: 2, id: string, tips: Map<string, CID> }
/** A sign of life, with the sender's versions. */
export interface KeepaliveMessage { typ: 3, ts: number, ver: string, ipfsVer: string }
/** Any message of the topic. */
export type PubsubMessage = UpdateMessage | QueryMessage | ResponseMessage | KeepaliveMessage

/** The largest message Kiln reads or writes: a RESPONSE naming a few documents fits many times over. */
export const MAX_MESSAGE_BYTES = 64 * 1024
/** The most tips one RESPONSE may carry. */
export const MAX_RESPONSE_TIPS = 100

const decoder = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/**
 * The id of a QUERY for `stream`, as Ceramic computes it: base64url (no multibase prefix) of the sha2-256 multihash of
 * the dag-cbor encoding of `{typ: 1, stream}`. Every node computes the same id, so a RESPONSE names its question.
 */
export async function queryId (stream: string): Promise<string> {
  const digest = await sha256.digest(dagCbor.encode({ typ: MessageType.QUERY, stream }))
  return base64url.baseEncode(digest.bytes)
}

/** The bytes of a message on the topic: UTF-8 JSON, CIDs as strings, as js-ceramic writes them. */
export function encodeMessage (message: PubsubMessage): Uint8Array {
  let json: Record<string, unknown>
  switch (message.typ) {
    case MessageType.UPDATE:
      json = { typ: message.typ, stream: message.stream, tip: message.tip.toString() }
      if (message.model !== undefined) json.model = message.model
      break
    case MessageType.QUERY:
      json = { typ: message.typ, id: message.id, stream: message.stream }
      break
    case MessageType.RESPONSE:
      json = { typ: message.typ, id: message.id, tips: Object.fromEntries([...message.tips].map(([stream, tip]) => [stream, tip.toString()])) }
      break
    case MessageType.KEEPALIVE:
      json = { typ: message.typ, ts: message.ts, ver: message.ver, ipfsVer: message.ipfsVer }
      break
  }
  const bytes = encoder.encode(JSON.stringify(json))
  if (bytes.length > MAX_MESSAGE_BYTES) throw new LimitExceededError(`A pubsub message of ${bytes.length} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`, { details: { bytes: bytes.length, limit: MAX_MESSAGE_BYTES } })
  return bytes
}

function fail (reason: string, details: Record<string, unknown> = {}): never {
  throw new CodecError(`Invalid pubsub message: ${reason}`, { details })
}

function field (json: Record<string, unknown>, name: string, type: 'string' | 'number'): unknown {
  const value = json[name]
  if (typeof value !== type) fail(`${name} must be a ${type}`, { field: name })
  return value
}

/** A DocID string as the topic carries it: the canonical base36 form of a DocID (not a CommitID). */
function streamField (json: Record<string, unknown>, name = 'stream'): string {
  return docIdString(field(json, name, 'string') as string, name)
}

function docIdString (value: string, name: string): string {
  let id
  try {
    id = parseDocOrCommitID(value)
  } catch (err) {
    throw new CodecError(`Invalid pubsub message: ${name} is not a DocID`, { cause: err, details: { field: name } })
  }
  if (isCommitID(id) || id.toString() !== value) fail(`${name} is not a DocID in its canonical form`, { field: name })
  return value
}

function cidField (value: unknown, name: string): CID {
  try {
    return parseCID(value, name)
  } catch (err) {
    throw new CodecError(`Invalid pubsub message: ${name} is not a CID`, { cause: err, details: { field: name } })
  }
}

/**
 * Reads a message from the topic. Malformed input (not UTF-8 JSON, an unknown `typ`, a missing or mistyped field, an
 * id that is not a DocID, a tip that is not a CID) is a `CodecError`; an oversized one is a `LimitExceededError`.
 * Fields Kiln does not know are ignored, as js-ceramic ignores them.
 */
export function decodeMessage (bytes: Uint8Array): PubsubMessage {
  if (bytes.length > MAX_MESSAGE_BYTES) throw new LimitExceededError(`A pubsub message of ${bytes.length} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit`, { details: { bytes: bytes.length, limit: MAX_MESSAGE_BYTES } })
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    throw new CodecError('Invalid pubsub message: not UTF-8 JSON', { cause: err })
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('not a JSON object')
  const value = json as Record<string, unknown>
  switch (value.typ) {
    case MessageType.UPDATE: {
      const message: UpdateMessage = { typ: 0, stream: streamField(value), tip: cidField(value.tip, 'tip') }
      if (value.model !== undefined && value.model !== null) message.model = docIdString(field(value, 'model', 'string') as string, 'model')
      return message
    }
    case MessageType.QUERY:
      return { typ: 1, id: field(value, 'id', 'string') as string, stream: streamField(value) }
    case MessageType.RESPONSE: {
      const id = field(value, 'id', 'string') as string
      const tips = value.tips
      if (tips === null || typeof tips !== 'object' || Array.isArray(tips)) fail('tips must be an object', { field: 'tips' })
      const entries = Object.entries(tips)
      if (entries.length > MAX_RESPONSE_TIPS) fail(`tips names ${entries.length} streams, over ${MAX_RESPONSE_TIPS}`, { field: 'tips' })
      return { typ: 2, id, tips: new Map(entries.map(([stream, tip]) => [docIdString(stream, 'tips'), cidField(tip, 'tips')])) }
    }
    case MessageType.KEEPALIVE: {
      const ts = field(value, 'ts', 'number') as number
      if (!Number.isFinite(ts)) fail('ts must be a finite number', { field: 'ts' })
      return { typ: 3, ts, ver: field(value, 'ver', 'string') as string, ipfsVer: field(value, 'ipfsVer', 'string') as string }
    }
    default:
      return fail(`unknown typ ${JSON.stringify(value.typ) ?? String(value.typ)}`, { field: 'typ' })
  }
}
