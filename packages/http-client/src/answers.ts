import { docStateFromJSON } from '@kiln/codec'
import { parseDocOrCommitID, type DocID } from '@kiln/docid'
import { CodecError, type DocSnapshot } from '@kiln/interface'

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
