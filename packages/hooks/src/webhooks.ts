import { randomBytes } from 'node:crypto'
import { parseDocOrCommitID } from '@kiln/docid'
import {
  HookNotFoundError, InvalidRequestError, isKilnError, NodeStoppedError,
  type AbortOptions, type Hook, type HookAdmin, type HookComponents, type HookEvent, type Logger, type WebhookCreated, type WebhookFilter,
  type WebhookInput, type WebhookStatus
} from '@kiln/interface'
import { ClassicLevel } from 'classic-level'
import { retryDelay } from './backoff.js'
import { DueQueue } from './due-queue.js'
import { WebhooksOptionError } from './errors.js'
import { signWebhook } from './signature.js'

/** Options of {@link webhooks}. */
export interface WebhooksInit {
  /** The directory of the outbox's LevelDB database (registrations, pending and dead-letter deliveries). */
  path: string
  /** The signing secret of a new webhook; 32 random bytes (hex) by default. */
  secretFor?: (id: string) => string
  /** Attempts of one delivery before it is dead-lettered; 8 by default. */
  maxAttempts?: number
  /** The wait before retry n is `baseMs × 2^(n-1)` plus up to 20% jitter, at most `maxMs`; 500 and 60,000 by default. */
  backoff?: { baseMs?: number, maxMs?: number }
  /** A receiver that has not answered after this long is cut off (a failed attempt); 10,000 ms by default. */
  timeoutMs?: number
  /** Deliveries in flight at once; 4 by default. */
  concurrency?: number
  /** The `fetch` deliveries use; the global one by default. */
  fetch?: typeof globalThis.fetch
  /** The jitter's source, in [0, 1); `Math.random` by default (tests pass a constant). */
  random?: () => number
  /** Writes waiting to be appended to the outbox, and deliveries due that it keeps in memory; 10,000 by default. */
  maxQueued?: number
  /**
   * How far before the last outbox checkpoint the start-up recovery looks for documents whose head changed without
   * reaching the outbox (a crash between the node's write and the append); 60,000 ms by default.
   */
  recoveryWindowMs?: number
}

/** The webhooks hook, with what tests and the daemon's log look at. */
export interface Webhooks extends Hook {
  readonly admin: HookAdmin
  /** Resolves once every write seen so far is in the outbox. */
  flushed(): Promise<void>
  /**
   * Resolves once every write seen so far is in the outbox and no delivery is in flight (the next ones may be waiting
   * for their backoff): for tests and a clean shutdown.
   */
  settled(): Promise<void>
}

/** A registration as stored: with its secret. */
interface StoredWebhook {
  id: string
  url: string
  filter: WebhookFilter
  secret: string
  createdAt: number
}

/** One pending (or dead-lettered) delivery of a state to a webhook. */
interface OutboxEntry {
  hookId: string
  docId: string
  tip: string
  commitId: string
  state: Record<string, unknown>
  deliveryId: string
  /** Attempts made so far. */
  attempts: number
  /** When the next attempt is due, ms since the epoch. */
  nextAt: number
  lastError?: string
}

interface HookStats {
  delivered: number
  lastError?: string
}

type Options = Required<Omit<WebhooksInit, 'fetch' | 'secretFor' | 'backoff'>> & {
  fetch?: typeof globalThis.fetch
  secretFor: (id: string) => string
  backoff: { baseMs: number, maxMs: number }
}

const CHECKPOINT = 'c'
const RECOVERY_PAGE = 200
const MAX_URL_LENGTH = 2048
const MAX_FILTER_LENGTH = 1024

/** Keys sort as strings: `!` below every DocID, CID and id character, `~` above them. */
const pendingKey = (hookId: string, docId: string, tip: string): string => `o!${hookId}!${docId}!${tip}`
const deadKey = (hookId: string, docId: string, tip: string): string => `x!${hookId}!${docId}!${tip}`

function positive (value: number | undefined, fallback: number, field: string, min = 1): number {
  const n = value ?? fallback
  if (!Number.isInteger(n) || n < min) throw new WebhooksOptionError(`webhooks(): ${field} must be an integer ≥ ${min}, got ${String(value)}`, { details: { field } })
  return n
}

/**
 * A hook plugin that POSTs every new document state to the webhooks an admin registered, signed with each webhook's
 * secret, at least once, from a durable outbox at `path`; see docs/hooks.md.
 */
export function webhooks (init: WebhooksInit): (components: HookComponents) => Webhooks {
  if (typeof init?.path !== 'string' || init.path === '') throw new WebhooksOptionError('webhooks() needs the path of its outbox directory', { details: { field: 'path' } })
  const options: Options = {
    path: init.path,
    secretFor: init.secretFor ?? (() => randomBytes(32).toString('hex')),
    maxAttempts: positive(init.maxAttempts, 8, 'maxAttempts'),
    backoff: { baseMs: positive(init.backoff?.baseMs, 500, 'backoff.baseMs'), maxMs: positive(init.backoff?.maxMs, 60_000, 'backoff.maxMs') },
    timeoutMs: positive(init.timeoutMs, 10_000, 'timeoutMs'),
    concurrency: positive(init.concurrency, 4, 'concurrency'),
    ...(init.fetch === undefined ? {} : { fetch: init.fetch }),
    random: init.random ?? Math.random,
    maxQueued: positive(init.maxQueued, 10_000, 'maxQueued'),
    recoveryWindowMs: positive(init.recoveryWindowMs, 60_000, 'recoveryWindowMs', 0)
  }
  return (components) => new WebhookOutbox(options, components)
}

/** Checks and normalizes a registration's input; `InvalidRequestError` names the field at fault. */
function checkInput (input: unknown): { url: string, filter: WebhookFilter } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new InvalidRequestError('A webhook is an object {url, filter?}', { details: { field: 'body' } })
  const { url, filter } = input as Record<string, unknown>
  if (typeof url !== 'string' || url.length > MAX_URL_LENGTH) throw new InvalidRequestError(`A webhook's url must be a string of at most ${MAX_URL_LENGTH} characters`, { details: { field: 'url' } })
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InvalidRequestError(`A webhook's url must be an absolute URL, got ${JSON.stringify(url.slice(0, 200))}`, { details: { field: 'url' } })
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidRequestError(`A webhook's url must be http: or https:, got ${parsed.protocol}`, { details: { field: 'url' } })
  }
  if (filter === undefined || filter === null) return { url: parsed.toString(), filter: {} }
  if (typeof filter !== 'object' || Array.isArray(filter)) throw new InvalidRequestError('A webhook\'s filter is an object {family} | {schema} | {doc}', { details: { field: 'filter' } })
  const entries = Object.entries(filter as Record<string, unknown>)
  if (entries.length === 0) return { url: parsed.toString(), filter: {} }
  if (entries.length > 1) throw new InvalidRequestError('A webhook\'s filter holds one of family, schema or doc', { details: { field: 'filter' } })
  const [key, value] = entries[0]!
  if (typeof value !== 'string' || value === '' || value.length > MAX_FILTER_LENGTH) {
    throw new InvalidRequestError(`A webhook's filter.${key} must be a non-empty string of at most ${MAX_FILTER_LENGTH} characters`, { details: { field: `filter.${key}` } })
  }
  if (key === 'family') return { url: parsed.toString(), filter: { family: value } }
  if (key === 'schema' || key === 'doc') {
    let docId: string
    try {
      docId = parseDocOrCommitID(value).baseID.toString()
    } catch (err) {
      throw new InvalidRequestError(`A webhook's filter.${key} must be a DocID, got ${JSON.stringify(value.slice(0, 200))}`, { cause: err, details: { field: `filter.${key}` } })
    }
    return { url: parsed.toString(), filter: key === 'schema' ? { schema: docId } : { doc: docId } }
  }
  throw new InvalidRequestError(`A webhook's filter holds family, schema or doc, not ${JSON.stringify(key.slice(0, 100))}`, { details: { field: 'filter' } })
}

/** Whether a write of `event` goes to a webhook with this filter. */
function matches (filter: WebhookFilter, event: HookEvent): boolean {
  if (filter.doc !== undefined) return event.docId === filter.doc
  const metadata = event.state.metadata as { family?: unknown, schema?: unknown }
  if (filter.family !== undefined) return metadata.family === filter.family
  if (filter.schema !== undefined) {
    if (typeof metadata.schema !== 'string') return false
    try {
      return parseDocOrCommitID(metadata.schema).baseID.toString() === filter.schema
    } catch {
      return false
    }
  }
  return true
}

function describe (err: unknown): string {
  if (err instanceof Error) return err.name === 'TimeoutError' || err.name === 'AbortError' ? `no answer in time (${err.message})` : err.message
  return String(err)
}

class WebhookOutbox implements Webhooks {
  readonly name = 'webhooks'
  readonly admin: HookAdmin
  private readonly db: ClassicLevel<string, unknown>
  private readonly logger?: Logger
  private readonly fetch: typeof globalThis.fetch
  private readonly hooks = new Map<string, StoredWebhook>()
  /** Delivery counts of each webhook, as stored (read at start, written with each result). */
  private readonly stats = new Map<string, HookStats>()
  /** Writes seen and not yet appended to the outbox. */
  private queue: Array<{ event: HookEvent, at: number }> = []
  /** The earliest time of a write dropped because the queue was full: recovery covers it. */
  private missedSince?: number
  /** Deliveries due (key → when), at most `maxQueued`; the outbox on disk is the truth. */
  private readonly due = new DueQueue()
  /** The outbox holds deliveries `due` does not (it was full): read them again once it drains. */
  private overflow = false
  private readonly inFlight = new Set<string>()
  private readonly idleWaiters = new Set<() => void>()
  /** Every change to the database runs here, one after another, so an append and a delivery's result never interleave. */
  private tail: Promise<unknown> = Promise.resolve()
  private flushing?: Promise<void>
  private timer?: ReturnType<typeof setTimeout>
  private running = false
  /** `stop()` is under way: the queue is appended, no delivery is started or recorded. */
  private stopping = false
  private abort = new AbortController()

  constructor (private readonly o: Options, private readonly c: HookComponents) {
    this.logger = c.logger
    this.fetch = o.fetch ?? globalThis.fetch
    this.db = new ClassicLevel<string, unknown>(o.path, { valueEncoding: 'json' })
    this.admin = {
      add: async (input, options) => await this.add(input, options),
      list: async (options) => await this.list(options),
      remove: async (id, options) => { await this.remove(id, options) }
    }
  }

  async start (): Promise<void> {
    if (this.running) return
    this.stopping = false
    await this.db.open()
    this.abort = new AbortController()
    for await (const [, value] of this.db.iterator({ gt: 'h!', lt: 'h~' })) {
      const hook = value as StoredWebhook
      this.hooks.set(hook.id, hook)
    }
    for await (const [key, value] of this.db.iterator({ gt: 's!', lt: 's~' })) this.stats.set(key.slice(2), value as HookStats)
    this.running = true
    const checkpoint = await this.db.get(CHECKPOINT) as number | undefined
    if (checkpoint === undefined) await this.db.put(CHECKPOINT, Date.now(), { sync: true })
    // Every start scans, a clean one too: the node may have written while no outbox ran (anchor-status changes the
    // node applies as it starts, before its hooks; a run without this plugin).
    else this.missedSince = checkpoint
    await this.reload()
    // The writes between the last checkpoint and the crash (or stop) that never reached the outbox.
    void this.serial(async () => { await this.recover() }).catch((err: unknown) => this.logger?.warn({ err }, 'webhooks: recovery failed'))
    this.schedule()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.stopping = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.abort.abort(new NodeStoppedError('The node is stopping'))
    // The writes seen so far go to the outbox before it closes; deliveries in flight are given up (sent again later).
    await this.flushed().catch(() => {})
    this.running = false
    this.wakeIdle()
    await this.tail.catch(() => {})
    this.due.clear()
    this.inFlight.clear()
    this.hooks.clear()
    this.stats.clear()
    await this.db.close()
  }

  written (event: HookEvent): void {
    if (!this.running || this.hooks.size === 0) return
    if (this.queue.length >= this.o.maxQueued) {
      // Too far behind to remember each write: the recovery scan finds the documents written since.
      this.missedSince ??= Date.now()
      return
    }
    this.queue.push({ event, at: Date.now() })
    if (this.flushing === undefined) this.flushing = this.serial(async () => { await this.append() }).finally(() => { this.flushing = undefined })
  }

  async flushed (): Promise<void> {
    while (this.flushing !== undefined) await this.flushing
  }

  async settled (): Promise<void> {
    for (;;) {
      await this.flushed()
      await this.tail
      if (this.inFlight.size === 0 || !this.running) {
        if (this.flushing === undefined) return
        continue
      }
      await new Promise<void>((resolve) => { this.idleWaiters.add(resolve) })
    }
  }

  private wakeIdle (): void {
    for (const wake of [...this.idleWaiters]) { this.idleWaiters.delete(wake); wake() }
  }

  /** Runs a change of the database after every change before it. */
  private async serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn)
    this.tail = run.catch(() => {})
    return await run
  }

  /** Appends the queued writes to the outbox, one entry per (webhook, document, tip). */
  private async append (): Promise<void> {
    while (this.queue.length > 0 && this.running) {
      const taken = this.queue
      this.queue = []
      const takenAt = Date.now()
      const operations: Array<{ type: 'put', key: string, value: unknown }> = []
      const now = Date.now()
      for (const { event } of taken) operations.push(...this.entriesOf(event, now))
      // Every write seen before `takenAt` is in the outbox now, unless some were dropped: recovery starts there.
      const checkpoint = Math.min(takenAt, this.missedSince ?? Infinity, this.queue[0]?.at ?? Infinity)
      operations.push({ type: 'put', key: CHECKPOINT, value: checkpoint })
      try {
        // Not synced: a process crash keeps what reached the operating system, and a power loss that drops this batch
        // drops its checkpoint with it, so the recovery at the next start finds these writes in the node's storage.
        // An fsync here would compete with the node's own for the disk, on every write.
        await this.db.batch(operations, { sync: false })
      } catch (err) {
        this.logger?.warn({ err }, 'webhooks: appending to the outbox failed; the recovery at the next start finds these writes')
        this.missedSince ??= taken[0]?.at
        continue
      }
      this.enqueueDue(operations)
    }
    if (this.missedSince !== undefined && this.running && !this.stopping) await this.recover()
  }

  /** The outbox entries of one write: one per matching webhook, and the document's last enqueued tip. */
  private entriesOf (event: HookEvent, now: number): Array<{ type: 'put', key: string, value: unknown }> {
    const operations: Array<{ type: 'put', key: string, value: unknown }> = []
    let state: Record<string, unknown> | undefined
    for (const hook of this.hooks.values()) {
      if (!matches(hook.filter, event)) continue
      state ??= event.json()
      const entry: OutboxEntry = {
        hookId: hook.id,
        docId: event.docId,
        tip: event.tip,
        commitId: event.commitId,
        state,
        deliveryId: randomBytes(12).toString('hex'),
        attempts: 0,
        nextAt: now
      }
      operations.push({ type: 'put', key: pendingKey(hook.id, event.docId, event.tip), value: entry })
    }
    operations.push({ type: 'put', key: `t!${event.docId}`, value: `${event.tip} ${String(event.head.anchorStatus)}` })
    return operations
  }

  private enqueueDue (operations: Array<{ key: string, value: unknown }>): void {
    for (const { key, value } of operations) {
      if (!key.startsWith('o!')) continue
      if (this.due.size >= this.o.maxQueued && !this.due.has(key)) { this.overflow = true; continue }
      this.due.set(key, (value as OutboxEntry).nextAt)
    }
    this.schedule()
  }

  /**
   * Finds the documents whose head changed after `missedSince` (less the recovery window) and whose tip or anchor
   * status differs from the last one appended, and appends their current state.
   */
  private async recover (): Promise<void> {
    const since = this.missedSince
    if (since === undefined) return
    this.missedSince = undefined
    if (this.hooks.size === 0) {
      // No webhook is owed anything written before one is added: move the checkpoint on without scanning.
      await this.db.put(CHECKPOINT, Math.min(this.queue[0]?.at ?? Date.now(), this.missedSince ?? Infinity), { sync: true })
      return
    }
    let after: string | undefined
    try {
      for (;;) {
        if (!this.running || this.stopping) { this.missedSince = since; return }
        const page = await this.c.storage.query({
          filter: { updated: { after: since - this.o.recoveryWindowMs - 1 } },
          sort: { by: 'updated', order: 'asc' },
          first: RECOVERY_PAGE,
          ...(after === undefined ? {} : { after })
        }, { signal: this.abort.signal })
        const operations: Array<{ type: 'put', key: string, value: unknown }> = []
        const now = Date.now()
        for (const docId of page.ids) {
          const event = await this.c.current(docId, { signal: this.abort.signal })
          if (event === undefined) continue
          const last = await this.db.get(`t!${docId}`) as string | undefined
          if (last === `${event.tip} ${String(event.head.anchorStatus)}`) continue
          operations.push(...this.entriesOf(event, now))
        }
        operations.push({ type: 'put', key: CHECKPOINT, value: Math.min(since, this.queue[0]?.at ?? Infinity) })
        await this.db.batch(operations, { sync: false })
        this.enqueueDue(operations)
        if (!page.hasNextPage || page.endCursor === undefined) break
        after = page.endCursor
      }
      await this.db.put(CHECKPOINT, Math.min(this.queue[0]?.at ?? Date.now(), this.missedSince ?? Infinity), { sync: true })
    } catch (err) {
      this.missedSince = Math.min(since, this.missedSince ?? Infinity)
      if (this.running) this.logger?.warn({ err }, 'webhooks: the recovery scan failed; it runs again at the next start')
    }
  }

  /** Reads the due deliveries from the outbox into memory, up to `maxQueued`. */
  private async reload (): Promise<void> {
    this.overflow = false
    for await (const [key, value] of this.db.iterator({ gt: 'o!', lt: 'o~' })) {
      if (this.due.has(key) || this.inFlight.has(key)) continue
      if (this.due.size >= this.o.maxQueued) { this.overflow = true; break }
      this.due.set(key, (value as OutboxEntry).nextAt)
    }
  }

  /** Starts the deliveries that are due, and sets a timer for the next one. */
  private schedule (): void {
    if (!this.running || this.stopping) return
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined }
    const now = Date.now()
    while (this.inFlight.size < this.o.concurrency) {
      const key = this.due.takeDue(now)
      if (key === undefined) break
      // Replaced while in flight: the attempt's result puts the new entry back.
      if (this.inFlight.has(key)) continue
      this.inFlight.add(key)
      void this.deliver(key).finally(() => {
        this.inFlight.delete(key)
        if (this.due.size === 0 && this.overflow && this.running) void this.reload().then(() => { this.schedule() }, () => {})
        else this.schedule()
        if (this.inFlight.size === 0) this.wakeIdle()
      })
    }
    const next = this.due.peek()?.[0]
    if (this.inFlight.size < this.o.concurrency && next !== undefined) {
      this.timer = setTimeout(() => { this.timer = undefined; this.schedule() }, Math.max(0, next - now))
      this.timer.unref?.()
    }
  }

  /** One attempt of one delivery; its result is written to the outbox. */
  private async deliver (key: string): Promise<void> {
    let entry: OutboxEntry | undefined
    try {
      entry = await this.db.get(key) as OutboxEntry | undefined
    } catch {
      return
    }
    if (entry === undefined) return
    const hook = this.hooks.get(entry.hookId)
    if (hook === undefined) return
    const attempt = entry.attempts + 1
    const body = JSON.stringify({ docId: entry.docId, commitId: entry.commitId, tip: entry.tip, state: entry.state, deliveryId: entry.deliveryId, attempt })
    const timestamp = Math.floor(Date.now() / 1000)
    let failure: string | undefined
    try {
      const answer = await this.fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-kiln-delivery': entry.deliveryId,
          'x-kiln-timestamp': String(timestamp),
          'x-kiln-signature': signWebhook(hook.secret, timestamp, body)
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.timeoutMs)])
      })
      await answer.body?.cancel().catch(() => {})
      if (answer.status < 200 || answer.status > 299) failure = `HTTP ${answer.status} from ${hook.url}`
    } catch (err) {
      if (!this.running || this.stopping) return
      failure = `${describe(err)} (${hook.url})`
    }
    if (!this.running || this.stopping) return
    const sent = entry
    await this.serial(async () => {
      // A newer state of the same tip (an anchor-status change) replaced the entry while it was sent: keep that one.
      const current = await this.db.get(key) as OutboxEntry | undefined
      if (current === undefined || current.deliveryId !== sent.deliveryId || !this.hooks.has(sent.hookId)) {
        if (current !== undefined && this.hooks.has(sent.hookId)) this.due.set(key, current.nextAt)
        return
      }
      const before = this.stats.get(sent.hookId) ?? { delivered: 0 }
      const stats: HookStats = failure === undefined ? { ...before, delivered: before.delivered + 1 } : { ...before, lastError: failure }
      this.stats.set(sent.hookId, stats)
      // Results are not synced either: one lost to a power loss means a delivery sent again (at least once), never one lost.
      if (failure === undefined) {
        await this.db.batch<string, unknown>([{ type: 'del', key }, { type: 'put', key: `s!${sent.hookId}`, value: stats }], { sync: false })
        return
      }
      const failed: OutboxEntry = { ...sent, attempts: attempt, lastError: failure, nextAt: Date.now() + retryDelay(attempt, this.o.backoff, this.o.random) }
      if (attempt >= this.o.maxAttempts) {
        this.logger?.warn({ hook: sent.hookId, docId: sent.docId, tip: sent.tip, error: failure }, 'webhooks: a delivery is dead-lettered')
        await this.db.batch<string, unknown>([
          { type: 'del', key },
          { type: 'put', key: deadKey(sent.hookId, sent.docId, sent.tip), value: failed },
          { type: 'put', key: `s!${sent.hookId}`, value: stats }
        ], { sync: false })
        return
      }
      await this.db.batch<string, unknown>([{ type: 'put', key, value: failed }, { type: 'put', key: `s!${sent.hookId}`, value: stats }], { sync: false })
      if (this.due.size < this.o.maxQueued) this.due.set(key, failed.nextAt)
      else this.overflow = true
    }).catch((err: unknown) => {
      if (this.running && !isKilnError(err, 'NodeStoppedError')) this.logger?.warn({ err }, 'webhooks: recording a delivery failed')
    })
  }

  private assertRunning (): void {
    if (!this.running) throw new NodeStoppedError('The webhooks are stopped')
  }

  private async add (input: WebhookInput, options: AbortOptions = {}): Promise<WebhookCreated> {
    this.assertRunning()
    options.signal?.throwIfAborted()
    const { url, filter } = checkInput(input)
    const id = `wh_${randomBytes(8).toString('hex')}`
    const hook: StoredWebhook = { id, url, filter, secret: this.o.secretFor(id), createdAt: Date.now() }
    await this.serial(async () => {
      // The first webhook is owed nothing written before it: the checkpoint moves to now, so that the next start does
      // not scan the writes made while no webhook was registered (nothing was appended for them).
      const first = this.hooks.size === 0 && this.missedSince === undefined && this.queue.length === 0
      await this.db.batch<string, unknown>([{ type: 'put', key: `h!${id}`, value: hook }, ...(first ? [{ type: 'put' as const, key: CHECKPOINT, value: Date.now() }] : [])], { sync: true })
      this.hooks.set(id, hook)
    })
    return { id, url, filter, createdAt: hook.createdAt, secret: hook.secret }
  }

  private async count (prefix: string): Promise<number> {
    let n = 0
    for await (const _key of this.db.keys({ gt: `${prefix}!`, lt: `${prefix}!\uffff` })) n++
    return n
  }

  private async list (options: AbortOptions = {}): Promise<WebhookStatus[]> {
    this.assertRunning()
    const statuses: WebhookStatus[] = []
    for (const hook of this.hooks.values()) {
      options.signal?.throwIfAborted()
      const stats = this.stats.get(hook.id) ?? { delivered: 0 }
      statuses.push({
        id: hook.id,
        url: hook.url,
        filter: hook.filter,
        createdAt: hook.createdAt,
        pending: await this.count(`o!${hook.id}`),
        delivered: stats.delivered,
        deadLetter: await this.count(`x!${hook.id}`),
        ...(stats.lastError === undefined ? {} : { lastError: stats.lastError })
      })
    }
    return statuses.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
  }

  private async remove (id: string, options: AbortOptions = {}): Promise<void> {
    this.assertRunning()
    options.signal?.throwIfAborted()
    if (typeof id !== 'string' || !this.hooks.has(id)) throw new HookNotFoundError(`No webhook ${JSON.stringify(String(id).slice(0, 100))} is registered on this node`, { details: { id: String(id).slice(0, 100) } })
    await this.serial(async () => {
      this.hooks.delete(id)
      this.stats.delete(id)
      await this.db.batch([{ type: 'del', key: `h!${id}` }, { type: 'del', key: `s!${id}` }], { sync: true })
      await this.db.clear({ gt: `o!${id}!`, lt: `o!${id}!\uffff` })
      await this.db.clear({ gt: `x!${id}!`, lt: `x!${id}!\uffff` })
      for (const key of [...this.due.keys()]) if (key.startsWith(`o!${id}!`)) this.due.delete(key)
    })
  }
}
