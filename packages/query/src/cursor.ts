import { InvalidQueryError } from '@kiln/interface'
import type { QuerySort } from '@kiln/interface'
import type { SortPosition } from './sort.js'

/** Longest cursor accepted, in characters: a position holds one key of at most 1 KiB and a DocID. */
export const MAX_CURSOR_LENGTH = 8192

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })
const BASE64URL = /^[A-Za-z0-9_-]*$/

/** The sort a cursor was made under, as it holds it: a cursor of another sort is refused. */
function fingerprint (sort: QuerySort): unknown[] {
  return sort.by === 'content' ? [sort.by, sort.order, ...sort.path] : [sort.by, sort.order]
}

/** The opaque cursor of `position` under `sort`: base64url of JSON `{ s: <the sort>, k: <key>, id: <DocID> }`. */
export function encodeCursor (sort: QuerySort, position: SortPosition): string {
  return toBase64url(utf8.encode(JSON.stringify({ s: fingerprint(sort), k: position.key, id: position.id })))
}

/** The position a cursor holds; `InvalidQueryError` (field `after`) when it is malformed or was made under another sort. */
export function decodeCursor (cursor: unknown, sort: QuerySort): SortPosition {
  const bad = (reason: string): InvalidQueryError => new InvalidQueryError(`The cursor in "after" ${reason}: pass the endCursor of a page of the same query`, {
    details: { field: 'after' }
  })
  if (typeof cursor !== 'string') throw bad('is not a string')
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor) || cursor.length % 4 === 1) {
    throw bad('is not a cursor (base64url of at most 8192 characters)')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(utf8Decoder.decode(fromBase64url(cursor)))
  } catch {
    throw bad('is not a cursor (it does not decode)')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad('is not a cursor')
  const { s, k, id } = parsed as { s?: unknown, k?: unknown, id?: unknown }
  if (Object.keys(parsed).length !== 3 || typeof id !== 'string' || id.length === 0) throw bad('is not a cursor')
  if (JSON.stringify(s) !== JSON.stringify(fingerprint(sort))) throw bad('was made for another sort')
  const timeKey = sort.by !== 'content'
  const keyOk = k === null
    ? sort.by === 'anchored' || sort.by === 'content'
    : (typeof k === 'number' && Number.isFinite(k)) || (typeof k === 'string' && !timeKey)
  if (!keyOk) throw bad('holds a key its sort cannot have')
  return { key: k as number | string | null, id }
}

function toBase64url (bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

function fromBase64url (text: string): Uint8Array {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
