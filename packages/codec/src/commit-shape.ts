import { InvalidCommitError, type AnchorProof, type AnchorRecord, type GenesisRecord, type SignedCommit, type UpdateRecord } from '@kiln/interface'
import { CID } from 'multiformats/cid'

type Shape = Record<string, unknown>

function isObject (value: unknown): value is Shape {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) && CID.asCID(value) === null
}

function fail (what: string, message: string): never {
  throw new InvalidCommitError(`Invalid ${what}: ${message}`, { details: { commit: what } })
}

function requireCID (record: Shape, field: string, what: string): void {
  if (CID.asCID(record[field]) === null) fail(what, `\`${field}\` must be a CID`)
}

function checkStringList (value: unknown, field: string, what: string): void {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
    fail(what, `\`${field}\` must be a list of non-empty strings`)
  }
}

/** True when `value` has the shape of a signed commit in memory form (`{jws, linkedBlock}`). */
export function isSignedCommit (value: unknown): value is SignedCommit {
  return isObject(value) && isObject(value.jws) && value.linkedBlock instanceof Uint8Array
}

/** Checks the shape of a genesis record (`{header: {controllers, …}, data?}`) or throws `InvalidCommitError`. */
export function asGenesisRecord (value: unknown): GenesisRecord {
  const what = 'genesis'
  if (!isObject(value)) fail(what, 'must be a map')
  if (!isObject(value.header)) fail(what, '`header` must be a map')
  const header = value.header
  checkStringList(header.controllers, 'header.controllers', what)
  if ((header.controllers as string[]).length === 0) fail(what, '`header.controllers` must name at least one controller')
  if (header.family !== undefined && typeof header.family !== 'string') fail(what, '`header.family` must be a string')
  if (header.tags !== undefined) checkStringList(header.tags, 'header.tags', what)
  if (header.schema !== undefined && typeof header.schema !== 'string') fail(what, '`header.schema` must be a CommitID string')
  if (header.unique !== undefined && typeof header.unique !== 'string' && !(header.unique instanceof Uint8Array)) {
    fail(what, '`header.unique` must be a string or bytes')
  }
  return value as unknown as GenesisRecord
}

/** Checks the shape of an update record (`{id, prev, header?, data}`) or throws `InvalidCommitError`. */
export function asUpdateRecord (value: unknown): UpdateRecord {
  const what = 'update'
  if (!isObject(value)) fail(what, 'must be a map')
  requireCID(value, 'id', what)
  requireCID(value, 'prev', what)
  if (!('data' in value)) fail(what, '`data` is missing')
  if (value.header !== undefined) {
    if (!isObject(value.header)) fail(what, '`header` must be a map')
    if (value.header.controllers !== undefined) checkStringList(value.header.controllers, 'header.controllers', what)
  }
  return value as unknown as UpdateRecord
}

/** Checks the shape of an anchor record (`{id, prev, proof, path}`) or throws `InvalidCommitError`. */
export function asAnchorRecord (value: unknown): AnchorRecord {
  const what = 'anchor commit'
  if (!isObject(value)) fail(what, 'must be a map')
  requireCID(value, 'id', what)
  requireCID(value, 'prev', what)
  requireCID(value, 'proof', what)
  if (typeof value.path !== 'string' || !/^([01](\/[01])*)?$/.test(value.path)) fail(what, '`path` must be a string like "0/1/1"')
  return value as unknown as AnchorRecord
}

/** Checks the shape of an anchor proof (`{chainId, root, txHash, txType?}`) or throws `InvalidCommitError`. */
export function asAnchorProof (value: unknown): AnchorProof {
  const what = 'anchor proof'
  if (!isObject(value)) fail(what, 'must be a map')
  if (typeof value.chainId !== 'string' || !/^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/.test(value.chainId)) {
    fail(what, '`chainId` must be a CAIP-2 chain id')
  }
  requireCID(value, 'root', what)
  requireCID(value, 'txHash', what)
  if (value.txType !== undefined && typeof value.txType !== 'string') fail(what, '`txType` must be a string')
  return value as unknown as AnchorProof
}

/** Tells what kind of unsigned record `value` is: a genesis, an anchor commit, or neither. */
export function unsignedRecordKind (value: unknown): 'genesis' | 'anchor' | undefined {
  if (!isObject(value)) return undefined
  if ('proof' in value) return 'anchor'
  if ('header' in value && !('prev' in value)) return 'genesis'
  return undefined
}
