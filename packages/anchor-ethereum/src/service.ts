import { anchoredEvents, BatchingAnchorService, buildMerkleTree } from '@kiln/anchor-merkle'
import { encodeRecord } from '@kiln/codec'
import type { AnchorEvent, AnchorRequest, AnchorService, Logger } from '@kiln/interface'
import type { JsonRpcApiProvider, Wallet } from 'ethers'
import { anchorCalldata, type EthereumTxType } from './calldata.js'
import { caip2Of } from './chain-id.js'
import { EthereumRpcError, InvalidAnchorRequestError } from './errors.js'
import { txHashToCID } from './eth-tx.js'
import { rpcCall, rpcChainNumber } from './rpc.js'

/** The anchor service of an EVM chain, with what a test or a tool needs beyond the contract. */
export interface EthereumAnchorService extends AnchorService {
  /** The address that sends (and pays for) the anchor transactions. */
  readonly address: string
  /** The KilnAnchor contract the roots are sent to, or undefined for raw transactions. */
  readonly contract: string | undefined
  /** How roots go on chain: `'f(bytes32)'` with a contract, `'raw'` without. */
  readonly txType: EthereumTxType
  /**
   * Anchors what is pending now, started or not, and resolves once those requests are anchored (or failed): one
   * transaction per `maxBatch` requests.
   */
  anchorPending(): Promise<void>
  start(): void
  /** Stops the timer, waits for the batch in progress, and reports every request still pending `FAILED`. */
  stop(): Promise<void>
}

/** What the service needs: a wallet on a provider, and its settings. */
export interface EthereumServiceSettings {
  chainId: string
  chainNumber: bigint
  endpoint: string
  provider: JsonRpcApiProvider
  wallet: Wallet
  contract: string | undefined
  intervalMs: number
  maxBatch: number
  confirmations: number
  timeoutMs: number
  logger?: Logger
}

/** Queues requests by DocID, puts each batch's Merkle root on chain in one transaction, reports each request's progress. */
export class EthereumChainService extends BatchingAnchorService implements EthereumAnchorService {
  readonly address: string
  readonly contract: string | undefined
  readonly txType: EthereumTxType
  readonly #settings: EthereumServiceSettings
  readonly #logger: Logger | undefined
  #chainChecked = false

  constructor (settings: EthereumServiceSettings) {
    const { chainId, intervalMs, maxBatch, logger } = settings
    super({ chainId, intervalMs, maxBatch, logger, requestError: InvalidAnchorRequestError })
    this.#settings = settings
    this.address = settings.wallet.address
    this.contract = settings.contract
    this.txType = settings.contract === undefined ? 'raw' : 'f(bytes32)'
    this.#logger = logger
  }

  protected failureMessage (err: unknown, size: number): string {
    const reason = (err as { shortMessage?: string })?.shortMessage ?? (err as Error)?.message ?? String(err)
    return `could not anchor a batch of ${size} on ${this.chainId}: ${reason}`
  }

  protected async anchorBatch (batch: AnchorRequest[]): Promise<AnchorEvent[]> {
    const { chainId, endpoint, wallet, contract, confirmations, timeoutMs } = this.#settings
    await this.#checkChain()
    const tree = await buildMerkleTree(batch.map((r) => ({ key: r.docId, tip: r.tip })), { metadata: { chainId, size: batch.length } })
    const data = anchorCalldata(tree.root, this.txType)
    // A raw anchor is a 0-value transaction to the sender itself: the data is all that matters.
    const tx = await rpcCall(endpoint, 'eth_sendRawTransaction', async () => await wallet.sendTransaction({ to: contract ?? wallet.address, data }))
    const receipt = await rpcCall(endpoint, 'eth_getTransactionReceipt', async () => await tx.wait(confirmations, timeoutMs))
    if (receipt === null || receipt.status !== 1) {
      throw new EthereumRpcError(`anchor transaction ${tx.hash} did not succeed`, { details: { txHash: tx.hash } })
    }
    const proof = await encodeRecord({ chainId, root: tree.root, txHash: txHashToCID(tx.hash), txType: this.txType })
    this.#logger?.debug({ chainId, txHash: tx.hash, block: receipt.blockNumber, root: tree.root.toString(), size: batch.length }, 'anchored a batch')
    return await anchoredEvents(batch, tree, proof)
  }

  /** Refuses to send anything to an endpoint of another chain: the proofs would name a chain the roots are not on. */
  async #checkChain (): Promise<void> {
    if (this.#chainChecked) return
    const { chainNumber, endpoint, provider } = this.#settings
    const served = await rpcChainNumber(provider, endpoint)
    if (served !== chainNumber) {
      throw new EthereumRpcError(`${endpoint} serves chain ${caip2Of(served)}, not the ${this.chainId} this anchor service is configured for`, {
        details: { endpoint, chainId: caip2Of(served) }
      })
    }
    this.#chainChecked = true
  }
}
