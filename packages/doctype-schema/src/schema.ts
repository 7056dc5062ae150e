import { asGenesisRecord, asUpdateRecord } from '@kiln/codec'
import {
  AbortError, DoctypeRuleError, InvalidCommitError, UnauthorizedSignerError,
  type DocState, type DoctypeFactory, type DoctypeHandler, type DoctypeResult, type VerifiedCommit
} from '@kiln/interface'
import { DEFAULT_MAX_SCHEMA_BYTES, SCHEMA_CODE, SCHEMA_NAME } from './constants.js'
import { genesisMetadata, nextSchemaMetadata } from './header.js'
import { applyJsonPatch, checkJsonSize, checkPlainJson, cloneJson, kindOfJson, schemaValidator, type SchemaValidator } from '@kiln/json'

/** The content of a schema document: a JSON Schema object. */
export type SchemaContent = Record<string, unknown>

/** Options of {@link schema}. */
export interface SchemaInit {
  /** Largest schema accepted, in bytes of its JSON encoding. Default 262144 (256 KiB). */
  maxContentBytes?: number
}

/**
 * Checks that `value` may be a schema document's content: a plain JSON object of at most `maxBytes` bytes as JSON that
 * compiles as a JSON Schema. Throws `DoctypeRuleError` (not JSON, not an object, too large) or `SchemaValidationError`
 * (not a valid schema).
 */
export function checkSchemaContent (value: unknown, maxBytes: number, validator: Pick<SchemaValidator, 'compile'>): asserts value is SchemaContent {
  checkPlainJson(value, 'schema content')
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DoctypeRuleError(`schema content must be a JSON object, got ${kindOfJson(value)}`, { details: { found: kindOfJson(value) } })
  }
  checkJsonSize(value, maxBytes, 'schema content')
  validator.compile(value, 'the schema content')
}

function checkSigner (commit: VerifiedCommit, controllers: readonly string[], what: string): void {
  // the core checks this before `apply`; checking again keeps the handler safe to call on its own
  if (commit.signer === undefined || !controllers.includes(commit.signer)) {
    const by = commit.signer === undefined ? 'is not signed' : `is signed by ${commit.signer}, who is not a controller`
    throw new UnauthorizedSignerError(`schema ${what} ${commit.cid.toString()} ${by}: it must be signed by ${controllers.join(' or ')}`, {
      details: { did: commit.signer ?? null, controllers: [...controllers], cid: commit.cid.toString() }
    })
  }
}

function applyGenesis (commit: VerifiedCommit, maxBytes: number, validator: SchemaValidator): DoctypeResult<SchemaContent> {
  if (commit.kind !== 'genesis') {
    throw new InvalidCommitError(`commit ${commit.cid.toString()} is a ${commit.kind}, but the document has no genesis yet`, { details: { cid: commit.cid.toString() } })
  }
  const genesis = asGenesisRecord(commit.payload)
  const metadata = genesisMetadata(genesis.header)
  checkSigner(commit, metadata.controllers, 'genesis')
  if (genesis.data === undefined) {
    throw new DoctypeRuleError(`schema genesis ${commit.cid.toString()} has no data: a schema document is created with its JSON Schema as \`data\``, {
      details: { cid: commit.cid.toString() }
    })
  }
  checkSchemaContent(genesis.data, maxBytes, validator)
  return { content: cloneJson(genesis.data), metadata }
}

function applyUpdate (state: DocState<SchemaContent>, commit: VerifiedCommit, maxBytes: number, validator: SchemaValidator): DoctypeResult<SchemaContent> {
  if (commit.kind !== 'update') {
    throw new InvalidCommitError(`commit ${commit.cid.toString()} is a ${commit.kind}, but the document already has a genesis`, { details: { cid: commit.cid.toString() } })
  }
  const update = asUpdateRecord(commit.payload)
  checkSigner(commit, state.metadata.controllers, 'update')
  const metadata = nextSchemaMetadata(state.metadata, update.header)
  const content = applyJsonPatch(state.content, update.data, {
    what: 'schema update data',
    afterCopy: (document) => checkJsonSize(document, maxBytes, 'schema content')
  })
  checkSchemaContent(content, maxBytes, validator)
  return { content, metadata }
}

/**
 * The schema doctype (code 64, `schema`): documents whose content is a JSON Schema (draft 2020-12 or draft-07),
 * created by a signed genesis and changed by signed JSON-Patch updates; every state must compile as a schema.
 */
export function schema (init: SchemaInit = {}): DoctypeFactory<SchemaContent> {
  const maxBytes = init.maxContentBytes ?? DEFAULT_MAX_SCHEMA_BYTES
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`schema: maxContentBytes must be a positive integer, got ${String(init.maxContentBytes)}`)
  }
  return () => {
    // compiling is only a check here: nothing is cached, since each state is compiled once
    const validator = schemaValidator({ cacheSize: 1 })
    const handler: DoctypeHandler<SchemaContent> = {
      name: SCHEMA_NAME,
      code: SCHEMA_CODE,
      signers (state, payload) {
        return state === null ? asGenesisRecord(payload).header.controllers : state.metadata.controllers
      },
      async apply (state, commit, ctx) {
        if (ctx.signal?.aborted === true) throw new AbortError('schema: apply was aborted', { cause: ctx.signal.reason })
        return state === null
          ? applyGenesis(commit, maxBytes, validator)
          : applyUpdate(state, commit, maxBytes, validator)
      }
    }
    return handler
  }
}
