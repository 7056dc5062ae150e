/**
 * The apply pipeline: the one path of every commit, wherever it comes from (an HTTP client, an in-process caller, an
 * import file, the node's own anchor service, later a peer). Read {@link Pipeline.create} and {@link Pipeline.apply}
 * top to bottom; each stage is one named step:
 *
 *   1. decode      the blocks hash to their CIDs; the shape is a genesis, a signed update or an anchor commit
 *   2. links       `id` names this document; `prev` is a commit of it
 *   3. signature   every signature verifies and every signer may write; a signature under a CACAO signs for the
 *                  CACAO's did:pkh issuer once the CACAO is checked (or the anchor proof verifies on its chain)
 *   4. rules       for a document that names a rules document: the rules judge the transition the doctype computes
 *                  (who signed, what changed, cited evidence); an anchor settles what a verdict left provisional
 *   5. doctype     the doctype computes the next content and metadata
 *   6. conflict    a commit that does not extend the tip is compared with it by the conflict rule; a local commit
 *                  that does not extend the tip is refused with `ConflictingCommitError` naming the tip
 *   7. write       blocks, the log entry, the commit index and the head in one batch, group-committed and durable
 *   8. after write watchers, the anchor request, the network announcement (never undo or delay the write)
 *
 * A commit that fails a stage writes nothing. No stage's cost depends on the length of the document's log, but for
 * commits that fork it (their cost is the distance to the fork).
 */
import { asAnchorProof, asAnchorRecord, asUpdateRecord, decodeRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import {
  AnchorStatus, BlockNotFoundError, ConflictingCommitError, DocumentNotFoundError, InvalidCapabilityError, InvalidCommitError, InvalidSignatureError,
  LogEntryType, SignatureStatus, UnauthorizedSignerError, UnsupportedChainError,
  type AbortOptions, type AnchorProof, type AnchorProofVerifier, type Block, type Blockstore, type Commit, type DocHead,
  type DocMetadata, type DoctypeContext, type DoctypeHandler, type DoctypeResult, type LogEntry, type SignatureVerifier,
  type Storage, type StorageBatch, type StoredLogEntry, type VerifiedSignature, type VerifiedSigner
} from '@kiln/interface'
import { checkCacaoGrant, decodeCacao, decodeDagJWS, parseCapabilityURI, parseKid, verifyCacao, type Cacao } from '@kiln/signing'
import { CID } from 'multiformats/cid'
import { capabilitiesOf, readCommit, readStoredCommit, type IncomingCommit } from './commit-input.js'
import { pickWinningBranch } from './conflict.js'
import { historicalStatus, stateOf, storedEntry, withAnchorTimes, type DocRecord, type Documents } from './documents.js'
import type { GroupCommit } from './group-commit.js'
import { indexRecordOfDocument } from './query-index.js'
import { heldProvisional, type HeldProvisional, type RulesStage } from './rules-stage.js'

/** How many voided commits a head remembers (the latest). */
const MAX_VOIDED_KEPT = 32

/** Every how many log entries a head is stored as a checkpoint, so a load at a commit replays fewer than this. */
export const CHECKPOINT_INTERVAL = 32

/**
 * Where a commit comes from. A `local` commit (an API write) must extend the tip, or it is refused, so no write is
 * acknowledged and then dropped; a `remote` one (a peer, an import) goes to the conflict rule, and a loser is kept off
 * the log; an
 * `anchor` commit of the node's own anchor service applies only while the tip it anchors is still the tip.
 */
export type CommitOrigin = 'local' | 'remote' | 'anchor'

/** What a submission asks besides the commit itself. */
export interface SubmitOptions extends AbortOptions {
  origin: CommitOrigin
  /** Mark the new tip PENDING and ask for its anchor after the write. */
  anchor: boolean
  /** The chain to anchor on (the node's first when absent). */
  anchorChain?: string
  pin: boolean
  publish: boolean
  /** For `anchor` commits: the tip they anchor. */
  onTip?: CID
  /**
   * Where blocks the node lacks come from (a peer commit's anchor proof and Merkle nodes): asked after the given
   * blocks and storage, and what it returns is written with the commit, only if the commit is accepted.
   */
  fetchBlock?: (cid: CID, options?: AbortOptions) => Promise<Uint8Array>
  /** When a signed commit's CACAO is judged (ms): its anchor time, for an import that anchors it; else the node clock. */
  at?: number
}

/** What happened to a document, for the after-write stage. */
export interface WriteEvent {
  id: DocID
  record: DocRecord
  options: SubmitOptions
  /**
   * For a write that switched the document to another branch: the log before it and the last position both logs
   * share. The entries past `fork` left the log, and the record's entries past it joined.
   */
  switched?: { log: readonly LogEntry[], fork: number }
}

/** What the pipeline needs from the node around it. */
export interface PipelineComponents {
  storage: Storage
  documents: Documents
  writer: GroupCommit
  verifier: SignatureVerifier
  anchorVerifiers: ReadonlyMap<string, AnchorProofVerifier>
  /** The node's clock (ms since the epoch): what a local commit's CACAO is judged at. */
  now: () => number
  /** Runs `fn` as the only writer of `docId`. */
  exclusive: <T>(docId: string, fn: () => Promise<T>) => Promise<T>
  /** The context doctypes get: reads of other documents at pinned CommitIDs. */
  context: (options: AbortOptions) => DoctypeContext
  /** Stage 4: the rules of documents that name a rules document. */
  rules: RulesStage
  afterWrite: (event: WriteEvent) => void
}

/** Options of the signature stage: when the commit is judged. */
export interface SignatureCheckOptions extends AbortOptions {
  /**
   * The time (ms since the epoch) at which a CACAO the commit is signed under must be valid: its anchor time for a
   * commit of a peer's log that is anchored; the node's clock (`now()`) when absent.
   */
  at?: number
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
 * Reads blocks like {@link blockGetter}, then, for a block neither holds, from `fetch` (a peer); the blocks fetched
 * are collected in `fetched`, to be written with the commit that read them.
 */
function fetchingBlockGetter (
  blocks: Pick<Blockstore, 'get'>, extra: readonly Block[], fetch: (cid: CID, options?: AbortOptions) => Promise<Uint8Array>
): { get: (cid: CID, options?: AbortOptions) => Promise<Uint8Array>, fetched: Block[] } {
  const local = blockGetter(blocks, extra)
  const fetched: Block[] = []
  const get = async (cid: CID, options?: AbortOptions): Promise<Uint8Array> => {
    try {
      return await local(cid, options)
    } catch (err) {
      if ((err as Error).name !== 'BlockNotFoundError') throw err
    }
    const seen = fetched.find((b) => b.cid.equals(cid))
    if (seen !== undefined) return seen.bytes
    const bytes = await fetch(cid, options)
    fetched.push({ cid, bytes })
    return bytes
  }
  return { get, fetched }
}

export class Pipeline {
  constructor (private readonly c: PipelineComponents) {}

  /** A new document from its genesis commit; an existing document with that genesis is returned as it is. */
  async create (handler: DoctypeHandler, genesis: Commit, options: SubmitOptions): Promise<{ id: DocID, record: DocRecord }> {
    // 1. decode
    return await this.createDecoded(handler, await readCommit(genesis), options)
  }

  /** {@link Pipeline.create} from stage 2 on, for a genesis already decoded (e.g. from a peer's blocks). */
  async createDecoded (handler: DoctypeHandler, commit: IncomingCommit, options: SubmitOptions): Promise<{ id: DocID, record: DocRecord }> {
    if (commit.kind !== 'genesis') throw new InvalidCommitError(`Commit ${commit.cid.toString()} is not a genesis commit`)
    const id = new DocID(handler.code, commit.cid)
    const key = id.toString()
    return await this.c.exclusive(key, async () => {
      const existing = await this.c.documents.find(key, options)
      if (existing !== undefined) {
        if (options.pin && !await this.c.storage.isPinned(key, options)) await this.c.storage.pin(key, options)
        return { id, record: existing }
      }
      // 2. links: a genesis links to nothing. 3. signature
      const signer = (await this.checkSignature(handler, null, commit, options))?.did
      // 5. doctype
      const result = await handler.apply(null, { cid: commit.cid, kind: 'genesis', payload: commit.record, signer }, this.c.context(options))
      // 4. rules: a genesis is its controller's; the rules it names must exist and be rules.
      await this.c.rules.checkGenesis(result.metadata, options)
      let record = genesisRecord(handler.code, commit.cid, result, commit.jws !== undefined)
      if (options.anchor) record = withStatus(record, AnchorStatus.PENDING)
      // 6. conflict: a new document has no other branch. 7. write
      await this.c.writer.write((batch) => { writeAppend(batch, key, record, commit.blocks, options.pin) })
      this.c.documents.set(key, record)
      // 8. after write
      this.c.afterWrite({ id, record, options })
      return { id, record }
    })
  }

  /** Applies an update or anchor commit (decoded) to a document. */
  async apply (id: DocID, handler: DoctypeHandler, commit: IncomingCommit, given: Block[], options: SubmitOptions): Promise<DocRecord> {
    const key = id.toString()
    // The blocks written with the commit: those given, and those its anchor check fetches from `options.fetchBlock`.
    let supporting = given
    return await this.c.exclusive(key, async () => {
      const current = await this.c.documents.get(key, options)
      if (options.onTip !== undefined && !current.head.tip.equals(options.onTip)) return current

      // 2. links
      if (commit.kind === 'genesis') throw new InvalidCommitError(`A genesis commit (${commit.cid.toString()}) cannot be applied to ${key}`)
      const prev = checkLinks(id, current.head.genesis, commit)
      const extendsTip = prev.equals(current.head.tip)
      // A commit on the tip is new (it is not the tip, whose prev it names); any other may be known already.
      const known = extendsTip ? undefined : await this.c.storage.getCommitPlace(key, commit.cid, options)
      if (known?.seq !== undefined && current.log[known.seq]?.cid.equals(commit.cid) === true) return current
      if (known !== undefined && options.origin === 'local') throw refused(key, commit.cid, current)
      if (known !== undefined) return current
      const { record: base, fork, checkpoints } = extendsTip
        ? { record: current, fork: current.log.length - 1, checkpoints: [] }
        : await this.stateAt(key, handler, current, prev, options).catch((err: unknown) => { throw (err as Error).name === 'DocumentNotFoundError' ? unknownPrev(key, commit.cid, prev) : err })

      // 3. signature (or anchor proof). 4. rules: none yet. 5. doctype
      let candidate: DocRecord
      if (commit.kind === 'anchor') {
        let getBlock = blockGetter(this.c.storage.blocks, given)
        let fetched: Block[] = []
        if (options.fetchBlock !== undefined) ({ get: getBlock, fetched } = fetchingBlockGetter(this.c.storage.blocks, given, options.fetchBlock))
        const { proof, timestamp } = await this.verifyAnchor(commit, getBlock, options)
        supporting = [...given, ...fetched]
        candidate = await this.settleAnchor(base, anchorRecord(base, commit.cid, proof, timestamp), timestamp, options)
      } else {
        candidate = await this.applyUpdate(key, handler, base, commit, options)
      }
      if (options.anchor) candidate = withStatus(candidate, AnchorStatus.PENDING)

      // 6. conflict. A local write is compare-and-set on the tip: one that does not extend it either loses the rule
      // or, winning it, would drop commits already acknowledged. Either way it is refused, naming the tip.
      if (!extendsTip && options.origin === 'local') throw refused(key, commit.cid, current)
      const wins = extendsTip || pickWinningBranch(current.log.slice(fork), candidate.log.slice(fork)) === 'b'
      if (!wins) {
        // A remote commit that loses is kept, off the log, so a load at its CommitID and commits built on it work.
        await this.c.writer.write((batch) => { writeOffLog(batch, key, commit, supporting) })
        return current
      }

      // 7. write
      const blocks = [...commit.blocks, ...supporting]
      if (extendsTip) {
        await this.c.writer.write((batch) => { writeAppend(batch, key, candidate, blocks, options.pin) })
      } else {
        await this.c.writer.write((batch) => { writeBranchSwitch(batch, key, current, candidate, fork, checkpoints, blocks, options.pin) })
      }
      this.c.documents.set(key, candidate)

      // 8. after write
      this.c.afterWrite({ id, record: candidate, options, ...(extendsTip ? {} : { switched: { log: current.log, fork } }) })
      return candidate
    })
  }

  /**
   * Applies a run of a peer's commits to one document as one write: `commits` are oldest first, each the `prev` of the
   * next, and the first is the document's genesis (a document the node may not hold yet) or a commit on its tip. The
   * signatures are checked all at once (the verifier batches them), the doctype runs the commits in order, and the run
   * is one batch, so a log synced from a peer costs one group commit, not one per commit. A commit refused stops the
   * run: those before it are written, then its error is thrown. Resolves false, having done nothing, when the run
   * does not start on the tip (a branch: the caller applies it commit by commit, through the conflict rule).
   */
  async applyRun (id: DocID, handler: DoctypeHandler, commits: readonly IncomingCommit[], options: SubmitOptions): Promise<boolean> {
    const key = id.toString()
    return await this.c.exclusive(key, async () => {
      const current = await this.c.documents.find(key, options)
      // 2. links, for the whole run: it starts on what the node holds and each commit names the one before.
      let run = commits
      if (run[0]?.kind === 'genesis') {
        if (!run[0].cid.equals(id.cid)) throw new InvalidCommitError(`Commit ${run[0].cid.toString()} is not the genesis of ${key}`, { details: { docId: key, commit: run[0].cid.toString() } })
      } else if (current === undefined) {
        throw new DocumentNotFoundError(`Document ${key} is not on this node`, { details: { docId: key } })
      }
      // The commits up to the tip the node holds are applied already.
      if (current !== undefined) run = run.slice(run.findIndex((commit) => commit.cid.equals(current.head.tip)) + 1)
      if (run.length === 0) return true
      if (current !== undefined && !checkLinks(id, current.head.genesis, run[0]!).equals(current.head.tip)) return false
      for (let i = 1; i < run.length; i++) {
        if (!checkLinks(id, id.cid, run[i]!).equals(run[i - 1]!.cid)) return false
      }

      // 3. signatures: verified all at once, each against its signer's right to write when its turn comes.
      const verified = new Map(run.map((commit) => [commit, commit.jws === undefined ? undefined : settle(this.c.verifier.verifyDagJWS(commit.jws, { signal: options.signal }))]))
      const records: DocRecord[] = []
      const blocks: Block[][] = []
      let base: DocRecord | null = current ?? null
      let refusal: unknown
      for (const commit of run) {
        try {
          let candidate: DocRecord
          let written: Block[] = commit.blocks
          if (commit.kind === 'anchor') {
            const getter = options.fetchBlock === undefined
              ? { get: blockGetter(this.c.storage.blocks), fetched: [] }
              : fetchingBlockGetter(this.c.storage.blocks, [], options.fetchBlock)
            const { proof, timestamp } = await this.verifyAnchor(commit, getter.get, options)
            written = [...commit.blocks, ...getter.fetched]
            candidate = await this.settleAnchor(base!, anchorRecord(base!, commit.cid, proof, timestamp), timestamp, options)
          } else {
            // A CACAO is judged when the commit was anchored, if the run anchors it: the first anchor after it.
            const at = commit.jws !== undefined && capabilitiesOf(commit.jws).length > 0 ? await this.anchorTimeAfter(run, commit, options) : undefined
            if (base !== null) {
              candidate = await this.applyUpdate(key, handler, base, commit, { ...options, at }, verified.get(commit))
            } else {
              const signer = (await this.checkSignature(handler, base, commit, { ...options, at }, verified.get(commit)))?.did
              // 5. doctype. 4. rules: the rules a genesis names must exist and be rules.
              const result = await handler.apply(null, { cid: commit.cid, kind: commit.kind, payload: commit.record, signer }, this.c.context(options))
              await this.c.rules.checkGenesis(result.metadata, options)
              candidate = genesisRecord(handler.code, commit.cid, result, commit.jws !== undefined)
            }
          }
          if (options.anchor) candidate = withStatus(candidate, AnchorStatus.PENDING)
          records.push(candidate)
          blocks.push(written)
          base = candidate
        } catch (err) {
          refusal = err
          break
        }
      }
      // 6. conflict: the run extends the tip. 7. write: what verified, in one batch.
      if (records.length > 0) {
        await this.c.writer.write((batch) => { writeRun(batch, key, records, blocks, options.pin) })
        this.c.documents.set(key, records[records.length - 1]!)
        // 8. after write, for each commit in turn.
        for (const record of records) this.c.afterWrite({ id, record, options })
      }
      if (refusal !== undefined) throw refusal
      return true
    })
  }

  /**
   * Stages 3 to 5 of a signed update on `base`. Without rules, the signers must be controllers. With rules, any
   * signer whose signature verifies may have written: the doctype computes the transition (skipping its controller
   * check), and the rules judge it; a verdict with open conditions is kept in the head until an anchor settles it.
   */
  private async applyUpdate (
    docId: string, handler: DoctypeHandler, base: DocRecord, commit: IncomingCommit, options: SignatureCheckOptions, checked?: Promise<Settled<VerifiedSignature>>
  ): Promise<DocRecord> {
    const ruled = base.head.metadata.rules !== undefined
    // 3. signature
    const signed = await this.checkSignature(handler, base, commit, options, checked, !ruled)
    // 5. doctype
    const result = await handler.apply(stateOf(base), {
      cid: commit.cid, kind: 'update', payload: commit.record, signer: signed?.did, signers: signed?.signers, ...(ruled ? { authorizedByRules: true } : {})
    }, this.c.context(options))
    let record = updateRecord(base, commit.cid, result)
    // 4. rules, on the transition the doctype computed (an update that only adds rules has them checked, not judged).
    if (!ruled) {
      if (result.metadata.rules !== undefined) await this.c.rules.rulesAt(result.metadata.rules, options)
      return record
    }
    const conditions = await this.c.rules.judge({
      docId, commit: commit.cid, record: asUpdateRecord(commit.record), base, result,
      signers: signed?.signers ?? [], capabilitySigners: signed?.capabilitySigners ?? []
    }, options)
    if (conditions.length > 0) {
      const held = [...(base.head.provisional ?? []) as HeldProvisional[], heldProvisional(commit.cid, conditions, base.head)]
      record = { head: { ...record.head, provisional: held }, log: record.log }
    }
    return record
  }

  /**
   * Stage 4 for an anchor commit: what the anchor settles of the provisional commits it covers. A missed deadline
   * voids that commit and those after it: the state is the one before it, and the log keeps every commit.
   */
  private async settleAnchor (base: DocRecord, anchored: DocRecord, timestamp: number, options: AbortOptions): Promise<DocRecord> {
    if (base.head.provisional === undefined) return anchored
    const settled = await this.c.rules.settle(base.head, timestamp, options)
    const { provisional: _open, ...head } = anchored.head
    const next: DocHead = settled.provisional === undefined ? head : { ...head, provisional: settled.provisional }
    if (settled.voided !== undefined) {
      next.content = settled.voided.restore.content
      next.metadata = settled.voided.restore.metadata
      next.voided = [...(base.head.voided ?? []), ...settled.voided.commits].slice(-MAX_VOIDED_KEPT)
    }
    return { head: next, log: anchored.log }
  }

  /**
   * The stage-3 check of a signed commit: every signature of the JWS verifies, over this payload. Returns the first
   * signer's DID (what the doctype is told) and the effective DIDs of all signers, in order; `undefined` for an
   * unsigned commit. With `authorize` (the default) every signer must be one the doctype allows; without it no
   * controller check is made here and a later stage decides who may write.
   */
  async checkSignature (
    handler: DoctypeHandler, base: DocRecord | null, commit: IncomingCommit, options: SignatureCheckOptions,
    checked?: Promise<Settled<VerifiedSignature>>, authorize: boolean = true
  ): Promise<{ did: string, signers: string[], capabilitySigners: string[] } | undefined> {
    const allowed = authorize ? handler.signers(base === null ? null : stateOf(base), commit.record) : []
    if (commit.jws === undefined) {
      if (allowed.length > 0) {
        throw new UnauthorizedSignerError(`Commit ${commit.cid.toString()} is unsigned; it must be signed by ${allowed.join(' or ')}`, {
          details: { commit: commit.cid.toString(), controllers: [...allowed] }
        })
      }
      return undefined
    }
    // A signer's right to write comes first, before its signature is trusted or its DID resolved: a stranger's
    // commit is unauthorized whether its signature verifies or not. A signature under a capability names its
    // effective signer only in the CACAO, so it is judged once the capability is checked.
    if (allowed.length > 0) {
      for (const signature of decodeDagJWS(commit.jws).signatures) {
        if (signature.cap === undefined) this.authorizeSigner(allowed, parseKid(signature.kid).did, commit)
      }
    }
    let verified: VerifiedSignature
    if (checked === undefined) {
      verified = await this.c.verifier.verifyDagJWS(commit.jws, { signal: options.signal })
    } else {
      const outcome = await checked
      if (!outcome.ok) throw outcome.error
      verified = outcome.value
    }
    const payload = commit.blocks[1]?.cid
    if (payload === undefined || !verified.payload.equals(payload)) {
      throw new InvalidSignatureError(`The signature of ${commit.cid.toString()} is over another payload`, { details: { commit: commit.cid.toString() } })
    }
    const signers = await this.effectiveSigners(handler, verified, commit, options)
    if (allowed.length > 0) for (const did of signers) this.authorizeSigner(allowed, did, commit)
    const capabilitySigners = signers.filter((_, i) => verified.signers?.[i]?.capability !== undefined)
    return { did: signers[0]!, signers, capabilitySigners }
  }

  /**
   * The DIDs on whose behalf each verified signature was made: the key's DID, or, for a signature under a CACAO, its
   * did:pkh issuer once the CACAO is checked: it is among the commit's blocks (or stored), its SIWE signature recovers
   * the issuer, it is valid at `options.at` (else the node's clock), it is granted to the key that signed, and its
   * resources cover the document (a genesis: only `ceramic://*`). `InvalidCapabilityError` names what failed.
   */
  private async effectiveSigners (handler: DoctypeHandler, verified: VerifiedSignature, commit: IncomingCommit, options: SignatureCheckOptions): Promise<string[]> {
    // A verifier written before multi-signature JWS reports only the first signer, the one signer it checked: fine
    // for a JWS with one signature, never for one with more.
    const reported = Array.isArray(verified.signers) && verified.signers.length > 0
    const count = commit.jws === undefined ? 1 : commit.jws.signatures.length
    if (!reported && count > 1) {
      throw new InvalidSignatureError(`Commit ${commit.cid.toString()} has ${count} signatures, and this node's verifier reports only one`, { details: { commit: commit.cid.toString() } })
    }
    if (reported && verified.signers.length !== count) {
      throw new InvalidSignatureError(`Commit ${commit.cid.toString()} has ${count} signatures, and the verifier reports ${verified.signers.length}`, { details: { commit: commit.cid.toString() } })
    }
    const signers: readonly VerifiedSigner[] = reported ? verified.signers : [{ did: verified.did, kid: verified.kid }]
    const out: string[] = []
    for (const signer of signers) {
      if (signer.capability === undefined) {
        out.push(signer.did)
        continue
      }
      const cacao = await this.cacaoOf(signer.capability, commit, options)
      verifyCacao(cacao, { now: options.at ?? this.c.now() })
      const genesis = commit.kind === 'genesis' ? null : CID.asCID(commit.record.id)
      checkCacaoGrant(cacao, { audience: signer.did, ...(genesis === null ? {} : { docId: new DocID(handler.code, genesis).toString() }) })
      out.push(cacao.p.iss)
    }
    return out
  }

  /** The CACAO a `cap` names: from the commit's blocks, else storage; `InvalidCapabilityError` when neither has it. */
  private async cacaoOf (cap: string, commit: IncomingCommit, options: AbortOptions): Promise<Cacao> {
    const cid = parseCapabilityURI(cap)
    let bytes = commit.blocks.find((block) => block.cid.equals(cid))?.bytes
    if (bytes === undefined) {
      try {
        bytes = await this.c.storage.blocks.get(cid, options)
      } catch (err) {
        if ((err as Error).name !== 'BlockNotFoundError') throw err
        throw new InvalidCapabilityError(`CACAO missing: ${commit.cid.toString()} is signed under ${cap}, which was not sent with it (cacaoBlock) and is not stored here`, {
          cause: err, details: { reason: 'missing', commit: commit.cid.toString(), cap }
        })
      }
    }
    return await decodeCacao(bytes, cid)
  }

  /** Throws `UnauthorizedSignerError` unless `did` is one of the `allowed` signers of the commit. */
  private authorizeSigner (allowed: readonly string[], did: string, commit: IncomingCommit): void {
    if (allowed.includes(did)) return
    throw new UnauthorizedSignerError(`${did} is not an allowed signer of ${commit.cid.toString()}; controllers: ${allowed.join(', ')}`, {
      details: { did, commit: commit.cid.toString(), controllers: [...allowed] }
    })
  }

  /**
   * The time (ms) of the first anchor commit after `commit` in `run`, which anchors it; undefined when the run has
   * none, or its proof does not verify (that anchor commit is refused in its turn).
   */
  private async anchorTimeAfter (run: readonly IncomingCommit[], commit: IncomingCommit, options: SubmitOptions): Promise<number | undefined> {
    const anchor = run.slice(run.indexOf(commit) + 1).find((c) => c.kind === 'anchor')
    if (anchor === undefined) return undefined
    const getBlock = options.fetchBlock === undefined
      ? blockGetter(this.c.storage.blocks)
      : fetchingBlockGetter(this.c.storage.blocks, [], options.fetchBlock).get
    try {
      return (await this.verifyAnchor(anchor, getBlock, options)).timestamp * 1000
    } catch {
      return undefined
    }
  }

  /** The stage-3 check of an anchor commit: its proof verifies with the verifier of its chain. */
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
    const verifier = this.c.anchorVerifiers.get(namespace)
    if (verifier === undefined) {
      throw new UnsupportedChainError(`No anchor verifier for chain ${proof.chainId} on this node`, { details: { chainId: proof.chainId } })
    }
    const { timestamp } = await verifier.verify({ proof, path: record.path, prev: record.prev }, getBlock, options)
    return { proof, timestamp }
  }

  /**
   * The document as it was at commit `target` (on the log or on a branch that lost), and the log position where that
   * state's history leaves the current log. Starts from the nearest checkpoint, so it replays fewer than
   * {@link CHECKPOINT_INTERVAL} commits of the log, plus those of the branch. `DocumentNotFoundError` when `target`
   * is not a commit of the document.
   */
  async stateAt (docId: string, handler: DoctypeHandler, current: DocRecord | CurrentHead, target: CID, options: AbortOptions): Promise<BranchState> {
    if (target.equals(current.head.tip) && current.log !== undefined) return { record: current as DocRecord, fork: current.log.length - 1, checkpoints: [] }
    // A commit is on the log when the commit index gives it a position (the index follows every branch switch);
    // with the log in memory, the position is checked against it too.
    const onLog = (seq: number | undefined, cid: CID): seq is number =>
      seq !== undefined && (current.log === undefined || current.log[seq]?.cid.equals(cid) === true)
    // Walk back from the target along `prev` to the first commit on the current log.
    const branch: IncomingCommit[] = []
    let cursor = target
    let fork: number
    for (;;) {
      const place = await this.c.storage.getCommitPlace(docId, cursor, options)
      if (place === undefined) {
        throw new DocumentNotFoundError(`Commit ${target.toString()} is not a known commit of ${docId}`, { details: { docId, commit: target.toString() } })
      }
      if (onLog(place.seq, cursor)) { fork = place.seq; break }
      const stored = await readStoredCommit(cursor, this.c.storage.blocks)
      branch.push(stored)
      const prev = CID.asCID(stored.record.prev)
      if (prev === null) throw new DocumentNotFoundError(`Commit ${target.toString()} does not lead back to ${docId}`, { details: { docId } })
      cursor = prev
    }
    // The log up to the fork: from memory when the document is cached, else read up to there (never past it).
    const entries = current.log !== undefined
      ? current.log.slice(0, fork + 1).map(storedEntry)
      : await this.c.storage.readLog(docId, { to: fork + 1 }, options)
    const replay = await this.replayer(docId, handler, current.head.genesis, entries, options)
    for (const commit of branch.reverse()) await replay.next(commit)
    return { record: replay.record(), fork, checkpoints: replay.checkpoints }
  }

  /**
   * A replay of stored, already verified commits up to the end of `entries` (the log from the genesis to a position),
   * from the nearest checkpoint: signatures are not checked again, and anchor times come from the entries. The heads
   * it passes at checkpoint positions beyond `entries` are collected, for a branch that is about to become the log.
   */
  private async replayer (docId: string, handler: DoctypeHandler, genesisCid: CID, entries: readonly StoredLogEntry[], options: AbortOptions): Promise<Replay> {
    const seq = entries.length - 1
    const checkpoint = await this.c.storage.getCheckpoint(docId, seq, options)
    const usable = checkpoint !== undefined && entries[checkpoint.seq]?.cid.equals(checkpoint.head.tip) === true
    // One working log, appended in place: a replay costs the commits it replays, not a copy of the log per commit.
    const log = withAnchorTimes(entries.slice(0, usable ? checkpoint.seq + 1 : 1))
    let head: DocHead
    if (usable) {
      head = checkpoint.head
    } else {
      const genesis = await readStoredCommit(genesisCid, this.c.storage.blocks)
      const result = await handler.apply(null, { cid: genesis.cid, kind: 'genesis', payload: genesis.record, signer: await signerOf(genesis) }, this.c.context(options))
      head = genesisRecord(handler.code, genesis.cid, result, genesis.jws !== undefined).head
    }
    const checkpoints: DocHead[] = []
    const getBlock = blockGetter(this.c.storage.blocks)
    const next = async (commit: IncomingCommit): Promise<void> => {
      if (commit.kind === 'anchor') {
        const stored = entries[log.length]
        let timestamp = stored?.cid.equals(commit.cid) === true ? stored.timestamp : undefined
        let proof: AnchorProof
        if (timestamp === undefined) {
          ({ proof, timestamp } = await this.verifyAnchor(commit, getBlock, options))
        } else {
          const record = asAnchorRecord(commit.record)
          proof = asAnchorProof(await decodeRecord(await getBlock(record.proof, options), record.proof))
        }
        const before = head
        head = anchorHead(head, commit.cid, proof)
        pushAnchor(log, commit.cid, timestamp)
        if (before.provisional !== undefined) head = (await this.settleAnchor({ head: before, log }, { head, log }, timestamp, options)).head
      } else if (commit.kind === 'update') {
        // Signatures are not checked again, but the rules run again: their verdict is part of the state.
        const ruled = head.metadata.rules !== undefined
        const { signers, capabilitySigners } = await storedSigners(commit)
        const result = await handler.apply(stateOf({ head, log }), {
          cid: commit.cid, kind: 'update', payload: commit.record, signer: signers[0], signers, ...(ruled ? { authorizedByRules: true } : {})
        }, this.c.context(options))
        const before = head
        head = updateHead(head, commit.cid, result)
        if (ruled) {
          const conditions = await this.c.rules.judge({
            docId, commit: commit.cid, record: asUpdateRecord(commit.record), base: { head: before, log }, result, signers, capabilitySigners
          }, options)
          if (conditions.length > 0) head = { ...head, provisional: [...(before.provisional ?? []) as HeldProvisional[], heldProvisional(commit.cid, conditions, before)] }
        }
        log.push({ cid: commit.cid, type: LogEntryType.SIGNED })
      } else {
        throw new InvalidCommitError(`A genesis commit (${commit.cid.toString()}) cannot extend ${docId}`)
      }
      const at = log.length - 1
      if (at > seq && at % CHECKPOINT_INTERVAL === 0) checkpoints.push({ ...head, anchorStatus: historicalStatus(log) })
    }
    for (let at = log.length; at <= seq; at++) await next(await readStoredCommit(entries[at]!.cid, this.c.storage.blocks))
    return {
      next,
      checkpoints,
      record: () => {
        const frozen = [...log]
        return { head: { ...head, anchorStatus: historicalStatus(frozen) }, log: frozen }
      }
    }
  }
}

/** A document's head without its log (a load at a commit of a document not in the cache reads no more log than it needs). */
export interface CurrentHead {
  head: DocHead
  log?: undefined
}

/** A state reached by replay: where its history leaves the current log, and the checkpoint heads past that point. */
interface BranchState {
  record: DocRecord
  fork: number
  checkpoints: DocHead[]
}

interface Replay {
  next(commit: IncomingCommit): Promise<void>
  /** Heads at checkpoint positions past the starting position, met on the way. */
  checkpoints: DocHead[]
  record(): DocRecord
}

/** Stage 2: the commit names this document and links to a `prev`; returns it. */
function checkLinks (id: DocID, genesis: CID, commit: IncomingCommit): CID {
  const docOf = CID.asCID(commit.record.id)
  const prev = CID.asCID(commit.record.prev)
  if (docOf === null || prev === null) throw new InvalidCommitError(`Commit ${commit.cid.toString()} has no id and prev`)
  if (!docOf.equals(genesis)) {
    throw new ConflictingCommitError(`Commit ${commit.cid.toString()} belongs to the document with genesis ${docOf.toString()}, not to ${id.toString()}`, {
      details: { docId: id.toString(), commit: commit.cid.toString() }
    })
  }
  return prev
}

/** The error of stage 6 for a local commit that loses: it names the tip that won. */
function refused (docId: string, commit: CID, current: DocRecord): ConflictingCommitError {
  const tip = current.head.tip.toString()
  return new ConflictingCommitError(
    `Commit ${commit.toString()} was not applied to ${docId}: it does not extend the tip ${tip}, which wins the conflict rule; build it on ${tip} and submit it again`,
    { details: { docId, commit: commit.toString(), tip } }
  )
}

/** Stage 2's error for a `prev` this node does not know as a commit of the document. */
function unknownPrev (docId: string, commit: CID, prev: CID): ConflictingCommitError {
  return new ConflictingCommitError(`Commit ${commit.toString()} extends ${prev.toString()}, which is not a commit of ${docId} known here`, {
    details: { docId, commit: commit.toString(), prev: prev.toString() }
  })
}

/**
 * The first signer of a stored signed commit (verified when the commit was first stored): the DID in its `kid`, or
 * the did:pkh issuer of the CACAO it was signed under, read from the commit's blocks.
 */
async function signerOf (commit: IncomingCommit): Promise<string | undefined> {
  if (commit.jws === undefined) return undefined
  const { kid, cap } = decodeDagJWS(commit.jws)
  if (cap !== undefined) {
    const cid = parseCapabilityURI(cap)
    const block = commit.blocks.find((b) => b.cid.equals(cid))
    if (block !== undefined) return (await decodeCacao(block.bytes, cid)).p.iss
  }
  return parseKid(kid).did
}

/**
 * The DIDs of every signature of a stored signed commit (verified when the commit was first stored), in order: the
 * key's DID, or the did:pkh issuer of the CACAO a signature acts under.
 */
async function storedSigners (commit: IncomingCommit): Promise<{ signers: string[], capabilitySigners: string[] }> {
  const signers: string[] = []
  const capabilitySigners: string[] = []
  if (commit.jws === undefined) return { signers, capabilitySigners }
  for (const { kid, cap } of decodeDagJWS(commit.jws).signatures) {
    const block = cap === undefined ? undefined : commit.blocks.find((b) => b.cid.equals(parseCapabilityURI(cap)))
    const did = block === undefined ? parseKid(kid).did : (await decodeCacao(block.bytes, block.cid)).p.iss
    signers.push(did)
    if (block !== undefined) capabilitySigners.push(did)
  }
  return { signers, capabilitySigners }
}

/** Drops `undefined` members: heads are stored as dag-cbor, which has no `undefined`. */
function cleanMetadata (metadata: DocMetadata): DocMetadata {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(metadata)) if (value !== undefined) out[key] = value
  return out as DocMetadata
}

/** The record after a genesis commit. */
function genesisRecord (type: number, cid: CID, result: DoctypeResult, signed: boolean): DocRecord {
  const head: DocHead = {
    type,
    content: result.content,
    metadata: cleanMetadata(result.metadata),
    signature: signed ? SignatureStatus.SIGNED : SignatureStatus.GENESIS,
    anchorStatus: AnchorStatus.NOT_REQUESTED,
    genesis: cid,
    tip: cid,
    logLength: 1
  }
  return { head, log: [{ cid, type: LogEntryType.GENESIS }] }
}

/** The head after an update: new content and metadata, one more entry, not yet anchored. */
function updateHead (base: DocHead, cid: CID, result: DoctypeResult): DocHead {
  return {
    ...base,
    content: result.content,
    metadata: cleanMetadata(result.metadata),
    signature: SignatureStatus.SIGNED,
    anchorStatus: AnchorStatus.NOT_REQUESTED,
    tip: cid,
    logLength: base.logLength + 1
  }
}

/** The head after an anchor commit. */
function anchorHead (base: DocHead, cid: CID, proof: AnchorProof): DocHead {
  return { ...base, anchorStatus: AnchorStatus.ANCHORED, anchorProof: proof, tip: cid, logLength: base.logLength + 1 }
}

/** Appends an anchor entry to `log` in place; the entries since the last anchor take its time. */
function pushAnchor (log: LogEntry[], cid: CID, timestamp: number): void {
  for (let i = log.length - 1; i >= 0 && log[i]!.timestamp === undefined; i--) log[i] = { ...log[i]!, timestamp }
  log.push({ cid, type: LogEntryType.ANCHOR, timestamp })
}

/** The record after an update. */
function updateRecord (base: DocRecord, cid: CID, result: DoctypeResult): DocRecord {
  const log = base.log.slice()
  log.push({ cid, type: LogEntryType.SIGNED })
  return { head: updateHead(base.head, cid, result), log }
}

/** The record after an anchor commit. */
function anchorRecord (base: DocRecord, cid: CID, proof: AnchorProof, timestamp: number): DocRecord {
  // A new array: the old one is shared by states already handed out and never changes.
  const log = base.log.slice()
  pushAnchor(log, cid, timestamp)
  return { head: anchorHead(base.head, cid, proof), log }
}

/** The same record with another anchor status. */
export function withStatus (record: DocRecord, anchorStatus: AnchorStatus): DocRecord {
  return { head: { ...record.head, anchorStatus }, log: record.log }
}

/** Stage 7 for a commit on the tip: its blocks, one log entry, its index entry, the head, at times a checkpoint. */
function writeAppend (batch: StorageBatch, docId: string, record: DocRecord, blocks: readonly Block[], pin: boolean): void {
  for (const block of blocks) batch.putBlock(block.cid, block.bytes)
  const seq = record.log.length - 1
  const entry = record.log[seq]!
  batch.putLogEntry(docId, seq, storedEntry(entry))
  batch.indexCommit(docId, entry.cid, { seq })
  batch.putHead(docId, record.head)
  batch.putIndex(docId, indexRecordOfDocument(record, Date.now()))
  if (seq > 0 && seq % CHECKPOINT_INTERVAL === 0) batch.putCheckpoint(docId, { seq, head: { ...record.head, anchorStatus: historicalStatus(record.log) } })
  if (pin) batch.pin(docId)
}

/** Stage 7 for a run of commits on the tip: {@link writeAppend} for each, with the head written once, the last. */
function writeRun (batch: StorageBatch, docId: string, records: readonly DocRecord[], blocks: readonly Block[][], pin: boolean): void {
  for (const [i, record] of records.entries()) {
    for (const block of blocks[i]!) batch.putBlock(block.cid, block.bytes)
    const seq = record.log.length - 1
    const entry = record.log[seq]!
    batch.putLogEntry(docId, seq, storedEntry(entry))
    batch.indexCommit(docId, entry.cid, { seq })
    if (seq > 0 && seq % CHECKPOINT_INTERVAL === 0) batch.putCheckpoint(docId, { seq, head: { ...record.head, anchorStatus: historicalStatus(record.log) } })
  }
  batch.putHead(docId, records[records.length - 1]!.head)
  batch.putIndex(docId, indexRecordOfDocument(records[records.length - 1]!, Date.now()))
  if (pin) batch.pin(docId)
}

/** The outcome of a promise, as a value: a check started ahead whose failure is not yet anyone's to handle. */
type Settled<T> = { ok: true, value: T } | { ok: false, error: unknown }

function settle<T> (promise: Promise<T>): Promise<Settled<T>> {
  return promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))
}

/** Stage 7 for a remote commit that lost: its blocks and its index entry, off the log. */
function writeOffLog (batch: StorageBatch, docId: string, commit: IncomingCommit, supporting: readonly Block[]): void {
  for (const block of [...commit.blocks, ...supporting]) batch.putBlock(block.cid, block.bytes)
  batch.indexCommit(docId, commit.cid, {})
}

/**
 * Stage 7 for a commit whose branch won over the tip's: the log from the fork on is the new branch, the old branch's
 * commits stay indexed off the log, and the checkpoints past the fork are the new branch's.
 */
function writeBranchSwitch (
  batch: StorageBatch, docId: string, current: DocRecord, next: DocRecord, fork: number, checkpoints: readonly DocHead[],
  blocks: readonly Block[], pin: boolean
): void {
  for (const block of blocks) batch.putBlock(block.cid, block.bytes)
  for (let seq = fork + 1; seq < current.log.length; seq++) batch.indexCommit(docId, current.log[seq]!.cid, {})
  for (let seq = fork + 1; seq < next.log.length; seq++) {
    batch.putLogEntry(docId, seq, storedEntry(next.log[seq]!))
    batch.indexCommit(docId, next.log[seq]!.cid, { seq })
  }
  if (next.log.length < current.log.length) batch.truncateLog(docId, next.log.length)
  batch.dropCheckpoints(docId, fork + 1)
  for (const head of checkpoints) batch.putCheckpoint(docId, { seq: head.logLength - 1, head })
  const last = next.log.length - 1
  if (last > fork && last % CHECKPOINT_INTERVAL === 0) batch.putCheckpoint(docId, { seq: last, head: { ...next.head, anchorStatus: historicalStatus(next.log) } })
  batch.putHead(docId, next.head)
  batch.putIndex(docId, indexRecordOfDocument(next, Date.now()))
  if (pin) batch.pin(docId)
}
