import { docStateFromJSON } from '@kiln/codec'
import { parseDocOrCommitID, type DocID } from '@kiln/docid'
import { CodecError, type DocSnapshot, type QueryResult } from '@kiln/interface'

/** The value as a JSON object, or a `CodecError` naming `what` was expected to be one. */
export function objectOf (value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new CodecError(`${what} is not a JSON object`)
  return value as Record<string, unknown>
}

/** `{streamId, state}` → a snapshot with a real DocID and a parsed state. */
export function snapshotOf (json: unknown, what: string): DocSnapshot<DocID> {
  const { streamId, state } = objectOf(json, what)
  if (typeof streamId !== 'string') throw new CodecError(`${what} has no streamId`)
  return { id: parseDocOrCommitID(streamId).baseID, state: docStateFromJSON(state) }
}

/** Parses a JSON text from the node, or a `CodecError` quoting its start. */
export function parseJSON (text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new CodecError(`${what} is not JSON: ${text.slice(0, 200)}`, { cause })
  }
}

/** `{items: [{streamId, state}], pageInfo, count?}` → a page of snapshots. */
export function queryPageOf (json: unknown, what: string): QueryResult<DocSnapshot<DocID>> {
  const { items, pageInfo, count } = objectOf(json, what)
  if (!Array.isArray(items)) throw new CodecError(`${what} has no items list`)
  const info = objectOf(pageInfo, `${what}.pageInfo`)
  if (typeof info.hasNextPage !== 'boolean') throw new CodecError(`${what}.pageInfo.hasNextPage is not a boolean`)
  if (info.endCursor !== undefined && info.endCursor !== null && typeof info.endCursor !== 'string') throw new CodecError(`${what}.pageInfo.endCursor is not a string`)
  if (count !== undefined && (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0)) throw new CodecError(`${what}.count is not a count`)
  const page: QueryResult<DocSnapshot<DocID>> = {
    items: items.map((item, i) => snapshotOf(item, `${what}.items[${i}]`)),
    pageInfo: typeof info.endCursor === 'string' ? { hasNextPage: info.hasNextPage, endCursor: info.endCursor } : { hasNextPage: info.hasNextPage }
  }
  if (count !== undefined) page.count = count
  return page
}
