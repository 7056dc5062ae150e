import { DoctypeRuleError, InvalidCommitError, LogEntryType, type DocState, type DoctypeResult, type UpdateRecord } from '@kiln/interface'
import { asUpdateRecord } from '@kiln/codec'
import type { AccountId } from './account-id.js'
import { accountOfController, type AccountLinkContent } from './genesis.js'
import { checkLinkSignature, describeLink, readLinkProof } from './proof.js'

const UPDATE_FIELDS = new Set(['id', 'prev', 'header', 'data'])

/** The account whose link `state` is (its one controller). */
export function accountOfLinkState (state: DocState): AccountId {
  const controller = state.metadata.controllers[0]
  if (controller === undefined) throw new InvalidCommitError('The caip10-link state has no controller')
  return accountOfController(controller)
}

/** The timestamp of the proof `state` holds (`metadata.lastUpdate`), or undefined before the first link. */
function lastProofTime (state: DocState): number | undefined {
  const last = state.metadata.lastUpdate
  return typeof last === 'number' ? last : undefined
}

/** The chain time of the latest anchor in the log, or undefined when it has none. */
function lastAnchorTime (state: DocState): number | undefined {
  let latest: number | undefined
  for (const entry of state.log) {
    if (entry.type === LogEntryType.ANCHOR && entry.timestamp !== undefined && (latest === undefined || entry.timestamp > latest)) latest = entry.timestamp
  }
  return latest
}

/**
 * Checks an update payload against `state` and returns the next content and metadata: the proof must be well formed
 * (`InvalidCommitError`), for this document's account, newer than the current proof and not older than the latest
 * anchor (`DoctypeRuleError`), and signed by the account's key (`InvalidSignatureError`). The content becomes the
 * proof's DID (`null` for an unlink); `metadata.lastUpdate` its timestamp, as Ceramic records it.
 */
export function applyLinkUpdate (state: DocState, payload: unknown): DoctypeResult<AccountLinkContent> {
  const update: UpdateRecord = asUpdateRecord(payload)
  const extra = Object.keys(update).filter((key) => !UPDATE_FIELDS.has(key))
  if (extra.length > 0) throw new InvalidCommitError(`Invalid caip10-link update: unknown fields ${extra.map((k) => JSON.stringify(k)).join(', ')}`)
  if (update.header !== undefined && Object.keys(update.header).length > 0) {
    throw new DoctypeRuleError('A caip10-link update cannot change metadata: its header must be absent or {}', { details: { fields: Object.keys(update.header) } })
  }
  return nextLink(state, update.data)
}

/** The content and metadata after `state` takes the link proof `data` (every rule of {@link applyLinkUpdate}). */
export function nextLink (state: DocState, data: unknown): DoctypeResult<AccountLinkContent> {
  const claim = readLinkProof(data)
  const account = accountOfLinkState(state)
  const what = describeLink(claim.account, claim.did)
  if (claim.account.caip10 !== account.caip10) {
    throw new DoctypeRuleError(`A link proof for ${what} cannot update the link of account ${account.caip10}`, {
      details: { account: account.caip10, proofAccount: claim.account.caip10, did: claim.did }
    })
  }
  const last = lastProofTime(state)
  if (last !== undefined && claim.timestamp <= last) {
    throw new DoctypeRuleError(
      `The link proof for ${what} has timestamp ${claim.timestamp}, not later than the current proof's ${last}: an old or reused proof cannot be replayed`,
      { details: { account: account.caip10, did: claim.did, timestamp: claim.timestamp, current: last } }
    )
  }
  const anchored = lastAnchorTime(state)
  if (anchored !== undefined && claim.timestamp < anchored) {
    throw new DoctypeRuleError(
      `The link proof for ${what} has timestamp ${claim.timestamp}, older than the document's latest anchor (${anchored}): sign a new one`,
      { details: { account: account.caip10, did: claim.did, timestamp: claim.timestamp, anchor: anchored } }
    )
  }
  // the signature last: it is the one costly check, and a replay fails without it
  checkLinkSignature(claim)
  return {
    content: claim.did,
    metadata: { ...state.metadata, controllers: [...state.metadata.controllers], lastUpdate: claim.timestamp }
  }
}

