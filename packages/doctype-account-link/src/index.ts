/**
 * Kiln's account-link doctype (code 1, Ceramic's `caip10-link`): one document per CAIP-10 blockchain account, whose
 * content is the DID that the account's own key last linked it to. `accountLink()` is the plugin a node registers;
 * `accountLinkGenesis`, `ethereumLinkProof`, `bitcoinLinkProof` and `makeLinkUpdate` build what a client sends.
 * @packageDocumentation
 */
export { accountLink } from './account-link.js'
export { accountLinkGenesis, type AccountLinkGenesis, type AccountLinkContent } from './genesis.js'
export { makeLinkUpdate, type LinkUpdate } from './update.js'
export { ethereumLinkProof, bitcoinLinkProof, verifyLinkProof, type LinkProof, type LinkProofInit, type LinkClaim } from './proof.js'
export { linkProofMessage, LINK_MESSAGE_PREFIX, MAX_DID_LENGTH, MAX_PROOF_TIMESTAMP } from './message.js'
export { parseAccountId, MAX_ACCOUNT_ID_LENGTH, type AccountId, type AccountNamespace } from './account-id.js'
export { ethereumMessageHash } from './ethereum.js'
export { bitcoinMessageHash, BITCOIN_NETWORKS } from './bitcoin.js'
export { ACCOUNT_LINK_CODE, ACCOUNT_LINK_NAME, LINK_PROOF_VERSION, ETHEREUM_EOA, BITCOIN, type LinkProofType } from './constants.js'
export { InvalidAccountIdError } from './errors.js'
