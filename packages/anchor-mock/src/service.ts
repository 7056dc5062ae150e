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
  type DIDSigner,
  type Logger
} from '@kiln/interface'
import { CID } from 'multiformats/cid'
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
}

type Listener = (event: AnchorEvent) => void

/** The in-process chain: queues requests by DocID, mines them as signed blocks, reports each request's progress. */
export class MockChainService implements MockAnchorService {
  readonly chainId: string
  readonly chainDid: string
  readonly #chain: DIDSigner
  readonly #intervalMs: number
  readonly #anchorOnRequest: boolean
  readonly #logger: Logger | undefined
  readonly #listeners: Listener[] = []
  /** Requests not yet in a batch, by DocID; a newer request for a DocID replaces the older. */
  readonly #pending = new Map<string, AnchorRequest>()
  #started = false
  #timer: ReturnType<typeof setInterval> | undefined
  #kick: ReturnType<typeof setTimeout> | undefined
  /** Batches run one after another; this is the end of the line. */
  #work: Promise<void> = Promise.resolve()
  #busy = 0
  #height = 0
  #timestamp = 0

  constructor (settings: MockChainSettings) {
    this.chainId = settings.chainId
    this.#chain = settings.chain
    this.chainDid = settings.chain.did
    this.#intervalMs = settings.intervalMs
    this.#anchorOnRequest = settings.anchorOnRequest
    this.#logger = settings.logger
  }

  get height (): number {
    return this.#height
  }

  start (): void {
    if (this.#started) return
    this.#started = true
    if (this.#anchorOnRequest) {
      this.#scheduleKick()
    } else {
      // Not unref'd: a script awaiting an anchor must not exit before it comes. stop() clears it.
      this.#timer = setInterval(() => { if (this.#busy === 0) void this.#enqueue(false) }, this.#intervalMs)
    }
  }

  async stop (): Promise<void> {
    this.#started = false
    if (this.#timer !== undefined) clearInterval(this.#timer)
    if (this.#kick !== undefined) clearTimeout(this.#kick)
    this.#timer = undefined
    this.#kick = undefined
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
    if (this.#started && this.#anchorOnRequest) this.#scheduleKick()
    return pending
  }

  onEvent (listener: Listener): void {
    this.#listeners.push(listener)
  }

  async anchorPending (): Promise<void> {
    await this.#enqueue(true)
  }

  // With `anchorOnRequest`, mining waits for the next macrotask: the caller of `requestAnchor` has its PENDING before
  // any PROCESSING or ANCHORED of that request reaches a listener.
  #scheduleKick (): void {
    if (this.#kick !== undefined || this.#pending.size === 0) return
    this.#kick = setTimeout(() => {
      this.#kick = undefined
      void this.#enqueue(false)
    }, 0)
  }

  /** Queues a run that takes what is pending when it starts; `explicit` runs even when the service is stopped. */
  #enqueue (explicit: boolean): Promise<void> {
    this.#busy++
    const run = this.#work.then(async () => {
      try {
        if (explicit || this.#started) await this.#drain()
      } catch (err) {
        // #mine reports its own failures as FAILED; this is a last guard so one run can never stall the queue.
        this.#logger?.error({ err, chainId: this.chainId }, 'mock chain run failed')
      } finally {
        this.#busy--
      }
    })
    this.#work = run
    return run
  }

  async #drain (): Promise<void> {
    if (!this.#anchorOnRequest) {
      const batch = [...this.#pending.values()]
      this.#pending.clear()
      if (batch.length > 0) await this.#mine(batch)
      return
    }
    // One block per request, each a one-leaf tree; requests arriving meanwhile are mined in the same run.
    for (let next = this.#pending.values().next(); next.done !== true; next = this.#pending.values().next()) {
      this.#pending.delete(next.value.docId)
      await this.#mine([next.value])
    }
  }

  async #mine (batch: AnchorRequest[]): Promise<void> {
    for (const request of batch) this.#emit(eventOf(request, AnchorStatus.PROCESSING))
    let anchored: AnchorEvent[]
    try {
      anchored = await this.#anchor(batch)
    } catch (err) {
      const reason = (err as Error)?.message ?? String(err)
      this.#logger?.error({ err, chainId: this.chainId, size: batch.length }, 'mock chain could not anchor a batch')
      for (const request of batch) {
        this.#emit(eventOf(request, AnchorStatus.FAILED, { message: `the ${this.chainId} mock chain could not anchor a batch of ${batch.length}: ${reason}` }))
      }
      return
    }
    for (const event of anchored) this.#emit(event)
  }

  async #anchor (batch: AnchorRequest[]): Promise<AnchorEvent[]> {
    const chainId = this.chainId
    const height = this.#height + 1
    // Unix seconds that never go backwards, even if the wall clock does.
    const timestamp = Math.max(this.#timestamp, Math.floor(Date.now() / 1000))
    const tree = await buildMerkleTree(batch.map((r) => ({ key: r.docId, tip: r.tip })), {
      metadata: { chainId, height, size: batch.length }
    })
    const tx = await signTransaction({ chainId, height, timestamp, root: tree.root }, this.#chain)
    const proof = await encodeRecord({ chainId, root: tree.root, txHash: tx.envelope.cid, txType: MOCK_TX_TYPE })
    this.#height = height
    this.#timestamp = timestamp
    this.#logger?.debug({ chainId, height, timestamp, root: tree.root.toString(), size: batch.length }, 'mock chain mined a block')
    return await Promise.all(batch.map(async (request): Promise<AnchorEvent> => {
      const commit = await encodeRecord({ id: request.genesis, prev: request.tip, proof: proof.cid, path: tree.pathOf(request.docId) })
      const blocks: Block[] = [proof, ...tree.pathBlocks(request.docId), tx.envelope, tx.payload]
      return eventOf(request, AnchorStatus.ANCHORED, { anchor: { commit, blocks } })
    }))
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
