import { bytesToBase64, encodeRecord, signRecord, type SignedBlocks } from '@kiln/codec'
import type { CommitID } from '@kiln/docid'
import { cloneJson } from '@kiln/json'
import { InvalidCommitError, UnauthorizedSignerError, type Block, type DIDSigner, type GenesisHeader, type GenesisRecord } from '@kiln/interface'
import { checkTileContent, type TileContent } from './content.js'
import { checkGenesisHeader } from './header.js'
import { randomBytes } from '@noble/hashes/utils'

/** What a client signs with: a DID and its DAG-JWS maker (a `keyDidSigner` will do). */
export type TileSigner = Pick<DIDSigner, 'did' | 'createDagJWS'>

/** Options of {@link makeGenesis}. */
export interface TileGenesisOptions {
  /** Defaults to `[signer.did]`. Exactly one, as Ceramic requires. */
  controllers?: string[]
  family?: string
  tags?: string[]
  /** The CommitID of the schema the content must match (a schema document, or a tile holding a schema). */
  schema?: string | CommitID
  /** Omit `unique`, so that equal headers give equal DocIDs. Such a genesis has no content. */
  deterministic?: boolean
  /** Overrides the random `unique` (base64 of 12 random bytes, as Ceramic makes it). */
  unique?: string | Uint8Array
  /** Freeze the controllers for the life of the document. */
  forbidControllerChange?: boolean
  /** Kiln: the CommitID of the rules document whose rules govern every update (see `docs/rules.md`). */
  rules?: string | CommitID
}

/** An unsigned genesis (a tile without content): the record and its dag-cbor block, whose CID is the genesis CID. */
export interface UnsignedGenesis {
  record: GenesisRecord
  block: Block
}

function header (opts: TileGenesisOptions, signer: TileSigner | undefined): GenesisHeader {
  const controllers = opts.controllers ?? (signer === undefined ? undefined : [signer.did])
  if (controllers === undefined) throw new InvalidCommitError('makeGenesis: no controller: pass opts.controllers or a signer')
  if (opts.deterministic === true && opts.unique !== undefined) {
    throw new InvalidCommitError('makeGenesis: a deterministic genesis has no `unique`: drop one of the two options')
  }
  // undefined fields are left out: dag-cbor cannot encode them, and absent fields are what Ceramic writes
  const result: GenesisHeader = { controllers: [...controllers] }
  if (opts.family !== undefined) result.family = opts.family
  if (opts.tags !== undefined) result.tags = [...opts.tags]
  if (opts.schema !== undefined) result.schema = opts.schema.toString()
  if (opts.deterministic !== true) result.unique = opts.unique ?? bytesToBase64(randomBytes(12))
  if (opts.forbidControllerChange === true) result.forbidControllerChange = true
  if (opts.rules !== undefined) result.rules = opts.rules.toString()
  return result
}

/**
 * Builds a tile genesis. With `content` it is signed by `signer` (one of the controllers) and the result is codec's
 * `signRecord` output: the DocID is `new DocID('tile', envelope.cid)`. Without content (`null`/`undefined`) it is an
 * unsigned dag-cbor record, and with `deterministic: true` the same header always gives the same DocID
 * (`new DocID('tile', block.cid)`).
 */
export async function makeGenesis (content: TileContent, opts: TileGenesisOptions, signer: TileSigner): Promise<SignedBlocks<GenesisRecord<TileContent>>>
export async function makeGenesis (content: null | undefined, opts: TileGenesisOptions, signer?: TileSigner): Promise<UnsignedGenesis>
export async function makeGenesis (content: TileContent | null | undefined, opts?: TileGenesisOptions, signer?: TileSigner): Promise<SignedBlocks<GenesisRecord<TileContent>> | UnsignedGenesis>
export async function makeGenesis (content: TileContent | null | undefined, opts: TileGenesisOptions = {}, signer?: TileSigner): Promise<SignedBlocks<GenesisRecord<TileContent>> | UnsignedGenesis> {
  const head = header(opts, signer)
  checkGenesisHeader(head)
  if (content === null || content === undefined) {
    const record: GenesisRecord = { header: head }
    return { record, block: await encodeRecord(record) }
  }
  if (opts.deterministic === true) {
    throw new InvalidCommitError('makeGenesis: a deterministic tile has no genesis content: create it with null content, then update it')
  }
  if (signer === undefined) throw new InvalidCommitError('makeGenesis: a genesis with content must be signed: pass a signer')
  if (!head.controllers.includes(signer.did)) {
    throw new UnauthorizedSignerError(`makeGenesis: signer ${signer.did} is not a controller (${head.controllers.join(', ')})`, {
      details: { did: signer.did, controllers: head.controllers }
    })
  }
  // the size limit is the node's setting: a node refuses content over its own limit when the genesis arrives
  checkTileContent(content, Number.POSITIVE_INFINITY)
  return await signRecord({ header: head, data: cloneJson(content) }, signer)
}
