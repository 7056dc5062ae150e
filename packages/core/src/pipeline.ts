import { asAnchorProof, asAnchorRecord, decodeRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import {
  BlockNotFoundError, ConflictingCommitError, DocumentNotFoundError, InvalidCommitError, InvalidSignatureError,
  UnauthorizedSignerError, UnsupportedChainError,
  type AbortOptions, type AnchorProof, type AnchorProofVerifier, type Block, type Blockstore, type DocState,
  type DoctypeContext, type DoctypeHandler, type SignatureVerifier, type Storage
} from '@kiln/interface'
import { decodeDagJWS } from '@kiln/signing'
import { CID } from 'multiformats/cid'
import { readStoredCommit, type IncomingCommit } from './commit-input.js'
import { anchorState, genesisState, updateState } from './log-steps.js'

/** What the pipeline needs from the node around it. */
export interface PipelineComponents {
  storage: Storage
  verifier: SignatureVerifier
  anchorVerifiers: ReadonlyMap<string, AnchorProofVerifier>
  /** The context doctypes get: reads of other documents at pinned CommitIDs. */
  context: (options: AbortOptions) => DoctypeContext
}

/** A verified anchor: its proof and the time the chain gives it. */
interface VerifiedAnchor {
  proof: AnchorProof
  timestamp: number
}

/** Reads blocks from the ones that came with a commit first, then from storage. */
export function blockGetter (blocks: Pick<Blockstore, 'get'>, extra: readonly Block[] = []): (cid: CID, options?: AbortOptions) => Promise<Uint8Array> {
  const given = new Map(extra.map((b) => [b.cid.toString(), b.bytes]))
  return async (cid, options) => given.get(cid.toString()) ?? await blocks.get(cid, options)
}

/**
 * The apply pipeline of one node: checks each commit against the state it extends (document, `prev`, signer,
 * anchor proof) and computes the next state with the doctype. It writes nothing: the node writes what it returns.
 */
export class Pipeline {
  constructor (private readonly components: PipelineComponents) {}

  /** Checks that a signed commit is signed by one of the DIDs the doctype requires, or that unsigned is allowed. */
  async checkSigner (handler: DoctypeHandler, base: DocState | null, commit: IncomingCommit, options: AbortOptions): Promise<string | undefined> {
    const signers = handler.signers(base, commit.record)
    if (commit.jws === undefined) {
      if (signers.length > 0) {
        throw new UnauthorizedSignerError(`Commit ${commit.cid.toString()} is unsigned; it must be signed by ${signers.join(' or ')}`, {
          details: { commit: commit.cid.toString(), controllers: [...signers] }
        })
      }
      return undefined
    }
    const verified = await this.components.verifier.verifyDagJWS(commit.jws, {
      controllers: signers.length > 0 ? signers : undefined,
      signal: options.signal
    })
    const payload = commit.blocks[1]?.cid
    if (payload === undefined || !verified.payload.equals(payload)) {
      throw new InvalidSignatureError(`The signature of ${commit.cid.toString()} is over another payload`, { details: { commit: commit.cid.toString() } })
    }
    return verified.did
  }

  /** Verifies an anchor commit's proof with the verifier of its chain, reading proof and path blocks with `getBlock`. */
  async verifyAnchor (commit: IncomingCommit, getBlock: (cid: CID, options?: AbortOptions) => Promise<Uint8Array>, options: AbortOptions): Promise<VerifiedAnchor> {
    const record = asAnchorRecord(commit.record)
    let proofBytes: Uint8Array
    try {
      proofBytes = await getBlock(record.proof, options)
    } catch (err) {
      if ((err as Error).name !== 'BlockNotFoundError') throw err
      throw new BlockNotFoundError(`The proof ${record.proof.toString()} of anchor commit ${commit.cid.toString()} is not available`, {
        cause: err, details: { cid: record.proof.toString() }
      })
    }
    const proof = asAnchorProof(await decodeRecord(proofBytes, record.proof))
    const namespace = proof.chainId.split(':')[0]!
    const verifier = this.components.anchorVerifiers.get(namespace)
    if (verifier === undefined) {
      throw new UnsupportedChainError(`No anchor verifier for chain ${proof.chainId} on this node`, { details: { chainId: proof.chainId } })
    }
    const { timestamp } = await verifier.verify({ proof, path: record.path, prev: record.prev }, getBlock, options)
    return { proof, timestamp }
  }

  /** Verifies and applies a genesis commit: the first state of a new document. */
  async applyGenesis (handler: DoctypeHandler, commit: IncomingCommit, options: AbortOptions): Promise<DocState> {
    if (commit.kind !== 'genesis') throw new InvalidCommitError(`Commit ${commit.cid.toString()} is not a genesis commit`)
    const signer = await this.checkSigner(handler, null, commit, options)
    const result = await handler.apply(null, { cid: commit.cid, kind: 'genesis', payload: commit.record, signer }, this.components.context(options))
    return genesisState(handler.code, commit.cid, result, commit.jws !== undefined)
  }

  /**
   * Verifies and applies an update or anchor commit to `base`, the state at the commit's `prev`. With `trusted`, the
   * commit was verified when it was first stored: its signature is not checked again, and an anchor's time is taken
   * from `trusted.timestamp` when known.
   */
  async applyNext (
    handler: DoctypeHandler,
    base: DocState,
    commit: IncomingCommit,
    getBlock: (cid: CID, options?: AbortOptions) => Promise<Uint8Array>,
    options: AbortOptions,
    trusted?: { timestamp?: number }
  ): Promise<DocState> {
    if (commit.kind === 'anchor') {
      if (trusted?.timestamp !== undefined) {
        const record = asAnchorRecord(commit.record)
        const proof = asAnchorProof(await decodeRecord(await getBlock(record.proof, options), record.proof))
        return anchorState(base, commit.cid, proof, trusted.timestamp)
      }
      const { proof, timestamp } = await this.verifyAnchor(commit, getBlock, options)
      return anchorState(base, commit.cid, proof, timestamp)
    }
    if (commit.kind !== 'update') throw new InvalidCommitError(`A genesis commit (${commit.cid.toString()}) cannot extend a document`)
    const signer = trusted === undefined
      ? await this.checkSigner(handler, base, commit, options)
      : commit.jws === undefined ? undefined : decodeDagJWS(commit.jws).kid.split('#')[0]
    const result = await handler.apply(base, { cid: commit.cid, kind: 'update', payload: commit.record, signer }, this.components.context(options))
    return updateState(base, commit.cid, result)
  }

  /** Checks that a commit names this document and extends a commit of it; returns its `prev`. */
  checkLinks (id: DocID, genesis: CID, commit: IncomingCommit): CID {
    const record = commit.record as { id?: unknown, prev?: unknown }
    const docOf = CID.asCID(record.id)
    const prev = CID.asCID(record.prev)
    if (docOf === null || prev === null) throw new InvalidCommitError(`Commit ${commit.cid.toString()} has no id and prev`)
    if (!docOf.equals(genesis)) {
      throw new ConflictingCommitError(`Commit ${commit.cid.toString()} belongs to the document with genesis ${docOf.toString()}, not to ${id.toString()}`, {
        details: { docId: id.toString(), commit: commit.cid.toString() }
      })
    }
    return prev
  }

  /**
   * The CIDs from the genesis to `target` along `prev` links, read from stored commits indexed for the document;
   * `DocumentNotFoundError` when `target` is not a commit of it.
   */
  async pathTo (docId: string, target: CID, current: DocState, options: AbortOptions): Promise<CID[]> {
    const inLog = current.log.findIndex((e) => e.cid.equals(target))
    if (inLog >= 0) return current.log.slice(0, inLog + 1).map((e) => e.cid)
    const indexed = new Set((await this.components.storage.listCommits(docId, options)).map((c) => c.toString()))
    const onLog = new Map(current.log.map((e, i) => [e.cid.toString(), i]))
    const path: CID[] = []
    let cursor: CID = target
    for (;;) {
      const at = onLog.get(cursor.toString())
      if (at !== undefined) return [...current.log.slice(0, at + 1).map((e) => e.cid), ...path.reverse()]
      if (!indexed.has(cursor.toString())) {
        throw new DocumentNotFoundError(`Commit ${target.toString()} is not a known commit of ${docId}`, { details: { docId, commit: target.toString() } })
      }
      path.push(cursor)
      const stored = await readStoredCommit(cursor, this.components.storage.blocks)
      const prev = CID.asCID((stored.record as { prev?: unknown }).prev)
      if (prev === null) throw new DocumentNotFoundError(`Commit ${target.toString()} does not lead back to ${docId}`, { details: { docId } })
      cursor = prev
    }
  }

  /** Recomputes the state at the end of `path` (genesis first) from stored, already verified commits. */
  async replay (handler: DoctypeHandler, path: readonly CID[], current: DocState, options: AbortOptions): Promise<DocState> {
    const times = new Map(current.log.filter((e) => e.timestamp !== undefined).map((e) => [e.cid.toString(), e.timestamp]))
    const getBlock = blockGetter(this.components.storage.blocks)
    let state: DocState | null = null
    for (const cid of path) {
      const commit = await readStoredCommit(cid, this.components.storage.blocks)
      if (state === null) {
        const result = await handler.apply(null, { cid, kind: 'genesis', payload: commit.record, signer: signerOf(commit) }, this.components.context(options))
        state = genesisState(handler.code, cid, result, commit.jws !== undefined)
      } else {
        const known = commit.kind === 'anchor' ? times.get(cid.toString()) : undefined
        state = await this.applyNext(handler, state, commit, getBlock, options, known === undefined && commit.kind === 'anchor' ? undefined : { timestamp: known })
      }
    }
    if (state === null) throw new DocumentNotFoundError('Empty log')
    return state
  }
}

function signerOf (commit: IncomingCommit): string | undefined {
  return commit.jws === undefined ? undefined : decodeDagJWS(commit.jws).kid.split('#')[0]
}
