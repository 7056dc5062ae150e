import {
  AnchorStatus, LogEntryType, SignatureStatus,
  type AnchorProof, type DocMetadata, type DocState, type DoctypeResult
} from '@kiln/interface'
import type { CID } from 'multiformats/cid'

/** Drops `undefined` members: states are stored as dag-cbor, which has no `undefined`. */
function cleanMetadata (metadata: DocMetadata): DocMetadata {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(metadata)) if (value !== undefined) out[key] = value
  return out as DocMetadata
}

/** The state after a genesis commit. */
export function genesisState (type: number, cid: CID, result: DoctypeResult, signed: boolean): DocState {
  return {
    type,
    content: result.content,
    metadata: cleanMetadata(result.metadata),
    signature: signed ? SignatureStatus.SIGNED : SignatureStatus.GENESIS,
    anchorStatus: AnchorStatus.NOT_REQUESTED,
    log: [{ cid, type: LogEntryType.GENESIS }]
  }
}

/** The state after an update: new content and metadata, one more log entry, not yet anchored. */
export function updateState (base: DocState, cid: CID, result: DoctypeResult): DocState {
  const state: DocState = {
    type: base.type,
    content: result.content,
    metadata: cleanMetadata(result.metadata),
    signature: SignatureStatus.SIGNED,
    anchorStatus: AnchorStatus.NOT_REQUESTED,
    log: [...base.log, { cid, type: LogEntryType.SIGNED }]
  }
  if (base.anchorProof !== undefined) state.anchorProof = base.anchorProof
  return state
}

/** The state after an anchor commit: anchored, and every entry without a time takes the anchor's. */
export function anchorState (base: DocState, cid: CID, proof: AnchorProof, timestamp: number): DocState {
  const log = base.log.map((entry) => (entry.timestamp === undefined ? { ...entry, timestamp } : entry))
  log.push({ cid, type: LogEntryType.ANCHOR, timestamp })
  return { ...base, anchorStatus: AnchorStatus.ANCHORED, anchorProof: proof, log }
}

/** The same state with another anchor status (for the tip's request progressing). */
export function withAnchorStatus (state: DocState, anchorStatus: AnchorStatus): DocState {
  return { ...state, anchorStatus }
}
