import { encodeJWS, encodeRecord, isSignedCommit } from '@kiln/codec'
import type { DocID } from '@kiln/docid'
import {
  ConflictingCommitError, InvalidRequestError, isKilnError, type Commit, type DocReader, type DocState, type DocSnapshot, type DocWriter, type KilnError,
  type WriteOptions
} from '@kiln/interface'
import type { CID } from 'multiformats/cid'

/** Builds a commit on `tip` (the document's latest state): signs the same change again on whatever tip it is given. */
export type BuildCommit = (tip: DocState) => Promise<Commit>

/** Options of {@link KilnHttpClient.applyOnTip}: the write options, plus where to start and how often to try. */
export interface ApplyOnTipOptions extends WriteOptions {
  /** The document's state as the caller just loaded it: the first commit is built on it, without a request. */
  state?: DocState
  /** How many commits may be built and sent before a conflict is given up (default 3). */
  attempts?: number
}

/** The narrow part of a node `applyOnTip` uses. */
export type TipWriter = Pick<DocReader<DocID>, 'load'> & Pick<DocWriter<DocID>, 'applyCommit'>

const DEFAULT_ATTEMPTS = 3

/** The CID a commit will have in the log: its dag-jose envelope's when signed, its record's otherwise. */
async function commitCidOf (commit: Commit): Promise<CID> {
  return isSignedCommit(commit) ? (await encodeJWS(commit.jws)).cid : (await encodeRecord(commit)).cid
}

/**
 * True for the refusal of a commit that lost the conflict rule: the node names the winning tip (`details.tip`).
 * Other `ConflictingCommitError`s (an unknown `prev`, another document's id) would fail the same way again.
 */
function isLostToTip (err: unknown): err is KilnError {
  return isKilnError(err, 'ConflictingCommitError') && typeof err.details.tip === 'string'
}

/**
 * Builds a commit on the document's tip with `build` and applies it. When the tip moved in between (an anchor or
 * another writer extended it), the node refuses the commit with `ConflictingCommitError` naming the winning tip: the
 * document is loaded again and the commit built anew on it, at most `attempts` commits in all. An older node that
 * answers 200 with the winning state, without the commit, counts as the same refusal.
 */
export async function applyOnTip (docs: TipWriter, id: DocID, build: BuildCommit, options: ApplyOnTipOptions = {}): Promise<DocSnapshot<DocID>> {
  const { state, attempts = DEFAULT_ATTEMPTS, ...writeOptions } = options
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new InvalidRequestError(`applyOnTip: attempts must be a positive integer, got ${String(attempts)}`, { details: { attempts: String(attempts) } })
  }
  const load = { signal: writeOptions.signal }
  let tip = state ?? (await docs.load(id, load)).state
  for (let attempt = 1; ; attempt++) {
    const commit = await build(tip)
    const cid = await commitCidOf(commit)
    let lost: KilnError | undefined
    let winner: DocState | undefined
    try {
      const result = await docs.applyCommit(id, commit, writeOptions)
      if (result.state.log.some((entry) => entry.cid.equals(cid))) return result
      winner = result.state
    } catch (err) {
      if (!isLostToTip(err)) throw err
      lost = err
    }
    if (attempt >= attempts) {
      const tipCid = winner?.log[winner.log.length - 1]?.cid.toString() ?? lost?.details.tip
      throw new ConflictingCommitError(
        `${id.toString()} kept moving while the commit was written: ${attempts} commits built on its tip lost to other writes (last winning tip ${String(tipCid)}); try again`,
        { cause: lost, details: { docId: id.toString(), commit: cid.toString(), tip: tipCid, attempts } }
      )
    }
    tip = winner ?? (await docs.load(id, load)).state
  }
}
