import { anchoredEvents, BatchingAnchorService, buildMerkleTree } from '@kiln/anchor-merkle'
import { encodeRecord } from '@kiln/codec'
import type { AnchorEvent, AnchorRequest, AnchorService, DIDSigner, Logger } from '@kiln/interface'
import { InvalidAnchorRequestError } from './errors.js'
import { MOCK_TX_TYPE, signTransaction } from './transaction.js'

/** The anchor service of a mock chain, with what a test or a dev tool needs beyond the contract. */
export interface MockAnchorService extends AnchorService {
  /** The DID of the chain's key, which signs every transaction; a verifier trusts exactly this DID. */
  readonly chainDid: string
  /** Height of the last block mined in this process; 0 before the first. */
  readonly height: number
  /**
   * Mines what is pending now, started or not, and resolves once those requests are anchored (or failed): one batch,
   * or one block per request with `anchorOnRequest`.
   */
  anchorPending(): Promise<void>
  start(): void
  /** Stops the timer, waits for the batch in progress, and reports every request still pending `FAILED`. */
  stop(): Promise<void>
}

/** What the service needs: the chain's signer and its settings. */
export interface MockChainSettings {
  chainId: string
  chain: DIDSigner
  intervalMs: number
  anchorOnRequest: boolean
  logger?: Logger
  /** The chain's clock, in ms since the epoch. */
  now?: () => number
}

/** The in-process chain: queues requests by DocID, mines them as signed blocks, reports each request's progress. */
export class MockChainService extends BatchingAnchorService implements MockAnchorService {
  readonly chainDid: string
  readonly #chain: DIDSigner
  readonly #logger: Logger | undefined
  readonly #now: () => number
  #height = 0
  #timestamp = 0

  constructor (settings: MockChainSettings) {
    const { chainId, intervalMs, anchorOnRequest, logger } = settings
    super({ chainId, intervalMs, anchorOnRequest, logger, requestError: InvalidAnchorRequestError })
    this.#chain = settings.chain
    this.chainDid = settings.chain.did
    this.#logger = logger
    this.#now = settings.now ?? Date.now
  }

  get height (): number {
    return this.#height
  }

  protected failureMessage (err: unknown, size: number): string {
    return `the ${this.chainId} mock chain could not anchor a batch of ${size}: ${(err as Error)?.message ?? String(err)}`
  }

  protected async anchorBatch (batch: AnchorRequest[]): Promise<AnchorEvent[]> {
    const chainId = this.chainId
    const height = this.#height + 1
    // Unix seconds that never go backwards, even if the wall clock does.
    const timestamp = Math.max(this.#timestamp, Math.floor(this.#now() / 1000))
    const tree = await buildMerkleTree(batch.map((r) => ({ key: r.docId, tip: r.tip })), {
      metadata: { chainId, height, size: batch.length }
    })
    const tx = await signTransaction({ chainId, height, timestamp, root: tree.root }, this.#chain)
    const proof = await encodeRecord({ chainId, root: tree.root, txHash: tx.envelope.cid, txType: MOCK_TX_TYPE })
    this.#height = height
    this.#timestamp = timestamp
    this.#logger?.debug({ chainId, height, timestamp, root: tree.root.toString(), size: batch.length }, 'mock chain mined a block')
    return await anchoredEvents(batch, tree, proof, [tx.envelope, tx.payload])
  }
}
