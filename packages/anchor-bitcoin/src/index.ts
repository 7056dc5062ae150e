/**
 * Kiln anchors in Bitcoin: Merkle roots in `OP_RETURN` outputs of transactions built and signed with bitcoinjs-lib, and
 * self-verifying proofs that carry the transaction, its Merkle branch and the block header, checked down to the proof
 * of work and a header source's best chain.
 * @packageDocumentation
 */
export { bitcoinAnchor, type BitcoinAnchorInit, type BitcoinAnchorPlugin } from './bitcoin-anchor.js'
export type { BitcoinAnchorService, UtxoSource, Broadcaster, BlockSource, TxInclusion } from './service.js'
export { bitcoinVerifier, type BitcoinVerifierInit } from './verifier.js'
export { memoryHeaderSource, bitcoinCoreHeaderSource, type BlockHeaderSource, type MemoryHeaderSource, type BitcoinCoreHeaderSourceInit } from './header-source.js'
export { regtestMiner, type RegtestMiner, type RegtestMinerInit } from './regtest-miner.js'
export { BITCOIN_NAMESPACE, BITCOIN_NETWORKS, type BitcoinNetwork, type BitcoinNetworkName } from './networks.js'
export { BITCOIN_TX_TYPE, OP_RETURN_PREFIX, opReturnData, txHashCID, outputScript, type Utxo, type BitcoinAddressType } from './transaction.js'
export { parseHeader, targetFromBits, type BlockHeader } from './header.js'
export { merkleBranch, merkleRootFromBranch } from './merkle-branch.js'
export {
  InvalidBitcoinAnchorOptionError,
  InsufficientFundsError,
  BitcoinRpcError,
  TransactionRejectedError,
  InvalidAnchorRequestError
} from './errors.js'
