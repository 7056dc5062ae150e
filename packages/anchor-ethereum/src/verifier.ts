import { verifyMerklePath } from '@kiln/anchor-merkle'
import { asAnchorProof } from '@kiln/codec'
import {
  AbortError,
  InvalidAnchorProofError,
  UnsupportedChainError,
  type AbortOptions,
  type AnchorClaim,
  type AnchorProofVerifier,
  type BlockGetter
} from '@kiln/interface'
import { getAddress, type JsonRpcApiProvider } from 'ethers'
import { rootInCalldata, TX_TYPE_CONTRACT, TX_TYPE_RAW, type EthereumTxType } from './calldata.js'
import { caip2Of, chainNumberOf, EIP155_NAMESPACE } from './chain-id.js'
import { EthereumRpcError, InvalidEthereumAnchorOptionError } from './errors.js'
import { cidToTxHash } from './eth-tx.js'
import { endpointOf, providerOf, rpcCall, rpcChainNumber, type RpcInit } from './rpc.js'

/** Options of {@link ethereumVerifier}: where to read the chain, and what makes a transaction count. */
export interface EthereumVerifierInit extends RpcInit {
  /** The CAIP-2 id the endpoint must serve (`eip155:1`); checked against its `eth_chainId`. The endpoint's own by default. */
  chainId?: string
  /** Blocks, the transaction's own included, that must exist before an anchor counts; 1 (mined) by default. */
  confirmations?: number
  /** With it, a `f(bytes32)` anchor counts only when its transaction calls this contract. Any contract by default. */
  contract?: string
}

/** What the verifier keeps of a transaction it has checked: enough to check every claim of its batch without the RPC. */
interface MinedTransaction {
  to: string | null
  data: string
  status: number | null
  timestamp: number
}

// A batch of n anchors shares one transaction: n claims, one set of RPC calls.
const VERIFIED_TX_CACHE = 4096

/** Checks `eip155` anchors against an EVM JSON-RPC endpoint: transaction, calldata, confirmations, block time. */
export function ethereumVerifier (init: EthereumVerifierInit): AnchorProofVerifier {
  const confirmations = confirmationsOf(init.confirmations)
  const configured = init.chainId === undefined ? undefined : chainNumberOf(init.chainId)
  const contract = init.contract === undefined ? undefined : addressOf(init.contract, 'contract')
  const provider = providerOf(init, configured)
  return makeVerifier(provider, endpointOf(init), configured, confirmations, contract)
}

/** The verifier over a provider already made (the plugin shares one with its service). */
export function makeVerifier (
  provider: JsonRpcApiProvider,
  endpoint: string,
  configured: bigint | undefined,
  confirmations: number,
  contract: string | undefined
): AnchorProofVerifier {
  const verified = new Map<string, MinedTransaction>()
  let connected: Promise<bigint> | undefined

  /** The chain the endpoint serves, asked once; a failed ask is asked again next time. */
  async function connectedChain (options: AbortOptions): Promise<bigint> {
    connected ??= rpcChainNumber(provider, endpoint, options).then((n) => {
      if (configured !== undefined && n !== configured) {
        throw new EthereumRpcError(`${endpoint} serves chain ${caip2Of(n)}, not the ${caip2Of(configured)} this verifier is configured for`, {
          details: { endpoint, chainId: caip2Of(n) }
        })
      }
      return n
    })
    connected.catch(() => { connected = undefined })
    return await connected
  }

  async function minedTransaction (txHash: string, options: AbortOptions): Promise<MinedTransaction> {
    const cached = verified.get(txHash)
    if (cached !== undefined) return cached
    const details = { txHash }
    const tx = await rpcCall(endpoint, 'eth_getTransactionByHash', async () => await provider.getTransaction(txHash), options)
    if (tx === null) throw new InvalidAnchorProofError(`there is no transaction ${txHash} on this chain (${endpoint})`, { details })
    if (tx.blockNumber === null || tx.blockHash === null) throw new InvalidAnchorProofError(`transaction ${txHash} is not mined yet`, { details })
    const height = tx.blockNumber
    const [receipt, block, head] = await Promise.all([
      rpcCall(endpoint, 'eth_getTransactionReceipt', async () => await provider.getTransactionReceipt(txHash), options),
      rpcCall(endpoint, 'eth_getBlockByNumber', async () => await provider.getBlock(height), options),
      rpcCall(endpoint, 'eth_blockNumber', async () => await provider.getBlockNumber(), options)
    ])
    if (receipt === null || block === null || block.hash !== tx.blockHash) {
      throw new InvalidAnchorProofError(`transaction ${txHash} is not in block ${height} any more (a reorganisation?)`, { details: { ...details, height } })
    }
    const have = head - height + 1
    if (have < confirmations) {
      // Not cached: it will count once enough blocks are on top of it.
      throw new InvalidAnchorProofError(`transaction ${txHash} in block ${height} has ${have} confirmation(s); this verifier needs ${confirmations}`, {
        details: { ...details, height, confirmations: have }
      })
    }
    const mined = { to: tx.to, data: tx.data, status: receipt.status, timestamp: block.timestamp }
    if (verified.size >= VERIFIED_TX_CACHE) verified.delete(verified.keys().next().value!)
    verified.set(txHash, mined)
    return mined
  }

  async function verify (claim: AnchorClaim, getBlock: BlockGetter, options: AbortOptions = {}): Promise<{ timestamp: number }> {
    if (options.signal?.aborted === true) throw new AbortError('anchor verification aborted', { cause: options.signal.reason })
    let proof
    try {
      proof = asAnchorProof(claim?.proof)
    } catch (err) {
      throw new InvalidAnchorProofError(`the anchor proof is malformed: ${(err as Error).message}`, { cause: err })
    }
    if (proof.chainId.split(':')[0] !== EIP155_NAMESPACE) {
      throw new UnsupportedChainError(`the Ethereum verifier checks ${EIP155_NAMESPACE} chains, not ${proof.chainId}`, { details: { chainId: proof.chainId } })
    }
    const details = { chainId: proof.chainId, root: proof.root.toString(), txHash: proof.txHash.toString(), path: claim.path }
    let claimed: bigint
    try {
      claimed = chainNumberOf(proof.chainId)
    } catch (err) {
      throw new InvalidAnchorProofError(`the proof's chainId ${proof.chainId} is not eip155:<decimal chain id>`, { cause: err, details })
    }
    const chain = await connectedChain(options)
    if (claimed !== chain) {
      throw new UnsupportedChainError(`the proof is on chain ${proof.chainId}; this verifier reads ${caip2Of(chain)} (${endpoint}) and cannot check it`, { details })
    }
    const txType = proof.txType
    if (txType !== TX_TYPE_CONTRACT && txType !== TX_TYPE_RAW) {
      throw new InvalidAnchorProofError(`the proof's txType is ${JSON.stringify(txType)}, not "${TX_TYPE_CONTRACT}" or "${TX_TYPE_RAW}"`, { details })
    }
    const txHash = cidToTxHash(proof.txHash)
    const tx = await minedTransaction(txHash, options)
    if (txType === TX_TYPE_CONTRACT) {
      if (contract !== undefined && (tx.to === null || getAddress(tx.to) !== contract)) {
        throw new InvalidAnchorProofError(`transaction ${txHash} calls ${tx.to ?? 'no contract'}, not the anchor contract ${contract}`, { details })
      }
      if (tx.status !== 1) throw new InvalidAnchorProofError(`transaction ${txHash} reverted: its call of anchor(bytes32) did not happen`, { details })
    }
    const root = rootInCalldata(tx.data, txType as EthereumTxType, txHash)
    const sameRoot: boolean = root.equals(proof.root)
    if (!sameRoot) {
      throw new InvalidAnchorProofError(`transaction ${txHash} anchors root ${root.toString()}, not ${proof.root.toString()}`, { details })
    }
    await verifyMerklePath(proof.root, claim.path, claim.prev, getBlock, options)
    return { timestamp: tx.timestamp }
  }

  return Object.freeze({ namespace: EIP155_NAMESPACE, verify })
}

/** A confirmation count, checked: a whole number from 1. */
export function confirmationsOf (value: number | undefined): number {
  const n = value ?? 1
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidEthereumAnchorOptionError(`confirmations must be a whole number from 1, got ${String(value)}`, { details: { confirmations: String(value) } })
  }
  return n
}

/** A checksummed address, checked. */
export function addressOf (value: string, option: string): string {
  try {
    return getAddress(value)
  } catch (err) {
    throw new InvalidEthereumAnchorOptionError(`${option} must be an Ethereum address (0x and 40 hex digits), got ${JSON.stringify(value)}`, {
      cause: err,
      details: { [option]: String(value) }
    })
  }
}
