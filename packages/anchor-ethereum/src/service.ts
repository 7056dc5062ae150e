import { buildMerkleTree } from '@kiln/anchor-merkle'
import { encodeRecord } from '@kiln/codec'
import {
  AbortError,
  AnchorStatus,
  type AbortOptions,
  type AnchorEvent,
  type AnchorRequest,
  type AnchorService,
  type Block,
  type Logger
} from '@kiln/interface'
import type { JsonRpcApiProvider, Wallet } from 'ethers'
import { CID } from 'multiformats/cid'
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

type Listener = (event: AnchorEvent) => void

/** Queues requests by DocID, puts each batch's Merkle root on chain in one transaction, reports each request's progress. */
export class EthereumChainService implements EthereumAnchorService {
  readonly chainId: string
  readonly address: string
  readonly contract: string | undefined
  readonly txType: EthereumTxType
  readonly #settings: EthereumServiceSettings
  readonly #logger: Logger | undefined
  readonly #listeners: Listener[] = []
  /** Requests not yet in a batch, by DocID; a newer request for a DocID replaces the older. */
  readonly #pending = new Map<string, AnchorRequest>()
  #started = false
  #timer: ReturnType<typeof setInterval> | undefined
  /** Batches run one after another; this is the end of the line. */
  #work: Promise<void> = Promise.resolve()
  #busy = 0
  #chainChecked = false

  constructor (settings: EthereumServiceSettings) {
    this.#settings = settings
    this.chainId = settings.chainId
    this.address = settings.wallet.address
    this.contract = settings.contract
    this.txType = settings.contract === undefined ? 'raw' : 'f(bytes32)'
    this.#logger = settings.logger
  }

  start (): void {
    if (this.#started) return
    this.#started = true
    // Not unref'd: a script awaiting an anchor must not exit before it comes. stop() clears it.
    this.#timer = setInterval(() => { if (this.#busy === 0) void this.#enqueue(false) }, this.#settings.intervalMs)
  }

  async stop (): Promise<void> {
    this.#started = false
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#work
    const left = [...this.#pending.values()]
    this.#pending.clear()
    for (const request of left) {
      this.#emit(eventOf(request, AnchorStatus.FAILED, {
        message: `the ${this.chainId} anchor service stopped before anchoring ${request.tip.toString()}; request it again once it runs`
      }))
    }
  }

  async requestAnchor (request: AnchorRequest, options: AbortOptions = {}): Promise<AnchorEvent> {
    if (options.signal?.aborted === true) throw new AbortError('anchor request aborted', { cause: options.signal.reason })
    checkRequest(request)
    const docId = request.docId
    const tip = CID.asCID(request.tip)!
    const queued = { docId, genesis: CID.asCID(request.genesis)!, tip }
    const older = this.#pending.get(docId)
    if (older !== undefined && older.tip.equals(tip)) return eventOf(queued, AnchorStatus.PENDING)
    if (older !== undefined) {
      // Deleted first so that the newer request takes its place at the end of the queue.
      this.#pending.delete(docId)
      this.#emit(eventOf(older, AnchorStatus.REPLACED, { message: `replaced by a newer request for ${docId} at ${tip.toString()}` }))
    }
    this.#pending.set(docId, queued)
    const pending = eventOf(queued, AnchorStatus.PENDING)
    this.#emit(pending)
    return pending
  }

  onEvent (listener: Listener): void {
    this.#listeners.push(listener)
  }

  async anchorPending (): Promise<void> {
    await this.#enqueue(true)
  }

  /** Queues a run that takes what is pending when it starts; `explicit` runs even when the service is stopped. */
  #enqueue (explicit: boolean): Promise<void> {
    this.#busy++
    const run = this.#work.then(async () => {
      try {
        if (explicit || this.#started) await this.#drain()
      } catch (err) {
        // #send reports its own failures as FAILED; this is a last guard so one run can never stall the queue.
        this.#logger?.error({ err, chainId: this.chainId }, 'ethereum anchor run failed')
      } finally {
        this.#busy--
      }
    })
    this.#work = run
    return run
  }

  async #drain (): Promise<void> {
    const all = [...this.#pending.values()]
    this.#pending.clear()
    // Every batch is taken from the queue at once, so none of them can be REPLACED while an earlier one is on its way.
    for (let i = 0; i < all.length; i += this.#settings.maxBatch) await this.#send(all.slice(i, i + this.#settings.maxBatch))
  }

  async #send (batch: AnchorRequest[]): Promise<void> {
    for (const request of batch) this.#emit(eventOf(request, AnchorStatus.PROCESSING))
    let anchored: AnchorEvent[]
    try {
      anchored = await this.#anchor(batch)
    } catch (err) {
      const reason = (err as { shortMessage?: string })?.shortMessage ?? (err as Error)?.message ?? String(err)
      this.#logger?.error({ err, chainId: this.chainId, size: batch.length }, 'ethereum anchor transaction failed')
      for (const request of batch) {
        this.#emit(eventOf(request, AnchorStatus.FAILED, { message: `could not anchor a batch of ${batch.length} on ${this.chainId}: ${reason}` }))
      }
      return
    }
    for (const event of anchored) this.#emit(event)
  }

  async #anchor (batch: AnchorRequest[]): Promise<AnchorEvent[]> {
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
    return await Promise.all(batch.map(async (request): Promise<AnchorEvent> => {
      const commit = await encodeRecord({ id: request.genesis, prev: request.tip, proof: proof.cid, path: tree.pathOf(request.docId) })
      const blocks: Block[] = [proof, ...tree.pathBlocks(request.docId)]
      return eventOf(request, AnchorStatus.ANCHORED, { anchor: { commit, blocks } })
    }))
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

  #emit (event: AnchorEvent): void {
    for (const listener of this.#listeners) {
      try {
        const result: unknown = listener(event)
        // An async listener's rejection would otherwise be unhandled and end the process.
        if (result instanceof Promise) result.catch((err: unknown) => { this.#listenerFailed(err, event) })
      } catch (err) {
        this.#listenerFailed(err, event)
      }
    }
  }

  #listenerFailed (err: unknown, event: AnchorEvent): void {
    this.#logger?.warn({ err, docId: event.docId, status: event.status }, 'an anchor event listener threw; other listeners still ran')
  }
}

function eventOf (request: AnchorRequest, status: AnchorStatus, extra: Pick<AnchorEvent, 'anchor' | 'message'> = {}): AnchorEvent {
  return { docId: request.docId, tip: request.tip, status, ...extra }
}

function checkRequest (request: AnchorRequest): void {
  // The types say this already; a JavaScript caller may not, and one bad request must not fail a whole batch.
  const { docId, genesis, tip } = (request ?? {}) as Partial<Record<keyof AnchorRequest, unknown>>
  if (typeof docId !== 'string' || docId.length === 0) {
    throw new InvalidAnchorRequestError(`an anchor request needs a DocID string, got ${typeof docId}`)
  }
  for (const [field, value] of [['genesis', genesis], ['tip', tip]] as const) {
    if (CID.asCID(value) === null) {
      throw new InvalidAnchorRequestError(`the ${field} of the anchor request for ${docId} is not a CID`, { details: { docId, field } })
    }
  }
}
