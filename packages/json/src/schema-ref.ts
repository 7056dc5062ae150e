import { CommitID, DocID } from '@kiln/docid'
import { InvalidCommitError } from '@kiln/interface'

function clip (value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value)
}

/**
 * Reads a `header.schema` value: the CommitID string of a schema document at one commit. A bare DocID is refused with
 * a message saying so: a schema must be pinned to a version, so that every node validates against the same one.
 * Throws `InvalidCommitError` (`details.field` is `'schema'`).
 */
export function parseSchemaRef (value: unknown): CommitID {
  if (typeof value !== 'string') {
    throw new InvalidCommitError(`\`header.schema\` must be a CommitID string, got a ${value === null ? 'null' : typeof value}`, { details: { field: 'schema' } })
  }
  try {
    return CommitID.fromString(value)
  } catch (cause) {
    let docId: DocID | undefined
    try {
      docId = DocID.fromString(value)
    } catch {
      // neither a CommitID nor a DocID: the CommitID error below says why
    }
    if (docId !== undefined) {
      throw new InvalidCommitError(
        `\`header.schema\` names the document ${docId.toString()} without a commit: a schema must be pinned to a version. ` +
        'Give the CommitID of the schema document at the commit to validate against (for example its genesis, docId.atCommit(0)).',
        { cause, details: { field: 'schema', value: docId.toString() } }
      )
    }
    throw new InvalidCommitError(`\`header.schema\` must be a CommitID string, got ${clip(value)}`, { cause, details: { field: 'schema', value: value.slice(0, 200) } })
  }
}
