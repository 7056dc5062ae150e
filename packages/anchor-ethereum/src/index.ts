/**
 * Kiln anchors on EVM chains: batches of `(docId, tip)` requests become one Merkle root, put on chain in one
 * transaction over JSON-RPC (ethers v6), as a KilnAnchor contract call or raw data; the verifier checks the
 * transaction, its calldata and confirmations, and takes the block's timestamp as the anchor time.
 * @packageDocumentation
 */
export { ethereumAnchor, type EthereumAnchorInit, type EthereumAnchorPlugin } from './ethereum-anchor.js'
export type { EthereumAnchorService } from './service.js'
export { ethereumVerifier, type EthereumVerifierInit } from './verifier.js'
export { deployAnchorContract, type DeployAnchorContractInit } from './deploy.js'
export type { RpcInit } from './rpc.js'
export { KILN_ANCHOR_ABI, KILN_ANCHOR_BYTECODE } from './contract-artifact.js'
export { ANCHOR_SELECTOR, TX_TYPE_CONTRACT, TX_TYPE_RAW, type EthereumTxType } from './calldata.js'
export { DEV_CHAIN_ID, EIP155_NAMESPACE } from './chain-id.js'
export { ETH_TX_CODEC, KECCAK_256, txHashToCID, cidToTxHash } from './eth-tx.js'
export { InvalidEthereumAnchorOptionError, InvalidAnchorRequestError, EthereumRpcError } from './errors.js'
