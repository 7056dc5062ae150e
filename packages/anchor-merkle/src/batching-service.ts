import { encodeRecord } from '@kiln/codec'
import {
  AbortError,
  AnchorStatus,
  type AbortOptions,
  type AnchorEvent,
  type AnchorRequest,
  type AnchorService,
  type Block,
  type KilnError,
  type KilnErrorOptions,
  type Logger
} from '@kiln/interface'
import { CID } from 'multiformats/cid'
import type { MerkleTree } from './tree.js'

/** A chain's settings for the shared request queue. */
export interface BatchingServiceInit {
  chainId: string
  /** How often the timer takes what is pending; unused with `anchorOnRequest`. */
  intervalMs: number
  /** One batch per request, started one macrotask after `requestAnchor` instead of by a timer. */
  anchorOnRequest?: boolean
  /** The most requests in one batch; a run takes everything pending and splits it. Unlimited by default. */
  maxBatch?: number
  logger?: Logger
  /** The chain package's own error class for a malformed request. */
  requestError: new (message: string, options?: KilnErrorOptions) => KilnError
}

type Listener = (event: AnchorEvent) => void

/** One ANCHORED event per request of a batch whose root `proof` records: its anchor commit, `proof`, its Merkle path, then `extra`. */
export async function anchoredEvents (batch: AnchorRequest[], tree: MerkleTree, proof: Block, extra: Block[] = []): Promise<AnchorEvent[]> {
  return await Promise.all(batch.map(async (request): Promise<AnchorEvent> => {
    const commit = await encodeRecord({ id: request.genesis, prev: request.tip, proof: proof.cid, path: tree.pathOf(request.docId) })
    const blocks: Block[] = [proof, ...tree.pathBlocks(request.docId), ...extra]
    return eventOf(request, AnchorStatus.ANCHORED, { anchor: { commit, blocks } })
  }))
}

/**
 * The request queue every anchor service shares: by DocID, PENDING, REPLACED, PROCESSING, a timer or a kick per request,
 * `anchorPending()` and `stop()`. A chain extends it with `anchorBatch`, which puts one batch on chain.
 */
export abstract class BatchingAnchorService implements AnchorService {
  readonly chainId: string
  readonly #init: BatchingServiceInit
  readonly #listeners: Listener[] = []
  /** Requests not yet in a batch, by DocID; a newer request for a DocID replaces the older. */
  readonly #pending = new Map<string, AnchorRequest>()
  #started = false
  #timer: ReturnType<typeof setInterval> | undefined
  #kick: ReturnType<typeof setTimeout> | undefined
  /** Batches run one after another; this is the end of the line. */
  #work: Promise<void> = Promise.resolve()
  #busy = 0
  #abort = new AbortController()

  constructor (init: BatchingServiceInit) {
    this.chainId = init.chainId
    this.#init = init
  }

  /** Puts one batch on chain and resolves with its ANCHORED events; a rejection fails every request of the batch. */
  protected abstract anchorBatch (batch: AnchorRequest[], options: { signal: AbortSignal }): Promise<AnchorEvent[]>

  /** The FAILED message of every request of a batch `anchorBatch` rejected with `err`. */
  protected abstract failureMessage (err: unknown, size: number): string

  start (): void {
    if (this.#started) return
    this.#started = true
    if (this.#init.anchorOnRequest === true) {
      this.#scheduleKick()
    } else {
      // Not unref'd: a script awaiting an anchor must not exit before it comes. stop() clears it.
      this.#timer = setInterval(() => { if (this.#busy === 0) void this.#enqueue(false) }, this.#init.intervalMs)
    }
  }

  /** Stops the timer, aborts the signal of the batch in progress and waits for it, and reports every request still pending `FAILED`. */
  async stop (): Promise<void> {
    this.#started = false
    if (this.#timer !== undefined) clearInterval(this.#timer)
    if (this.#kick !== undefined) clearTimeout(this.#kick)
    this.#timer = undefined
    this.#kick = undefined
    // A block may be an hour away: a chain that honours the signal fails its batch rather than hold the node's shutdown.
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
    this.#checkRequest(request)
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
    if (this.#started && this.#init.anchorOnRequest === true) this.#scheduleKick()
    return pending
  }

  onEvent (listener: Listener): void {
    this.#listeners.push(listener)
  }

  /** Anchors what is pending now, started or not, and resolves once those requests are anchored (or failed). */
  async anchorPending (): Promise<void> {
    await this.#enqueue(true)
  }

  // With `anchorOnRequest`, a batch waits for the next macrotask: the caller of `requestAnchor` has its PENDING before
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
        // #process reports its own failures as FAILED; this is a last guard so one run can never stall the queue.
        this.#init.logger?.error({ err, chainId: this.chainId }, 'anchor run failed')
      } finally {
        this.#busy--
      }
    })
    this.#work = run
    return run
  }

  async #drain (): Promise<void> {
    if (this.#init.anchorOnRequest === true) {
      // One batch per request; requests arriving meanwhile are anchored in the same run.
      for (let next = this.#pending.values().next(); next.done !== true; next = this.#pending.values().next()) {
        this.#pending.delete(next.value.docId)
        await this.#process([next.value])
      }
      return
    }
    const all = [...this.#pending.values()]
    this.#pending.clear()
    // Every batch is taken from the queue at once, so none of them can be REPLACED while an earlier one is on its way.
    const size = this.#init.maxBatch ?? Infinity
    for (let i = 0; i < all.length; i += size) await this.#process(all.slice(i, i + size))
  }

  async #process (batch: AnchorRequest[]): Promise<void> {
    for (const request of batch) this.#emit(eventOf(request, AnchorStatus.PROCESSING))
    let anchored: AnchorEvent[]
    try {
      anchored = await this.anchorBatch(batch, { signal: this.#abort.signal })
    } catch (err) {
      this.#init.logger?.error({ err, chainId: this.chainId, size: batch.length }, 'could not anchor a batch')
      const message = this.failureMessage(err, batch.length)
      for (const request of batch) this.#emit(eventOf(request, AnchorStatus.FAILED, { message }))
      return
    }
    for (const event of anchored) this.#emit(event)
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
    this.#init.logger?.warn({ err, docId: event.docId, status: event.status }, 'an anchor event listener threw; other listeners still ran')
  }

  #checkRequest (request: AnchorRequest): void {
    // The types say this already; a JavaScript caller may not, and one bad request must not fail a whole batch.
    const { docId, genesis, tip } = (request ?? {}) as Partial<Record<keyof AnchorRequest, unknown>>
    if (typeof docId !== 'string' || docId.length === 0) {
      throw new this.#init.requestError(`an anchor request needs a DocID string, got ${typeof docId}`)
    }
    for (const [field, value] of [['genesis', genesis], ['tip', tip]] as const) {
      if (CID.asCID(value) === null) {
        throw new this.#init.requestError(`the ${field} of the anchor request for ${docId} is not a CID`, { details: { docId, field } })
      }
    }
  }
}

function eventOf (request: AnchorRequest, status: AnchorStatus, extra: Pick<AnchorEvent, 'anchor' | 'message'> = {}): AnchorEvent {
  return { docId: request.docId, tip: request.tip, status, ...extra }
}
