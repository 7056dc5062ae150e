import {
  AbortError, DoctypeRuleError, InvalidCommitError,
  type DoctypeFactory, type DoctypeHandler, type VerifiedCommit
} from '@kiln/interface'
import { ACCOUNT_LINK_CODE, ACCOUNT_LINK_NAME } from './constants.js'
import { applyLinkGenesis, type AccountLinkContent } from './genesis.js'
import { applyLinkUpdate } from './link-rules.js'

function refuseSigned (commit: VerifiedCommit): void {
  // an unsigned genesis is what makes the DocID deterministic, and the wallet proof is an update's only authority:
  // a DID's signature on either would be a second way to write the same link
  if (commit.signer !== undefined) {
    throw new DoctypeRuleError(
      `caip10-link ${commit.kind} ${commit.cid.toString()} is signed by ${commit.signer}: link commits are unsigned, the account's own signature in the proof is the authority`,
      { details: { cid: commit.cid.toString(), did: commit.signer } }
    )
  }
}

/**
 * The account-link doctype (code 1, Ceramic's `caip10-link`): a document per CAIP-10 account whose content is the DID
 * the account's own key last linked it to. Its genesis is unsigned and deterministic; its updates are unsigned and
 * carry a wallet-signed proof, so `signers()` names nobody.
 */
export function accountLink (): DoctypeFactory<AccountLinkContent> {
  return () => {
    const handler: DoctypeHandler<AccountLinkContent> = {
      name: ACCOUNT_LINK_NAME,
      code: ACCOUNT_LINK_CODE,
      signers () {
        return []
      },
      async apply (state, commit, ctx) {
        if (ctx.signal?.aborted === true) throw new AbortError('caip10-link: apply was aborted', { cause: ctx.signal.reason })
        const expected = state === null ? 'genesis' : 'update'
        if (commit.kind !== expected) {
          throw new InvalidCommitError(`commit ${commit.cid.toString()} is a ${commit.kind}, but the document ${state === null ? 'has no genesis yet' : 'already has a genesis'}`, {
            details: { cid: commit.cid.toString() }
          })
        }
        refuseSigned(commit)
        return state === null ? applyLinkGenesis(commit.payload) : applyLinkUpdate(state, commit.payload)
      }
    }
    return handler
  }
}
