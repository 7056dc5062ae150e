import {
  DAG_CBOR, DAG_JOSE, asAnchorRecord, asUpdateRecord, decodeJWS, decodeRecord, encodeRecord, isSignedCommit, openSignedCommit, unsignedRecordKind
} from '@kiln/codec'
import { CodecError, InvalidCapabilityError, InvalidCommitError, type Block, type Blockstore, type Commit, type DagJWS } from '@kiln/interface'
import { base64url } from 'multiformats/bases/base64'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

/** A commit decoded once, with everything the pipeline needs and the blocks to write if it is accepted. */
export interface IncomingCommit {
  /** The commit's CID: the dag-jose envelope's for signed commits, the record's otherwise. */
  cid: CID
  kind: 'genesis' | 'update' | 'anchor'
  /** The dag-cbor record (the payload of a signed commit). */
  record: Record<string, unknown>
  /** The JWS, for signed commits. */
  jws?: DagJWS
  /**
   * The envelope and payload blocks, then the CACAO blocks its signatures act under (when the node has them), or the
   * record's block.
   */
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
    const blocks = [opened.envelope, opened.payload]
    if (commit.cacaoBlock !== undefined) blocks.push(await cacaoBlockOf(commit.cacaoBlock, commit.jws))
    return { cid: opened.envelope.cid, kind, record: opened.record, jws: commit.jws, blocks }
  }
  const kind = kindOf(commit, false)
  checkShape(kind, commit)
  const block = await encodeRecord(commit)
  // Read back what was hashed, so the record is exactly what other nodes will decode from the block.
  const record = await decodeRecord<Record<string, unknown>>(block.bytes)
  return { cid: block.cid, kind, record, blocks: [block] }
}

/** Decodes a commit from a blockstore by CID (for replaying a stored log or serving it), with its CACAO blocks. */
export async function readStoredCommit (cid: CID, source: Pick<Blockstore, 'get'>): Promise<IncomingCommit> {
  if (cid.code === DAG_JOSE) {
    const envelopeBytes = await source.get(cid)
    const jws = await decodeJWS(envelopeBytes, cid)
    const payloadBytes = await source.get(jws.link)
    const record = await decodeRecord<Record<string, unknown>>(payloadBytes, jws.link)
    const kind = kindOf(record, true)
    const blocks: Block[] = [{ cid, bytes: envelopeBytes }, { cid: jws.link, bytes: payloadBytes }]
    // The CACAOs travel and are stored with the commit; one that is missing is for the signature check to refuse.
    for (const cap of capabilitiesOf(jws)) {
      try {
        blocks.push({ cid: cap, bytes: await source.get(cap) })
      } catch (err) {
        if ((err as Error).name !== 'BlockNotFoundError') throw err
      }
    }
    return { cid, kind, record, jws, blocks }
  }
  if (cid.code === DAG_CBOR) {
    const bytes = await source.get(cid)
    const record = await decodeRecord<Record<string, unknown>>(bytes, cid)
    return { cid, kind: kindOf(record, false), record, blocks: [{ cid, bytes }] }
  }
  throw new CodecError(`Commit ${cid.toString()} is neither dag-cbor nor dag-jose`, { details: { cid: cid.toString() } })
}

/**
 * The CIDs of the CACAOs a JWS's signatures name (`cap: "ipfs://<CID>"` in a protected header), each once. Lenient:
 * a header that does not parse names none here; the signature check refuses it.
 */
export function capabilitiesOf (jws: DagJWS): CID[] {
  const found = new Map<string, CID>()
  for (const signature of jws.signatures) {
    try {
      const header = JSON.parse(new TextDecoder().decode(base64url.baseDecode(signature.protected))) as { cap?: unknown }
      if (typeof header.cap !== 'string' || !header.cap.startsWith('ipfs://')) continue
      const cap = CID.parse(header.cap.slice('ipfs://'.length))
      found.set(cap.toString(), cap)
    } catch {
      continue
    }
  }
  return [...found.values()]
}

/** The block of a `cacaoBlock` sent with a commit: it must be a CACAO the JWS names (dag-cbor, sha2-256). */
async function cacaoBlockOf (bytes: Uint8Array, jws: DagJWS): Promise<Block> {
  const cid = CID.createV1(DAG_CBOR, await sha256.digest(bytes))
  if (!capabilitiesOf(jws).some((cap) => cap.equals(cid))) {
    throw new InvalidCapabilityError(`CACAO format: the cacaoBlock sent (${cid.toString()}) is not the capability the JWS names`, {
      details: { reason: 'format', cid: cid.toString() }
    })
  }
  return { cid, bytes }
}

/** The commit in the memory form the log API returns: `{jws, linkedBlock}` for signed commits, the record otherwise. */
export function commitValue (commit: IncomingCommit): Commit {
  if (commit.jws !== undefined) {
    // The wire form carries one CACAO: the first signature's (a commit signed under several travels between nodes
    // as blocks, which carry them all).
    const cacao = commit.blocks[2]
    return cacao === undefined ? { jws: commit.jws, linkedBlock: commit.blocks[1]!.bytes } : { jws: commit.jws, linkedBlock: commit.blocks[1]!.bytes, cacaoBlock: cacao.bytes }
  }
  return commit.record as unknown as Commit
}

/** The schema a commit's header names (a CommitID string, as the tile doctype requires), if any. */
export function schemaNamedBy (record: Record<string, unknown>): string | undefined {
  const header = record.header
  if (typeof header !== 'object' || header === null) return undefined
  const schema = (header as Record<string, unknown>).schema
  return typeof schema === 'string' ? schema : undefined
}
