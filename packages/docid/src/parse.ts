import { CommitID, isCommitID } from './commit-id.js'
import { DocID, isDocID } from './doc-id.js'
import { decodeBytes, decodeString } from './wire.js'

/** A DocID or a CommitID: what an API path or a `streamId` field may name. */
export type DocOrCommitID = DocID | CommitID

/** Parses any form of a DocID or CommitID and lets the bytes decide which it is (Ceramic's `StreamRef.from`). */
export function parseDocOrCommitID (input: string | Uint8Array | DocOrCommitID): DocOrCommitID {
  if (isDocID(input) || isCommitID(input)) return input
  const parts = typeof input === 'string' ? decodeString(input, 'any') : decodeBytes(input, 'any')
  return parts.commit === undefined
    ? new DocID(parts.type, parts.genesis)
    : new CommitID(parts.type, parts.genesis, parts.commit)
}

/** True when `value` is a {@link DocID} or a {@link CommitID}. */
export function isDocOrCommitID (value: unknown): value is DocOrCommitID {
  return isDocID(value) || isCommitID(value)
}
