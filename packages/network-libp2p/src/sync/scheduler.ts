import type { SyncOutcome } from './session.js'
import type { FetchProgress } from './transfer.js'
import { unrefTimer } from '../timers.js'

/** When sessions run with each peer: an interval while they succeed, a doubling backoff while they fail. */
export interface SyncSchedule {
  /** Between two sessions with a peer that answered the last one (default 30,000 ms). */
  intervalMs: number
  /** The first wait after a failed session (default 1,000 ms); it doubles with each failure in a row. */
  backoffMinMs: number
  /** The longest wait after failures (default 600,000 ms). */
  backoffMaxMs: number
  /**
   * When a peer announces a document this node lacks, a session with it runs this long after the last one ended
   * (default 1,000 ms) rather than at the next interval: how a document made on a peer (a browser node, say) reaches
   * a node that has never seen it, within a second or two, however many announcements come meanwhile. Each such
   * session that brings nothing (the document was outside the node's interests) doubles the wait for the next one, up
   * to `intervalMs`; one that brings commits sets it back.
   */
  soonMs: number
}

export const DEFAULT_SYNC_SCHEDULE: Readonly<SyncSchedule> = Object.freeze({ intervalMs: 30_000, backoffMinMs: 1_000, backoffMaxMs: 600_000, soonMs: 1_000 })

/** Where sync stands with one peer. */
export interface PeerSyncStatus {
  peerId: string
  /** `syncing`: a session is running; `in-sync`: the last one succeeded; `backing-off`: the last failed; `waiting`: none ran yet. */
  state: 'waiting' | 'syncing' | 'in-sync' | 'backing-off'
  /** Failed sessions in a row. */
  failures: number
  /** What the last successful session found. */
  last?: { at: number, missing: number, peerMissing: number, rounds: number }
  /** While `syncing`: the commits wanted from the peer in this session, and how many were received and applied so far. */
  progress?: FetchProgress
}

/** What one run with a peer did: the session, and how many commits its fetch applied. */
export interface SyncRun { outcome: SyncOutcome, applied: number }

interface PeerEntry {
  status: PeerSyncStatus
  timer?: ReturnType<typeof setTimeout>
  /** When the timer fires. */
  dueAt?: number
  delay: number
  /** Asked for soon while a session ran: the next follows `soonGap` after it. */
  again?: boolean
  /** The next session was brought forward by `soon`. */
  early?: boolean
  /** How long after the last session one brought forward may run: `soonMs`, doubled by each that brought nothing. */
  soonGap: number
  /** How long the last session took, in ms. */
  lastMs?: number
}

/**
 * A session brought forward waits at least this many times as long as the last session with the peer took: on a node
 * whose sessions are long (a large key set), announcements cannot keep it reconciling more than a tenth of the time.
 */
export const SOON_COST_FACTOR = 10

/** How long after the last session with the peer one brought forward may start. */
const soonGapOf = (entry: PeerEntry): number => Math.max(entry.soonGap, SOON_COST_FACTOR * (entry.lastMs ?? 0))

/** Whether `soon` was called while the entry's session ran (read after the session's await). */
const askedAgain = (entry: PeerEntry): boolean => entry.again === true

/**
 * Runs a session with each peer as soon as it connects, then again every `intervalMs`, backing off from failures;
 * never two at once with one peer. `run` is the session itself; the scheduler only decides when.
 */
export class SyncScheduler {
  readonly #schedule: SyncSchedule
  readonly #run: (peer: string) => Promise<SyncRun>
  readonly #now: () => number
  readonly #peers = new Map<string, PeerEntry>()
  #stopped = false

  constructor (run: (peer: string) => Promise<SyncRun>, schedule: Partial<SyncSchedule> = {}, now: () => number = Date.now) {
    this.#run = run
    this.#schedule = { ...DEFAULT_SYNC_SCHEDULE, ...schedule }
    this.#now = now
  }

  /** A peer connected: a session starts at once. */
  connected (peer: string): void {
    if (this.#stopped || this.#peers.has(peer)) return
    const entry: PeerEntry = { status: { peerId: peer, state: 'waiting', failures: 0 }, delay: this.#schedule.backoffMinMs, soonGap: this.#schedule.soonMs }
    this.#peers.set(peer, entry)
    this.#after(entry, 0)
  }

  /**
   * A peer announced a document this node lacks: the next session with it runs `soonMs` after the last (never sooner,
   * never two at once; later while such sessions bring nothing). A peer still waiting for its first session, or
   * backing off from failures, keeps its turn.
   */
  soon (peer: string): void {
    const entry = this.#peers.get(peer)
    if (entry === undefined || !this.wouldBringForward(peer)) return
    if (entry.status.state === 'syncing') {
      entry.again = true
      return
    }
    this.#after(entry, this.#soonAt(entry) - this.#now())
    entry.early = true
  }

  /** Whether `soon(peer)` would change anything now: callers skip the work of deciding to call it when it would not. */
  wouldBringForward (peer: string): boolean {
    const entry = this.#peers.get(peer)
    if (this.#stopped || entry === undefined) return false
    if (entry.status.state === 'syncing') return entry.again !== true
    return entry.status.state === 'in-sync' && (entry.dueAt === undefined || entry.dueAt > this.#soonAt(entry))
  }

  /** When a session brought forward may start. */
  #soonAt (entry: PeerEntry): number {
    return Math.max(this.#now(), (entry.status.last?.at ?? 0) + soonGapOf(entry))
  }

  /** A peer went away: nothing more runs with it. */
  disconnected (peer: string): void {
    const entry = this.#peers.get(peer)
    if (entry === undefined) return
    clearTimeout(entry.timer)
    this.#peers.delete(peer)
  }

  /** The fetch of a running session with `peer` moved on. */
  progress (peer: string, progress: FetchProgress): void {
    const entry = this.#peers.get(peer)
    if (entry?.status.state === 'syncing') entry.status.progress = { ...progress }
  }

  /** Where sync stands with each connected peer. */
  status (): PeerSyncStatus[] {
    return [...this.#peers.values()].map((e) => ({ ...e.status, ...(e.status.last === undefined ? {} : { last: { ...e.status.last } }) }))
  }

  stop (): void {
    this.#stopped = true
    for (const entry of this.#peers.values()) clearTimeout(entry.timer)
    this.#peers.clear()
  }

  #after (entry: PeerEntry, ms: number): void {
    clearTimeout(entry.timer)
    entry.early = false
    entry.dueAt = this.#now() + ms
    entry.timer = setTimeout(() => { void this.#session(entry) }, ms)
    unrefTimer(entry.timer)
  }

  async #session (entry: PeerEntry): Promise<void> {
    const peer = entry.status.peerId
    entry.status.state = 'syncing'
    const early = entry.early === true
    entry.again = false
    entry.early = false
    delete entry.dueAt
    const started = this.#now()
    try {
      const { outcome, applied } = await this.#run(peer)
      entry.lastMs = this.#now() - started
      entry.status = { peerId: peer, state: 'in-sync', failures: 0, last: { at: this.#now(), missing: outcome.missing.length, peerMissing: outcome.peerMissing.length, rounds: outcome.rounds } }
      entry.delay = this.#schedule.backoffMinMs
      // A session that brought commits may not have brought all (a peer lists so many keys per session): the next
      // follows soon. One that brought none waits the interval.
      if (early) entry.soonGap = applied > 0 ? this.#schedule.soonMs : Math.min(this.#schedule.intervalMs, entry.soonGap * 2)
      const next = applied > 0 ? this.#schedule.backoffMinMs : this.#schedule.intervalMs
      if (!this.#stopped && this.#peers.get(peer) === entry) {
        const sooner = askedAgain(entry) && soonGapOf(entry) < next
        this.#after(entry, sooner ? soonGapOf(entry) : next)
        if (sooner) entry.early = true
      }
    } catch {
      delete entry.status.progress
      entry.status.state = 'backing-off'
      entry.status.failures++
      const delay = entry.delay
      entry.delay = Math.min(this.#schedule.backoffMaxMs, entry.delay * 2)
      if (!this.#stopped && this.#peers.get(peer) === entry) this.#after(entry, delay)
    }
  }
}
