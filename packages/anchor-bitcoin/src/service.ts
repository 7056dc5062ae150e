import type { Signer, Transaction } from 'bitcoinjs-lib'
import { buildMerkleTree } from '@kiln/anchor-merkle'
import { encodeRecord, equalBytes } from '@kiln/codec'
import {
  AbortError,
  AnchorStatus,
  InvalidAnchorProofError,
  type AbortOptions,
  type AnchorEvent,
  type AnchorRequest,
  type AnchorService,
  type Block,
  type Logger
} from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { InvalidAnchorRequestError } from './errors.js'
import { parseHeader } from './header.js'
import { merkleRootFromBranch } from './merkle-branch.js'
import type { BitcoinNetwork } from './networks.js'
import { BITCOIN_TX_TYPE, buildAnchorTransaction, outputScript, txHashCID, txidOf, type BitcoinAddressType, type Utxo } from './transaction.js'

/** Lists the unspent outputs paying an output script (Bitcoin Core: `scantxoutset` or a wallet's `listunspent`). */
export interface UtxoSource {
  listUnspent(outputScript: Uint8Array, options?: AbortOptions): Promise<Utxo[]>
}

/** Sends a signed raw transaction to the network (Bitcoin Core: `sendrawtransaction`). */
export interface Broadcaster {
  broadcast(rawTransaction: Uint8Array, options?: AbortOptions): Promise<void>
}

/** Where a transaction was mined: what a proof needs besides the transaction itself. */
export interface TxInclusion {
  /** The 80-byte header of the block holding the transaction. */
  header: Uint8Array
  /** The transaction's position in the block. */
  index: number
  /** The Merkle branch from the txid to the header's Merkle root, hashes in internal byte order. */
  branch: Uint8Array[]
}

/**
 * Reports the block a broadcast transaction was mined in (Bitcoin Core: `getrawtransaction <txid> true` for the block
 * hash, `getblock <hash> 1` for the txids to build the branch, `getblockheader <hash> false` for the header).
 */
export interface BlockSource {
  /** Resolves once the transaction `txid` (as Bitcoin Core shows it) is in a block of the best chain. */
  waitForInclusion(txid: string, options?: AbortOptions): Promise<TxInclusion>
}

/** The Bitcoin anchor service, with what a test or a dev tool needs beyond the contract. */
export interface BitcoinAnchorService extends AnchorService {
  /** Anchors what is pending now, started or not, and resolves once those requests are anchored (or failed). */
  anchorPending(): Promise<void>
  start(): void
  /** Stops the timer, gives up waiting for a block, and reports every request not anchored `FAILED`. */
  stop(): Promise<void>
}

/** What the service needs: the chain, the key, the node behind the three interfaces, and the schedule. */
export interface BitcoinServiceSettings {
  network: BitcoinNetwork
  signer: Signer
  addressType: BitcoinAddressType
  feeRate: number
  utxos: UtxoSource
  broadcaster: Broadcaster
  blocks: BlockSource
  intervalMs: number
  logger?: Logger
}

type Listener = (event: AnchorEvent) => void

/** Batches requests into a Merkle tree, puts each root in a Bitcoin transaction, and reports each request's progress. */
export class BitcoinService implements BitcoinAnchorService {
  readonly chainId: string
  readonly #settings: BitcoinServiceSettings
  readonly #listeners: Listener[] = []
  readonly #pending = new Map<string, AnchorRequest>()
  #started = false
  #timer: ReturnType<typeof setInterval> | undefined
  #work: Promise<void> = Promise.resolve()
  #busy = 0
  #abort = new AbortController()

  constructor (settings: BitcoinServiceSettings) {
    this.chainId = settings.network.chainId
    this.#settings = settings
  }

  start (): void {
    if (this.#started) return
    this.#started = true
    this.#timer = setInterval(() => { if (this.#busy === 0) void this.#enqueue(false) }, this.#settings.intervalMs)
  }

  async stop (): Promise<void> {
    this.#started = false
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    // A block may be an hour away: the batch waiting for one fails rather than holding the node's shutdown.
    this.#abort.abort()
    await this.#work
    // A batch run after stop() with anchorPending() must not start out aborted.
    this.#abort = new AbortController()
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
    const queued = { docId: request.docId, genesis: CID.asCID(request.genesis)!, tip: CID.asCID(request.tip)! }
    const older = this.#pending.get(queued.docId)
    if (older !== undefined && older.tip.equals(queued.tip)) return eventOf(queued, AnchorStatus.PENDING)
    if (older !== undefined) {
      this.#pending.delete(queued.docId)
      this.#emit(eventOf(older, AnchorStatus.REPLACED, { message: `replaced by a newer request for ${queued.docId} at ${queued.tip.toString()}` }))
    }
    this.#pending.set(queued.docId, queued)
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

  #enqueue (explicit: boolean): Promise<void> {
    this.#busy++
    const run = this.#work.then(async () => {
      try {
        if (!explicit && !this.#started) return
        const batch = [...this.#pending.values()]
        this.#pending.clear()
        if (batch.length > 0) await this.#process(batch)
      } finally {
        this.#busy--
      }
    })
    this.#work = run
    return run
  }

  async #process (batch: AnchorRequest[]): Promise<void> {
    for (const request of batch) this.#emit(eventOf(request, AnchorStatus.PROCESSING))
    let anchored: AnchorEvent[]
    try {
      anchored = await this.#anchor(batch)
    } catch (err) {
      const reason = (err as Error)?.message ?? String(err)
      this.#settings.logger?.error({ err, chainId: this.chainId, size: batch.length }, 'could not anchor a batch in Bitcoin')
      for (const request of batch) {
        this.#emit(eventOf(request, AnchorStatus.FAILED, { message: `could not anchor a batch of ${batch.length} in ${this.chainId}: ${reason}` }))
      }
      return
    }
    for (const event of anchored) this.#emit(event)
  }

  async #anchor (batch: AnchorRequest[]): Promise<AnchorEvent[]> {
    const { network, signer, addressType, feeRate, utxos, broadcaster, blocks, logger } = this.#settings
    const options = { signal: this.#abort.signal }
    const chainId = this.chainId
    const tree = await buildMerkleTree(batch.map((r) => ({ key: r.docId, tip: r.tip })), { metadata: { chainId, size: batch.length } })
    const spendable = await utxos.listUnspent(outputScript(signer.publicKey, addressType, network.params), options)
    const tx = buildAnchorTransaction({ root: tree.root, utxos: spendable, signer, addressType, network: network.params, feeRate })
    const txid = txidOf(tx)
    await broadcaster.broadcast(tx.toBuffer(), options)
    logger?.info({ chainId, txid, root: tree.root.toString(), size: batch.length }, 'broadcast a Bitcoin anchor transaction')
    const inclusion = await blocks.waitForInclusion(txid, options)
    checkInclusion(tx, inclusion)
    const proof = await encodeRecord({
      chainId,
      root: tree.root,
      txHash: txHashCID(tx),
      txType: BITCOIN_TX_TYPE,
      tx: tx.toBuffer(),
      branch: inclusion.branch,
      index: inclusion.index,
      header: inclusion.header
    })
    logger?.debug({ chainId, txid, block: parseHeader(inclusion.header).id }, 'a Bitcoin anchor transaction was mined')
    return await Promise.all(batch.map(async (request): Promise<AnchorEvent> => {
      const commit = await encodeRecord({ id: request.genesis, prev: request.tip, proof: proof.cid, path: tree.pathOf(request.docId) })
      const supporting: Block[] = [proof, ...tree.pathBlocks(request.docId)]
      return eventOf(request, AnchorStatus.ANCHORED, { anchor: { commit, blocks: supporting } })
    }))
  }

  #emit (event: AnchorEvent): void {
    for (const listener of this.#listeners) {
      try {
        const result: unknown = listener(event)
        if (result instanceof Promise) result.catch((err: unknown) => { this.#listenerFailed(err, event) })
      } catch (err) {
        this.#listenerFailed(err, event)
      }
    }
  }

  #listenerFailed (err: unknown, event: AnchorEvent): void {
    this.#settings.logger?.warn({ err, docId: event.docId, status: event.status }, 'an anchor event listener threw; other listeners still ran')
  }
}

// The block source is outside this process: a proof it would make unverifiable fails the batch here instead.
function checkInclusion (tx: Transaction, inclusion: TxInclusion): void {
  const header = parseHeader(inclusion.header)
  if (!equalBytes(merkleRootFromBranch(tx.getHash(), inclusion.branch, inclusion.index), header.merkleRoot)) {
    throw new InvalidAnchorProofError(`the block source's branch for ${txidOf(tx)} does not lead to the Merkle root of block ${header.id}`)
  }
}

function eventOf (request: AnchorRequest, status: AnchorStatus, extra: Pick<AnchorEvent, 'anchor' | 'message'> = {}): AnchorEvent {
  return { docId: request.docId, tip: request.tip, status, ...extra }
}

function checkRequest (request: AnchorRequest): void {
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
