/**
 * The one table from error name to HTTP status. The error handler answers every thrown error with the status its name
 * has here; the HTTP client and the docs read the same table. Every `KilnError` class of every Kiln package is listed
 * (a test scans the packages' sources for them), so an error that reaches an answer is never a 500 by accident. A
 * name listed with 500 is one that only a fault of the node (its configuration, a broken invariant) can raise: its
 * answer says nothing more than `Internal server error`.
 */
const STATUS_BY_NAME: Readonly<Record<string, number>> = Object.freeze({
  // The request itself is malformed.
  InvalidRequestError: 400,
  InvalidQueryError: 400,
  /** A query a backend would have to scan too much for (LevelDB's bounded scan): narrow the filter. */
  QueryTooBroadError: 400,
  InvalidDocIDError: 400,
  CodecError: 400,
  InvalidCommitError: 400,
  UnknownDoctypeError: 400,
  /** anchor-mock, anchor-ethereum, anchor-bitcoin: an anchor request without a DocID, or whose tips are not CIDs. */
  InvalidAnchorRequestError: 400,
  AdminAuthError: 401,
  DocumentNotFoundError: 404,
  BlockNotFoundError: 404,
  /** A webhook id the node does not have. */
  HookNotFoundError: 404,
  ConflictingCommitError: 409,
  RequestTooLargeError: 413,
  /** Too many JSON-Patch operations in an update, too many blocks or bytes in a CAR import. */
  LimitExceededError: 413,
  /** A client over its request rate; the answer carries `Retry-After`. */
  RateLimitedError: 429,
  // Well-formed, but a rule of the document, its signer or its chain refuses it.
  InvalidSignatureError: 422,
  /** A CACAO (did:pkh session) that is expired, for another audience or document, or not signed by its issuer. */
  InvalidCapabilityError: 422,
  UnauthorizedSignerError: 422,
  UnsupportedDIDMethodError: 422,
  DIDResolutionError: 422,
  DoctypeRuleError: 422,
  SchemaValidationError: 422,
  /** rules: a rules document whose content is not a valid rule set (`details.path` says where). */
  InvalidRulesError: 422,
  /** rules: an update the rules its document names refuse (`details.rule`, `details.path`, `details.reason`). */
  RuleViolationError: 422,
  InvalidAnchorProofError: 422,
  UnsupportedChainError: 422,
  /** doctype-account-link: a CAIP-10 account id in a commit that is not valid on its chain. */
  InvalidAccountIdError: 422,
  /** backup: a warehouse row whose block does not hash to its CID, or whose commit the pipeline refuses, in a restore. */
  TamperedWarehouseRowError: 422,
  /** backup: an archive directory whose manifest or CARs a restore cannot use. */
  InvalidArchiveError: 422,
  // Faults of the node: configuration and broken invariants. The answer is generic; the log has the details.
  KilnError: 500,
  DuplicateRegistrationError: 500,
  /** A key or seed the node is configured with (a DID in a commit that cannot be resolved is a `DIDResolutionError`). */
  InvalidKeyError: 500,
  /** anchor-merkle: raised while a batch is anchored, after the request that asked for it was answered. */
  InvalidMerkleBatchError: 500,
  UnknownMerkleLeafError: 500,
  /** Options of the anchor plugins and the CLI, refused when the node is assembled. */
  InvalidMockAnchorOptionError: 500,
  InvalidEthereumAnchorOptionError: 500,
  InvalidBitcoinAnchorOptionError: 500,
  /** http-server: an option of `httpApi` it cannot use, refused when the API is made. */
  InvalidHttpApiOptionError: 500,
  UsageError: 500,
  /** backup: an option of the warehouse mirror or a restore it cannot use. */
  BackupOptionError: 500,
  /** hooks: an option of `webhooks()` it cannot use. */
  WebhooksOptionError: 500,
  ConfigError: 500,
  /** signing: a verifier pool given options it cannot follow. */
  InvalidVerifierPoolOptionError: 500,
  // A service the node relies on failed: a chain's RPC endpoint (e.g. while verifying an anchor proof).
  EthereumRpcError: 502,
  BitcoinRpcError: 502,
  TransactionRejectedError: 502,
  // The node cannot do it now; the same request may succeed later.
  /** backup: the PostgreSQL warehouse cannot be reached or failed a query. */
  WarehouseUnavailableError: 503,
  StorageError: 503,
  NodeStoppedError: 503,
  ServiceUnavailableError: 503,
  /** anchor-bitcoin: the anchoring key cannot pay the fee. */
  InsufficientFundsError: 503,
  /** signing: the worker thread checking a signature died; the check may be sent again. */
  VerifierWorkerError: 503,
  /** The node gave the operation up (it is stopping). */
  AbortError: 503,
  /** The node runs no webhooks plugin. */
  HooksDisabledError: 501,
  TimeoutError: 504
})

/** Every error name the server knows, with its status. */
export const errorStatuses: Readonly<Record<string, number>> = STATUS_BY_NAME

/** The HTTP status of an error name: the table's, or 500 for any name it does not list. */
export function statusOf (name: string): number {
  return Object.hasOwn(STATUS_BY_NAME, name) ? STATUS_BY_NAME[name]! : 500
}
