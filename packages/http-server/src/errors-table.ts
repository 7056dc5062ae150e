/**
 * The one table from error name to HTTP status. The error handler answers every thrown error with the status its name
 * has here; the HTTP client and the docs read the same table.
 */
const STATUS_BY_NAME: Readonly<Record<string, number>> = Object.freeze({
  InvalidRequestError: 400,
  InvalidDocIDError: 400,
  CodecError: 400,
  InvalidCommitError: 400,
  UnknownDoctypeError: 400,
  AdminAuthError: 401,
  DocumentNotFoundError: 404,
  BlockNotFoundError: 404,
  ConflictingCommitError: 409,
  RequestTooLargeError: 413,
  InvalidSignatureError: 422,
  UnauthorizedSignerError: 422,
  UnsupportedDIDMethodError: 422,
  DIDResolutionError: 422,
  DoctypeRuleError: 422,
  SchemaValidationError: 422,
  InvalidAnchorProofError: 422,
  UnsupportedChainError: 422,
  StorageError: 503,
  NodeStoppedError: 503,
  TimeoutError: 504
})

/** Every error name the server answers with a status other than 500, with that status. */
export const errorStatuses: Readonly<Record<string, number>> = STATUS_BY_NAME

/** The HTTP status of an error name: the table's, or 500 for any name it does not list. */
export function statusOf (name: string): number {
  return Object.hasOwn(STATUS_BY_NAME, name) ? STATUS_BY_NAME[name]! : 500
}
