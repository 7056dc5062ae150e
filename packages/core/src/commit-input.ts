import {
  DAG_CBOR, DAG_JOSE, asAnchorRecord, asUpdateRecord, decodeJWS, decodeRecord, encodeRecord, isSignedCommit, openSignedCommit, unsignedRecordKind
} from '@kiln/codec'
import { CodecError, InvalidCommitError, type Block, type Blockstore, type Commit, type DagJWS } from '@kiln/interface'
import type { CID } from 'multiformats/cid'

/** A commit decoded once, with everything the pipeline needs and the blocks to write if it is accepted. */
export interface IncomingCommit {
  /** The commit's CID: the dag-jose envelope's for signed commits, the record's otherwise. */
  cid: CID
  kind: 'genesis' | 'update' | 'anchor'
  /** The dag-cbor record (the payload of a signed commit). */
  record: Record<string, unknown>
  /** The JWS, for signed commits. */
  jws?: DagJWS
  /** The envelope and payload blocks, or the record's block. */
  blocks: Block[]
}

function kindOf (record: unknown, signed: boolean): IncomingCommit['kind'] {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new InvalidCommitError('A commit record must be a map')
  }
  if (signed) return 'prev' in record ? 'update' : 'genesis'
  return unsignedRecordKind(record) ?? 'update'
}

function checkShape (kind: IncomingCommit['kind'], record: unknown): void {
  if (kind === 'update') asUpdateRecord(record)
  if (kind === 'anchor') asAnchorRecord(record)
}

/** Decodes a commit given in memory form (signed `{jws, linkedBlock}` or an unsigned record). */
export async function readCommit (commit: Commit): Promise<IncomingCommit> {
  if (isSignedCommit(commit)) {
    const opened = await openSignedCommit<Record<string, unknown>>(commit)
    const kind = kindOf(opened.record, true)
    checkShape(kind, opened.record)
    return { cid: opened.envelope.cid, kind, record: opened.record, jws: commit.jws, blocks: [opened.envelope, opened.payload] }
  }
  const kind = kindOf(commit, false)
  checkShape(kind, commit)
  const block = await encodeRecord(commit)
  // Read back what was hashed, so the record is exactly what other nodes will decode from the block.
  const record = await decodeRecord<Record<string, unknown>>(block.bytes)
  return { cid: block.cid, kind, record, blocks: [block] }
}

/** Decodes a commit from a blockstore by CID (for replaying a stored log or serving it). */
export async function readStoredCommit (cid: CID, blocks: Pick<Blockstore, 'get'>): Promise<IncomingCommit> {
  if (cid.code === DAG_JOSE) {
    const envelopeBytes = await blocks.get(cid)
    const jws = await decodeJWS(envelopeBytes, cid)
    const payloadBytes = await blocks.get(jws.link)
    const record = await decodeRecord<Record<string, unknown>>(payloadBytes, jws.link)
    const kind = kindOf(record, true)
    return { cid, kind, record, jws, blocks: [{ cid, bytes: envelopeBytes }, { cid: jws.link, bytes: payloadBytes }] }
  }
  if (cid.code === DAG_CBOR) {
    const bytes = await blocks.get(cid)
    const record = await decodeRecord<Record<string, unknown>>(bytes, cid)
    return { cid, kind: kindOf(record, false), record, blocks: [{ cid, bytes }] }
  }
  throw new CodecError(`Commit ${cid.toString()} is neither dag-cbor nor dag-jose`, { details: { cid: cid.toString() } })
}

/** The commit in the memory form the log API returns: `{jws, linkedBlock}` for signed commits, the record otherwise. */
export function commitValue (commit: IncomingCommit): Commit {
  if (commit.jws !== undefined) return { jws: commit.jws, linkedBlock: commit.blocks[1]!.bytes }
  return commit.record as unknown as Commit
}

/** The schema a commit's header names (a CommitID string, as the tile doctype requires), if any. */
export function schemaNamedBy (record: Record<string, unknown>): string | undefined {
  const header = record.header
  if (typeof header !== 'object' || header === null) return undefined
  const schema = (header as Record<string, unknown>).schema
  return typeof schema === 'string' ? schema : undefined
}
