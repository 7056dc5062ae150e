/**
 * Named errors. Every error Kiln throws on purpose is a `KilnError`; callers compare `err.name`, never the message.
 * The HTTP server maps each name to a status in one table and the HTTP client rebuilds the same class from the name,
 * so every class here is registered in {@link errorClasses}.
 */

/** Extra facts an error carries for the caller (the offending value, a CID, a field). Must be JSON-serialisable. */
export type ErrorDetails = Record<string, unknown>

/** Options of every Kiln error: the underlying cause and machine-readable details. */
export interface KilnErrorOptions {
  cause?: unknown
  details?: ErrorDetails
}

/** Base class of every error Kiln throws on purpose. */
export class KilnError extends Error {
  override name: string = 'KilnError'
  /** Machine-readable facts about the failure (e.g. `{ value }` for a bad input). */
  readonly details: ErrorDetails

  constructor (message: string, options: KilnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.details = options.details ?? {}
  }
}

/** A DocID or CommitID that cannot be parsed (bytes, string or URL form). */
export class InvalidDocIDError extends KilnError {
  override name = 'InvalidDocIDError'
}

/** A doctype code or name that no registry knows. */
export class UnknownDoctypeError extends KilnError {
  override name = 'UnknownDoctypeError'
}

/** A second registration under a code or name that is already taken. */
export class DuplicateRegistrationError extends KilnError {
  override name = 'DuplicateRegistrationError'
}

/** Bytes or a JSON wire form that cannot be decoded into a record (bad CBOR, bad JOSE, bad base64, bad CID). */
export class CodecError extends KilnError {
  override name = 'CodecError'
}

/** A record that decodes but does not have the shape of a commit of the expected kind. */
export class InvalidCommitError extends KilnError {
  override name = 'InvalidCommitError'
}

/** A JWS whose signature does not verify against the key its `kid` names, or whose payload does not match. */
export class InvalidSignatureError extends KilnError {
  override name = 'InvalidSignatureError'
}

/**
 * A signature made under a capability (a CACAO, as did:pkh sessions make them) that the capability does not allow:
 * `details.reason` names what failed — `format`, `missing`, `issuer`, `signature`, `expired`, `not-yet-valid`,
 * `audience` or `resource`.
 */
export class InvalidCapabilityError extends KilnError {
  override name = 'InvalidCapabilityError'
}

/** A JWS signed by a DID that is not one of the controllers allowed to sign it. */
export class UnauthorizedSignerError extends KilnError {
  override name = 'UnauthorizedSignerError'
}

/** A DID whose method no registered resolver handles. */
export class UnsupportedDIDMethodError extends KilnError {
  override name = 'UnsupportedDIDMethodError'
}

/** A DID that its method's resolver cannot turn into a verification key. */
export class DIDResolutionError extends KilnError {
  override name = 'DIDResolutionError'
}

/** A key, seed or signer configuration that cannot be used (wrong length, unknown key type). */
export class InvalidKeyError extends KilnError {
  override name = 'InvalidKeyError'
}

/** A document (or a commit of it) that this node does not have and could not find. */
export class DocumentNotFoundError extends KilnError {
  override name = 'DocumentNotFoundError'
}

/** A block (by CID) that a store or the network does not have. */
export class BlockNotFoundError extends KilnError {
  override name = 'BlockNotFoundError'
}

/** A commit that does not extend the document it names: unknown `prev`, wrong `id`, or stale. */
export class ConflictingCommitError extends KilnError {
  override name = 'ConflictingCommitError'
}

/** A commit that a doctype's rules reject (content shape, controller change, size limit). */
export class DoctypeRuleError extends KilnError {
  override name = 'DoctypeRuleError'
}

/** Content that does not validate against the schema the document names. */
export class SchemaValidationError extends KilnError {
  override name = 'SchemaValidationError'
}

/** An anchor proof that does not verify (wrong root, path, transaction, chain). */
export class InvalidAnchorProofError extends KilnError {
  override name = 'InvalidAnchorProofError'
}

/** A chain (CAIP-2 id or namespace) that no registered anchor service or verifier handles. */
export class UnsupportedChainError extends KilnError {
  override name = 'UnsupportedChainError'
}

/** A storage backend failure: the write did not happen. */
export class StorageError extends KilnError {
  override name = 'StorageError'
}

/** An HTTP request that is malformed: bad JSON, a missing or mistyped field, an unknown route parameter. */
export class InvalidRequestError extends KilnError {
  override name = 'InvalidRequestError'
}

/**
 * A query that is malformed or over the query limits: an unknown filter or operator, a value of the wrong type, a path
 * too deep, a page too large, a cursor of another query. `details` names the offending `field` where one is at fault.
 */
export class InvalidQueryError extends KilnError {
  override name = 'InvalidQueryError'
}

/**
 * A well-formed query a backend will not run because it would examine more documents than its bound allows (LevelDB:
 * a count or a content sort over more than `maxScan` candidates). A narrower filter (doctype, controller, family,
 * tags, schema, linksTo) makes it cheap.
 */
export class QueryTooBroadError extends KilnError {
  override name = 'QueryTooBroadError'
}

/**
 * A rules document (see `@kiln/rules`) whose content is not a valid rule set: a field of the wrong type, an unknown
 * construct, a bound exceeded, a JSON Schema that cannot be compiled safely. `details.path` is the JSON Pointer of the
 * offending value in the rules content (`/rules/2/who/threshold`).
 */
export class InvalidRulesError extends KilnError {
  override name = 'InvalidRulesError'
}

/**
 * An update that the rules of its document refuse. `details.rule` names the rule that refused it (absent when no
 * rule covers the path and the rule set's default is `deny`), `details.path` the changed path (a JSON Pointer into the
 * content, or a metadata pseudo-path such as `#controllers`) and `details.reason` says why in plain English.
 */
export class RuleViolationError extends KilnError {
  override name = 'RuleViolationError'
}

/** An HTTP request body over the server's size limit. */
export class RequestTooLargeError extends KilnError {
  override name = 'RequestTooLargeError'
}

/**
 * Input over one of Kiln's protocol limits that bound the work one request or commit may cause: JSON-Patch
 * operations in an update, blocks or bytes of a CAR import. `details` names the `limit` and the value found.
 */
export class LimitExceededError extends KilnError {
  override name = 'LimitExceededError'
}

/** An admin request without a valid JWS of a configured admin DID over a fresh code. */
export class AdminAuthError extends KilnError {
  override name = 'AdminAuthError'
}

/** A request the server could not answer in time. */
export class TimeoutError extends KilnError {
  override name = 'TimeoutError'
}

/** A request refused for now because the server is at a limit (e.g. of open event streams); it may succeed later. */
export class ServiceUnavailableError extends KilnError {
  override name = 'ServiceUnavailableError'
}

/**
 * A request refused because its client has used up its rate for now (HTTP 429). `details.retryAfter` is the number of
 * whole seconds after which the same request will be accepted, as in the answer's `Retry-After` header.
 */
export class RateLimitedError extends KilnError {
  override name = 'RateLimitedError'
}

/** An operation given up because its `AbortSignal` fired. */
export class AbortError extends KilnError {
  override name = 'AbortError'
}

/** A call to a node that is stopped, or stopping: nothing of it was done. */
export class NodeStoppedError extends KilnError {
  override name = 'NodeStoppedError'
}

/** A webhook call to a node that runs no webhooks plugin (`webhooks()` of `@kiln/hooks` is not configured). */
export class HooksDisabledError extends KilnError {
  override name = 'HooksDisabledError'
}

/** A webhook id that is not registered on the node. */
export class HookNotFoundError extends KilnError {
  override name = 'HookNotFoundError'
}

/** A constructor of a Kiln error class. */
export type KilnErrorClass = new (message: string, options?: KilnErrorOptions) => KilnError

/** Every named error class by its `name`, so a name received over the wire becomes the same class again. */
export const errorClasses: Readonly<Record<string, KilnErrorClass>> = Object.freeze({
  KilnError,
  InvalidDocIDError,
  UnknownDoctypeError,
  DuplicateRegistrationError,
  CodecError,
  InvalidCommitError,
  InvalidSignatureError,
  InvalidCapabilityError,
  UnauthorizedSignerError,
  UnsupportedDIDMethodError,
  DIDResolutionError,
  InvalidKeyError,
  DocumentNotFoundError,
  BlockNotFoundError,
  ConflictingCommitError,
  DoctypeRuleError,
  SchemaValidationError,
  InvalidAnchorProofError,
  UnsupportedChainError,
  StorageError,
  InvalidRequestError,
  InvalidQueryError,
  QueryTooBroadError,
  InvalidRulesError,
  RuleViolationError,
  RequestTooLargeError,
  LimitExceededError,
  AdminAuthError,
  TimeoutError,
  ServiceUnavailableError,
  RateLimitedError,
  AbortError,
  NodeStoppedError,
  HooksDisabledError,
  HookNotFoundError
})

/** Rebuilds a named error from its wire form `{ name, error }`; an unknown name gives a plain `KilnError` keeping it. */
export function errorFromWire (wire: { name?: unknown, error?: unknown, details?: unknown }): KilnError {
  const message = typeof wire.error === 'string' ? wire.error : 'Unknown error'
  const details = wire.details !== null && typeof wire.details === 'object' ? wire.details as ErrorDetails : undefined
  const name = typeof wire.name === 'string' ? wire.name : 'KilnError'
  const Class = Object.hasOwn(errorClasses, name) ? errorClasses[name] : undefined
  if (Class !== undefined) return new Class(message, { details })
  const err = new KilnError(message, { details })
  err.name = name
  return err
}

/** True when `err` is an error with the given name (works across package copies, where `instanceof` may not). */
export function isKilnError (err: unknown, name?: string): err is KilnError {
  if (!(err instanceof Error) || !('details' in err)) return false
  return name === undefined || err.name === name
}
