import { asGenesisRecord, bytesToBase64, signRecord, type SignedBlocks } from '@kiln/codec'
import { InvalidCommitError, UnauthorizedSignerError, type DIDSigner, type DocState, type GenesisHeader, type GenesisRecord, type UpdateHeader, type UpdateRecord } from '@kiln/interface'
import { cloneJson, diffJson, schemaValidator, type JsonPatchOperation } from '@kiln/json'
import { randomBytes } from 'node:crypto'
import { SCHEMA_CODE } from './constants.js'
import { genesisMetadata, nextSchemaMetadata } from './header.js'
import { checkSchemaContent, type SchemaContent } from './schema.js'

/** What a client signs with: a DID and its DAG-JWS maker (a `keyDidSigner` will do). */
export type SchemaSigner = Pick<DIDSigner, 'did' | 'createDagJWS'>

/** Options of {@link makeSchemaGenesis}. */
export interface SchemaGenesisOptions {
  /** Defaults to `[signer.did]`. */
  controllers?: string[]
  family?: string
  tags?: string[]
  /** Omit `unique`, so that the same schema from the same controllers always gets the same DocID. */
  deterministic?: boolean
  /** Overrides the random `unique` (base64 of 12 random bytes). */
  unique?: string | Uint8Array
  /** Freeze the controllers for the life of the document. */
  forbidControllerChange?: boolean
}

/** Options of {@link makeSchemaUpdate}: metadata changes; what is left out stays as it is. */
export interface SchemaUpdateOptions {
  controllers?: string[]
  family?: string
  tags?: string[]
}

// the helpers check what the node will check, so that a doomed commit fails before it is signed; the size limit is
// each node's own setting, so it is left to the node
const validator = schemaValidator({ cacheSize: 1 })

function checkController (signer: SchemaSigner, controllers: readonly string[], helper: string): void {
  if (!controllers.includes(signer.did)) {
    throw new UnauthorizedSignerError(`${helper}: signer ${signer.did} is not a controller (${controllers.join(', ')})`, {
      details: { did: signer.did, controllers: [...controllers] }
    })
  }
}

/**
 * Builds a signed schema genesis `{header, data: schema}`; the DocID is `new DocID(SCHEMA_CODE, result.envelope.cid)`.
 * Throws what the node would (`DoctypeRuleError`, `SchemaValidationError`) when `schema` is not a JSON Schema.
 */
export async function makeSchemaGenesis (schema: SchemaContent, opts: SchemaGenesisOptions, signer: SchemaSigner): Promise<SignedBlocks<GenesisRecord<SchemaContent>>> {
  if (opts.deterministic === true && opts.unique !== undefined) {
    throw new InvalidCommitError('makeSchemaGenesis: a deterministic genesis has no `unique`: drop one of the two options')
  }
  // undefined fields are left out: dag-cbor cannot encode them
  const header: GenesisHeader = { controllers: [...(opts.controllers ?? [signer.did])] }
  if (opts.family !== undefined) header.family = opts.family
  if (opts.tags !== undefined) header.tags = [...opts.tags]
  if (opts.deterministic !== true) header.unique = opts.unique ?? bytesToBase64(randomBytes(12))
  if (opts.forbidControllerChange === true) header.forbidControllerChange = true
  genesisMetadata(asGenesisRecord({ header }).header)
  checkController(signer, header.controllers, 'makeSchemaGenesis')
  checkSchemaContent(schema, Number.POSITIVE_INFINITY, validator)
  return await signRecord({ header, data: cloneJson(schema) }, signer)
}

/**
 * Builds a signed update turning the schema document `state` into `newSchema` (`null`/`undefined`: unchanged): the
 * JSON-Patch between the two, `id` the genesis CID, `prev` the tip, `header` the metadata changes (`{}` when none).
 */
export async function makeSchemaUpdate (state: DocState, newSchema: SchemaContent | null | undefined, signer: SchemaSigner, opts: SchemaUpdateOptions = {}): Promise<SignedBlocks<UpdateRecord<JsonPatchOperation[]>>> {
  if (state.type !== SCHEMA_CODE) throw new InvalidCommitError(`makeSchemaUpdate: the state is of doctype ${state.type}, not a schema (${SCHEMA_CODE})`)
  const genesis = state.log[0]
  const tip = state.log[state.log.length - 1]
  if (genesis === undefined || tip === undefined) throw new InvalidCommitError('makeSchemaUpdate: the state has an empty log')
  checkController(signer, state.metadata.controllers, 'makeSchemaUpdate')
  const header: UpdateHeader = {}
  if (opts.controllers !== undefined) header.controllers = [...opts.controllers]
  if (opts.family !== undefined) header.family = opts.family
  if (opts.tags !== undefined) header.tags = [...opts.tags]
  nextSchemaMetadata(state.metadata, header)
  const target = newSchema ?? state.content
  checkSchemaContent(target, Number.POSITIVE_INFINITY, validator)
  const data = diffJson(state.content as object, target)
  return await signRecord({ id: genesis.cid, prev: tip.cid, header, data }, signer)
}
