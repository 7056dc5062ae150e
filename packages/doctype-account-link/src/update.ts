import { encodeRecord } from '@kiln/codec'
import { InvalidCommitError, type Block, type DocState, type UpdateRecord } from '@kiln/interface'
import { ACCOUNT_LINK_CODE } from './constants.js'
import { nextLink } from './link-rules.js'
import type { LinkProof } from './proof.js'

/** An unsigned link update: the record a client sends (`node.applyCommit(docId, record)`) and its block. */
export interface LinkUpdate {
  record: UpdateRecord<LinkProof>
  /** The dag-cbor block of the record; its CID is the commit's. */
  block: Block
}

/**
 * Builds the update that puts `proof` on the link document in `state`: `{id: genesis CID, prev: tip CID, data:
 * proof}`, unsigned, as Ceramic's `Caip10Link.setDidProof` sends it. The node's rules run first (account, replay,
 * signature), so a doomed update fails here with the error the node would give.
 */
export async function makeLinkUpdate (state: DocState, proof: LinkProof): Promise<LinkUpdate> {
  if (state.type !== ACCOUNT_LINK_CODE) {
    throw new InvalidCommitError(`makeLinkUpdate: the state is of doctype ${state.type}, not a caip10-link (${ACCOUNT_LINK_CODE})`)
  }
  const genesis = state.log[0]
  const tip = state.log[state.log.length - 1]
  if (genesis === undefined || tip === undefined) throw new InvalidCommitError('makeLinkUpdate: the state has an empty log')
  nextLink(state, proof)
  const data: LinkProof = { ...proof }
  // dag-cbor has no undefined: an absent `did` is left out, not written as undefined
  if (data.did === undefined) delete data.did
  const record: UpdateRecord<LinkProof> = { id: genesis.cid, prev: tip.cid, data }
  return { record, block: await encodeRecord(record) }
}
