import { DoctypeRuleError, InvalidCommitError, type DocMetadata, type GenesisHeader, type UpdateHeader } from '@kiln/interface'

/** The fields a schema genesis header may hold. */
const GENESIS_FIELDS = new Set(['controllers', 'family', 'tags', 'unique', 'forbidControllerChange'])
/** The fields a schema update header may change. */
const UPDATE_FIELDS = new Set(['controllers', 'family', 'tags'])

function invalid (what: string, message: string, field: string): never {
  throw new InvalidCommitError(`Invalid schema ${what}: ${message}`, { details: { commit: what, field } })
}

function checkFields (header: Record<string, unknown>, allowed: ReadonlySet<string>, what: string): void {
  for (const field of Object.keys(header)) {
    if (field === 'schema') {
      throw new DoctypeRuleError(`a schema document has no \`header.schema\`: its content is checked against the meta-schema its $schema names`, {
        details: { commit: what, field }
      })
    }
    if (!allowed.has(field)) invalid(what, `\`header.${field}\` is not allowed; a schema ${what} header holds ${[...allowed].join(', ')}`, field)
  }
}

function isStringList (value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string' && item !== '')
}

/**
 * The metadata of a new schema document: a copy of its genesis header, whose shape codec's `asGenesisRecord` checked.
 * Throws `InvalidCommitError` for a field that is not allowed or of a bad type, `DoctypeRuleError` for `schema`.
 */
export function genesisMetadata (header: GenesisHeader): DocMetadata {
  checkFields(header as unknown as Record<string, unknown>, GENESIS_FIELDS, 'genesis')
  if (header.forbidControllerChange !== undefined && typeof header.forbidControllerChange !== 'boolean') {
    invalid('genesis', '`header.forbidControllerChange` must be a boolean', 'forbidControllerChange')
  }
  const metadata: DocMetadata = { controllers: [...header.controllers] }
  if (header.family !== undefined) metadata.family = header.family
  if (header.tags !== undefined) metadata.tags = [...header.tags]
  if (header.unique !== undefined) metadata.unique = header.unique instanceof Uint8Array ? header.unique.slice() : header.unique
  if (header.forbidControllerChange !== undefined) metadata.forbidControllerChange = header.forbidControllerChange
  return metadata
}

/**
 * The metadata after an update whose header is `header` (`{}` or absent: unchanged). Only `controllers` (a non-empty
 * list, unchangeable under `forbidControllerChange`), `family` and `tags` may change; the result shares nothing with
 * `metadata`. Throws `InvalidCommitError` for a bad field, `DoctypeRuleError` for a broken rule.
 */
export function nextSchemaMetadata (metadata: DocMetadata, header: UpdateHeader | undefined): DocMetadata {
  const next = genesisMetadata(metadata)
  if (header === undefined) return next
  const fields = header as Record<string, unknown>
  checkFields(fields, UPDATE_FIELDS, 'update')
  const { controllers, family, tags } = fields
  if (controllers !== undefined) {
    if (!isStringList(controllers) || controllers.length === 0) invalid('update', '`header.controllers` must be a non-empty list of DIDs', 'controllers')
    const same = controllers.length === metadata.controllers.length && controllers.every((did, i) => did === metadata.controllers[i])
    if (!same && metadata.forbidControllerChange === true) {
      throw new DoctypeRuleError(`cannot change the controllers of this schema document from ${JSON.stringify(metadata.controllers)} to ${JSON.stringify(controllers)}: forbidControllerChange is set`, {
        details: { controllers: [...metadata.controllers], requested: [...controllers] }
      })
    }
    next.controllers = [...controllers]
  }
  if (family !== undefined) {
    if (typeof family !== 'string') invalid('update', '`header.family` must be a string', 'family')
    next.family = family
  }
  if (tags !== undefined) {
    if (!isStringList(tags)) invalid('update', '`header.tags` must be a list of non-empty strings', 'tags')
    next.tags = [...tags]
  }
  return next
}
