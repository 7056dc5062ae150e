import { asGenesisRecord, asUpdateRecord } from '@kiln/codec'
import {
  AbortError, DoctypeRuleError, InvalidCommitError, UnauthorizedSignerError,
  type DocState, type DoctypeContext, type DoctypeFactory, type DoctypeHandler, type DoctypeResult, type VerifiedCommit
} from '@kiln/interface'
import { applyJsonPatch, cloneJson, schemaValidator, type SchemaValidator } from '@kiln/json'
import { TILE_CODE, TILE_NAME } from './constants.js'
import { checkContentSize, checkTileContent, DEFAULT_MAX_CONTENT_BYTES, type TileContent } from './content.js'
import { checkGenesisHeader, copyMetadata, nextMetadata } from './header.js'
import { enforceSchema } from './schema.js'

/** Options of {@link tile}. */
export interface TileInit {
  /** Largest content accepted, in bytes of its JSON encoding. Default 262144 (256 KiB). */
  maxContentBytes?: number
  /** How many compiled schemas to keep, by schema CommitID. Default 100. */
  schemaCacheSize?: number
}

function checkSigner (commit: VerifiedCommit, controllers: readonly string[], what: string): void {
  // the core checks this before `apply`; checking again keeps the handler safe to call on its own. Under rules, the
  // rules stage decides who may write instead.
  if (commit.authorizedByRules === true) return
  if (commit.signer !== undefined && !controllers.includes(commit.signer)) {
    throw new UnauthorizedSignerError(`tile ${what} ${commit.cid.toString()} is signed by ${commit.signer}, who is not a controller (${controllers.join(', ')})`, {
      details: { did: commit.signer, controllers: [...controllers], cid: commit.cid.toString() }
    })
  }
}

async function applyGenesis (commit: VerifiedCommit, maxBytes: number, ctx: DoctypeContext, validator: SchemaValidator): Promise<DoctypeResult<TileContent>> {
  if (commit.kind !== 'genesis') {
    throw new InvalidCommitError(`commit ${commit.cid.toString()} is a ${commit.kind}, but the document has no genesis yet`, { details: { cid: commit.cid.toString() } })
  }
  const genesis = asGenesisRecord(commit.payload)
  checkGenesisHeader(genesis.header)
  checkSigner(commit, genesis.header.controllers, 'genesis')
  let content: TileContent = {}
  if (genesis.data !== undefined) {
    if (commit.signer === undefined) {
      throw new DoctypeRuleError(`tile genesis ${commit.cid.toString()} carries data but is not signed: a genesis with content must be signed by its controller`, {
        details: { cid: commit.cid.toString() }
      })
    }
    checkTileContent(genesis.data, maxBytes)
    content = cloneJson(genesis.data)
  }
  const metadata = copyMetadata(genesis.header)
  await enforceSchema(content, metadata.schema, ctx, validator)
  return { content, metadata }
}

async function applyUpdate (state: DocState<TileContent>, commit: VerifiedCommit, maxBytes: number, ctx: DoctypeContext, validator: SchemaValidator): Promise<DoctypeResult<TileContent>> {
  if (commit.kind !== 'update') {
    throw new InvalidCommitError(`commit ${commit.cid.toString()} is a ${commit.kind}, but the document already has a genesis`, { details: { cid: commit.cid.toString() } })
  }
  const update = asUpdateRecord(commit.payload)
  if (commit.signer === undefined) {
    throw new UnauthorizedSignerError(`tile update ${commit.cid.toString()} is not signed: updates must be signed by a controller`, {
      details: { cid: commit.cid.toString(), controllers: [...state.metadata.controllers] }
    })
  }
  checkSigner(commit, state.metadata.controllers, 'update')
  const metadata = nextMetadata(state.metadata, update.header, state.log[0])
  const content = applyJsonPatch(state.content, update.data, {
    what: 'tile update data',
    afterCopy: (document) => checkContentSize(document, maxBytes)
  })
  checkTileContent(content, maxBytes)
  await enforceSchema(content, metadata.schema, ctx, validator)
  return { content, metadata }
}

/**
 * The tile doctype (code 0, Ceramic's `tile`): JSON-object documents, updated by signed JSON-Patch commits. A tile
 * whose metadata names a schema (a CommitID) must match it after every commit.
 */
export function tile (init: TileInit = {}): DoctypeFactory<TileContent> {
  const maxBytes = init.maxContentBytes ?? DEFAULT_MAX_CONTENT_BYTES
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`tile: maxContentBytes must be a positive integer, got ${String(init.maxContentBytes)}`)
  }
  const cacheSize = init.schemaCacheSize ?? 100
  if (!Number.isSafeInteger(cacheSize) || cacheSize <= 0) {
    throw new RangeError(`tile: schemaCacheSize must be a positive integer, got ${String(init.schemaCacheSize)}`)
  }
  // compiled schemas are cached by CommitID, whose content never changes: nodes sharing this factory may share them
  const validator = schemaValidator({ cacheSize })
  return () => {
    const handler: DoctypeHandler<TileContent> = {
      name: TILE_NAME,
      code: TILE_CODE,
      signers (state, payload) {
        if (state !== null) return state.metadata.controllers
        // a genesis without data is valid unsigned: that is what makes deterministic tiles possible
        const genesis = asGenesisRecord(payload)
        return genesis.data === undefined ? [] : genesis.header.controllers
      },
      async apply (state, commit, ctx) {
        if (ctx.signal?.aborted === true) throw new AbortError('tile: apply was aborted', { cause: ctx.signal.reason })
        return state === null
          ? await applyGenesis(commit, maxBytes, ctx, validator)
          : await applyUpdate(state, commit, maxBytes, ctx, validator)
      }
    }
    return handler
  }
}
