import { signRecord, type SignedBlocks } from '@kiln/codec'
import type { CommitID } from '@kiln/docid'
import { applyJsonPatch, diffJson, type JsonPatchOperation } from '@kiln/json'
import { InvalidCommitError, UnauthorizedSignerError, type DocState, type LogEntry, type UpdateHeader, type UpdateRecord } from '@kiln/interface'
import { TILE_CODE } from './constants.js'
import { checkTileContent, type TileContent } from './content.js'
import type { TileSigner } from './genesis.js'
import { nextMetadata } from './header.js'

/** Options of {@link makeUpdate}: metadata changes; what is left out stays as it is. */
export interface TileUpdateOptions {
  /** The new controller (exactly one); refused when the tile has `forbidControllerChange`. */
  controllers?: string[]
  family?: string
  tags?: string[]
  schema?: string | CommitID
  /** Kiln: the new rules document (a CommitID), when the document's rules allow the change. */
  rules?: string | CommitID
  /** Kiln: evidence cited for the document's rules, by name: CommitID strings of other documents. */
  evidence?: Record<string, string | CommitID>
}

/**
 * Builds a signed tile update turning `state` into `newContent` (`null`/`undefined`: content unchanged): the JSON-Patch
 * from `compare(state.content, newContent)`, `id` the genesis CID, `prev` the tip, `header` the metadata changes (`{}`
 * when none, as Ceramic's clients send).
 */
export async function makeUpdate (state: DocState, newContent: TileContent | null | undefined, signer: TileSigner, opts: TileUpdateOptions = {}): Promise<SignedBlocks<UpdateRecord<JsonPatchOperation[]>>> {
  const { genesis, tip } = checkUpdatable(state, signer)
  const header = updateHeader(state, opts)
  const target = newContent ?? state.content
  checkTileContent(target, Number.POSITIVE_INFINITY)
  const data = diffJson(state.content as object, target)
  return await signRecord({ id: genesis.cid, prev: tip.cid, header, data }, signer)
}

/**
 * Builds a signed tile update from the JSON-Patch `patch` as given (where {@link makeUpdate} computes one): for rules
 * that look at the operations themselves, such as append-only lists (`add` at `/list/-`) or compare-and-set (a `test`
 * before each change). The patch must apply to the state's content.
 */
export async function makePatchUpdate (state: DocState, patch: JsonPatchOperation[], signer: TileSigner, opts: TileUpdateOptions = {}): Promise<SignedBlocks<UpdateRecord<JsonPatchOperation[]>>> {
  const { genesis, tip } = checkUpdatable(state, signer)
  const header = updateHeader(state, opts)
  const content = applyJsonPatch(state.content, patch, { what: 'the patch' })
  checkTileContent(content, Number.POSITIVE_INFINITY)
  return await signRecord({ id: genesis.cid, prev: tip.cid, header, data: patch.map((op) => ({ ...op })) }, signer)
}

function checkUpdatable (state: DocState, signer: TileSigner): { genesis: LogEntry, tip: LogEntry } {
  if (state.type !== TILE_CODE) throw new InvalidCommitError(`makeUpdate: the state is of doctype ${state.type}, not a tile (${TILE_CODE})`)
  const genesis = state.log[0]
  const tip = state.log[state.log.length - 1]
  if (genesis === undefined || tip === undefined) throw new InvalidCommitError('makeUpdate: the state has an empty log')
  // A document with rules may be written by whoever its rules allow: the node judges that.
  if (state.metadata.rules === undefined && !state.metadata.controllers.includes(signer.did)) {
    throw new UnauthorizedSignerError(`makeUpdate: signer ${signer.did} is not a controller (${state.metadata.controllers.join(', ')})`, {
      details: { did: signer.did, controllers: [...state.metadata.controllers] }
    })
  }
  return { genesis, tip }
}

/** The header of an update with the metadata changes `opts` asks (`{}` when none), checked as the node checks it. */
function updateHeader (state: DocState, opts: TileUpdateOptions): UpdateHeader {
  const header: UpdateHeader = {}
  if (opts.controllers !== undefined) header.controllers = [...opts.controllers]
  if (opts.family !== undefined) header.family = opts.family
  if (opts.tags !== undefined) header.tags = [...opts.tags]
  if (opts.schema !== undefined) header.schema = opts.schema.toString()
  if (opts.rules !== undefined) header.rules = opts.rules.toString()
  if (opts.evidence !== undefined) header.evidence = Object.fromEntries(Object.entries(opts.evidence).map(([name, id]) => [name, id.toString()]))
  // the same rules the node applies, so a doomed update fails here, before it is signed
  nextMetadata(state.metadata, header, state.log[0])
  return header
}
