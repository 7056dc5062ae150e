import { equalBytes } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { MAX_JSON_DEPTH, parseSchemaRef } from '@kiln/json'
import { DoctypeRuleError, InvalidCommitError, isKilnError, type DocMetadata, type GenesisHeader, type LogEntry, type UpdateHeader } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { TILE_NAME } from './constants.js'

function invalid (what: string, message: string, field: string): never {
  throw new InvalidCommitError(`Invalid tile ${what}: ${message}`, { details: { commit: what, field } })
}

/**
 * Checks a `schema` header field: a CommitID string, as Ceramic requires. A bare DocID is refused with its own message:
 * it would not pin the schema to a version, so nodes could validate the same log against different schemas.
 */
function checkSchema (schema: unknown, what: string): void {
  if (schema === undefined) return
  try {
    parseSchemaRef(schema)
  } catch (err) {
    if (!isKilnError(err, 'InvalidCommitError')) throw err
    throw new InvalidCommitError(`Invalid tile ${what}: ${err.message}`, { cause: err, details: { ...err.details, commit: what, field: 'schema' } })
  }
}

/** Ceramic's rule, kept so that Kiln and Ceramic nodes accept the same logs: a tile has exactly one controller. */
function checkOneController (controllers: readonly string[] | undefined, what: string): void {
  if (controllers === undefined || controllers.length === 1) return
  throw new DoctypeRuleError(`a tile ${what} must name exactly one controller, got ${controllers.length}`, {
    details: { controllers: [...controllers] }
  })
}

/**
 * How many arrays and objects `value` nests (a scalar, bytes or a CID: 0), counting no further than `limit + 1`. A
 * loop, not a recursion, so that no depth overflows it.
 */
function nestingOf (value: unknown, limit: number): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (typeof node !== 'object' || node === null || node instanceof Uint8Array || CID.asCID(node) !== null) continue
    if (depth + 1 > deepest) deepest = depth + 1
    if (deepest > limit) return deepest
    for (const child of Object.values(node)) stack.push([child, depth + 1])
  }
  return deepest
}

/**
 * Refuses a header field nested deeper than content may be ({@link MAX_JSON_DEPTH}): the fields are kept in the
 * metadata, which is served as JSON, and JSON code is recursive.
 */
function checkHeaderDepth (header: object, what: string): void {
  for (const [field, value] of Object.entries(header)) {
    if (nestingOf(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) invalid(what, `\`header.${field}\` nests deeper than ${MAX_JSON_DEPTH} levels`, field)
  }
}

/** Copies a header value: arrays, plain objects and bytes anew; CIDs and primitives are immutable and kept. */
function copyValue (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyValue)
  if (value instanceof Uint8Array) return value.slice()
  if (typeof value === 'object' && value !== null && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return copyMetadataFields(value as Record<string, unknown>, {})
  }
  return value
}

function copyMetadataFields<T extends Record<string, unknown>> (from: Record<string, unknown>, into: T): T {
  for (const [key, value] of Object.entries(from)) {
    if (value !== undefined) (into as Record<string, unknown>)[key] = copyValue(value)
  }
  return into
}

/** Copies metadata so that the result shares no object, array or bytes with the input. */
export function copyMetadata (metadata: DocMetadata | GenesisHeader): DocMetadata {
  return copyMetadataFields(metadata as Record<string, unknown>, { controllers: [] } as DocMetadata)
}

/**
 * The checks on a genesis header that `asGenesisRecord` leaves to the doctype: one controller, a CommitID `schema`, a
 * boolean `forbidControllerChange`, no field nested deeper than content may be. Throws `InvalidCommitError` for a bad
 * type or depth, `DoctypeRuleError` for a broken rule.
 */
export function checkGenesisHeader (header: GenesisHeader): void {
  checkHeaderDepth(header, 'genesis')
  checkSchema(header.schema, 'genesis')
  if (header.forbidControllerChange !== undefined && typeof header.forbidControllerChange !== 'boolean') {
    invalid('genesis', '`header.forbidControllerChange` must be a boolean', 'forbidControllerChange')
  }
  checkOneController(header.controllers, 'genesis')
}

function sameUnique (a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return equalBytes(a, b)
  return a === b
}

function sameList (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i])
}

/**
 * The metadata after an update whose header is `header` (`{}` or absent: unchanged). `controllers`, `schema`,
 * `family` and `tags` may change; `forbidControllerChange` and `unique` may only be repeated unchanged; other fields are
 * carried over as Ceramic does. Throws `InvalidCommitError` for a bad type, `DoctypeRuleError` for a broken rule.
 */
export function nextMetadata (metadata: DocMetadata, header: UpdateHeader | undefined, genesis?: LogEntry): DocMetadata {
  const next = copyMetadata(metadata)
  if (header === undefined) return next
  const fields = header as Record<string, unknown>
  checkHeaderDepth(fields, 'update')
  const { controllers, family, tags, schema } = fields
  if (controllers !== undefined && (!Array.isArray(controllers) || !controllers.every((c) => typeof c === 'string' && c !== ''))) {
    invalid('update', '`header.controllers` must be a list of non-empty strings', 'controllers')
  }
  if (family !== undefined && typeof family !== 'string') invalid('update', '`header.family` must be a string', 'family')
  if (tags !== undefined && (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t !== ''))) {
    invalid('update', '`header.tags` must be a list of non-empty strings', 'tags')
  }
  checkSchema(schema, 'update')
  checkOneController(controllers as string[] | undefined, 'update')

  // the DocID is only needed in messages: computing its base36 form on every update would be wasted work
  const docIdOf = (): string => genesis === undefined ? 'this tile' : new DocID(TILE_NAME, genesis.cid).toString()
  if (controllers !== undefined && metadata.forbidControllerChange === true && !sameList(controllers as string[], metadata.controllers)) {
    const docId = docIdOf()
    throw new DoctypeRuleError(
      `cannot change the controllers of ${docId} from ${JSON.stringify(metadata.controllers)} to ${JSON.stringify(controllers)}: forbidControllerChange is set`,
      { details: { docId, controllers: [...metadata.controllers], requested: [...controllers as string[]] } }
    )
  }
  if (fields.forbidControllerChange !== undefined && fields.forbidControllerChange !== metadata.forbidControllerChange) {
    const docId = docIdOf()
    throw new DoctypeRuleError(`cannot change forbidControllerChange of ${docId}: it is fixed at genesis`, { details: { docId } })
  }
  if (fields.unique !== undefined && !sameUnique(fields.unique, metadata.unique)) {
    const docId = docIdOf()
    throw new DoctypeRuleError(`cannot change unique of ${docId}: it is fixed at genesis`, { details: { docId } })
  }
  // `evidence` is what this one commit cites for the document's rules, not a property of the document.
  const { evidence: _evidence, ...kept } = fields
  return { ...next, ...copyMetadata({ ...kept, controllers: (controllers as string[] | undefined) ?? next.controllers } as DocMetadata) }
}
