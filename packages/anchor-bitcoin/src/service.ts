import type { Signer, Transaction } from 'bitcoinjs-lib'
import { anchoredEvents, BatchingAnchorService, buildMerkleTree } from '@kiln/anchor-merkle'
import { encodeRecord, equalBytes } from '@kiln/codec'
import {
  InvalidAnchorProofError,
  type AbortOptions,
  type AnchorEvent,
  type AnchorRequest,
  type AnchorService,
  type Logger
} from '@kiln/interface'
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

/** Batches requests into a Merkle tree, puts each root in a Bitcoin transaction, and reports each request's progress. */
export class BitcoinService extends BatchingAnchorService implements BitcoinAnchorService {
  readonly #settings: BitcoinServiceSettings

  constructor (settings: BitcoinServiceSettings) {
    const { intervalMs, logger } = settings
    super({ chainId: settings.network.chainId, intervalMs, logger, requestError: InvalidAnchorRequestError })
    this.#settings = settings
  }

  protected failureMessage (err: unknown, size: number): string {
    return `could not anchor a batch of ${size} in ${this.chainId}: ${(err as Error)?.message ?? String(err)}`
  }

  // The signal fires on stop(): a block may be an hour away, and the node's shutdown must not wait for it.
  protected async anchorBatch (batch: AnchorRequest[], options: { signal: AbortSignal }): Promise<AnchorEvent[]> {
    const { network, signer, addressType, feeRate, utxos, broadcaster, blocks, logger } = this.#settings
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
    return await anchoredEvents(batch, tree, proof)
  }
}

// The block source is outside this process: a proof it would make unverifiable fails the batch here instead.
function checkInclusion (tx: Transaction, inclusion: TxInclusion): void {
  const header = parseHeader(inclusion.header)
  if (!equalBytes(merkleRootFromBranch(tx.getHash(), inclusion.branch, inclusion.index), header.merkleRoot)) {
    throw new InvalidAnchorProofError(`the block source's branch for ${txidOf(tx)} does not lead to the Merkle root of block ${header.id}`)
  }
}
