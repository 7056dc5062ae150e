import type { DocID } from '@kiln/docid'
import { KilnError, errorFromWire, isKilnError, type DocSnapshot } from '@kiln/interface'
import { objectOf, parseJSON, snapshotOf } from './answers.js'
import { parseEventStream } from './sse.js'
import { retryAfterMs, type OpenStream } from './transport.js'

/** How `watch` reconnects a dropped stream: waits that double from `initialDelayMs` to `maxDelayMs`, with jitter. */
export interface WatchReconnect {
  /** The wait before reconnecting after a stream that delivered states drops (default 100 ms); doubled after each failure. */
  initialDelayMs?: number
  /** The longest wait between two attempts (default 10 000 ms). */
  maxDelayMs?: number
  /** Consecutive failed attempts (no stream, or one that ends before any state) before `watch` gives up (default 10; `Infinity` never). */
  maxFailures?: number
}

/** The reconnection policy `watch` uses when `HttpClientInit.watchReconnect` leaves a field out. */
export const WATCH_RECONNECT_DEFAULTS: Readonly<Required<WatchReconnect>> = Object.freeze({ initialDelayMs: 100, maxDelayMs: 10_000, maxFailures: 10 })

/** The policy with its defaults filled in; a `KilnError` for a value that is not a usable number. */
export function reconnectPolicy (policy: WatchReconnect = {}): Required<WatchReconnect> {
  const full = { ...WATCH_RECONNECT_DEFAULTS, ...policy }
  const ok = Number.isFinite(full.initialDelayMs) && full.initialDelayMs > 0 &&
    Number.isFinite(full.maxDelayMs) && full.maxDelayMs >= full.initialDelayMs &&
    (full.maxFailures === Infinity || (Number.isInteger(full.maxFailures) && full.maxFailures >= 1))
  if (!ok) {
    throw new KilnError(`httpClient: watchReconnect needs 0 < initialDelayMs <= maxDelayMs and maxFailures >= 1, got ${JSON.stringify(policy)}`, {
      details: { watchReconnect: { ...policy } }
    })
  }
  return full
}

/**
 * The wait before the `attempt`-th reconnection in a row (1 after a stream that delivered states dropped, 2 after that
 * attempt failed too, …): `initialDelayMs · 2^(attempt-1)` capped at `maxDelayMs`, then a random point in its upper
 * half. The jitter spreads out clients that all lost the same node; the lower bound keeps a failing node from being
 * hammered.
 */
export function reconnectDelay (attempt: number, policy: Required<WatchReconnect>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1))
  return ceiling / 2 + random() * (ceiling / 2)
}

/**
 * Errors a node answers for a request that would fail the same way again (the statuses 400 to 422): reconnecting on
 * them cannot help. Anything else — no answer, a timeout, 503 from a node at its stream limit or short of storage, a
 * proxy's 502 — is worth another attempt after a wait.
 */
const PERMANENT = new Set([
  'InvalidRequestError', 'InvalidDocIDError', 'CodecError', 'InvalidCommitError', 'UnknownDoctypeError', 'AdminAuthError',
  'DocumentNotFoundError', 'BlockNotFoundError', 'ConflictingCommitError', 'RequestTooLargeError', 'LimitExceededError', 'InvalidSignatureError', 'InvalidCapabilityError',
  'UnauthorizedSignerError', 'UnsupportedDIDMethodError', 'DIDResolutionError', 'DoctypeRuleError', 'SchemaValidationError',
  'InvalidAnchorProofError', 'UnsupportedChainError'
])

/** True when opening the stream again later may work. */
export function isWorthRetrying (err: unknown): boolean {
  return !(isKilnError(err) && PERMANENT.has(err.name))
}

/** What the watch loop needs from outside: opening one stream, waiting, chance. Tests give their own. */
export interface WatchDeps {
  /** Opens the document's event stream; rejects with a named error when the node answers one. */
  open(signal?: AbortSignal): Promise<OpenStream>
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  random(): number
}

/** Options of {@link watchDocument}. */
export interface WatchDocumentOptions {
  docId: DocID
  /** The stream's full URL, for error messages. */
  url: string
  policy: Required<WatchReconnect>
  signal?: AbortSignal
}

/**
 * The states of a document from its SSE stream. The node sends the current state first, then each new one. A stream
 * that drops is opened again after a wait that grows with each failed attempt (see {@link reconnectDelay}) and starts
 * again from `initialDelayMs` once a stream delivers a state; the state a reopened stream starts with is skipped when
 * it is the last one given. The first connection's failure is thrown at once, as is a failure that reconnecting cannot
 * fix; after `maxFailures` failed attempts in a row the loop ends with a `KilnError` naming the document. The caller's
 * signal ends the loop quietly, also during a wait.
 */
export async function * watchDocument (deps: WatchDeps, options: WatchDocumentOptions): AsyncGenerator<DocSnapshot<DocID>> {
  const { docId, url, policy, signal } = options
  // A function, so TypeScript does not narrow `aborted` across the awaits below.
  const aborted = (): boolean => signal?.aborted === true
  let last: string | undefined
  /** Consecutive attempts that failed to open, or opened and ended before any state. */
  let failures = 0
  let lastFailure: unknown
  let reconnecting = false
  while (!aborted()) {
    if (reconnecting) {
      // Never sooner than a node that refused the last attempt for its rate asked (429, Retry-After).
      await deps.sleep(Math.max(reconnectDelay(failures + 1, policy, deps.random), retryAfterMs(lastFailure) ?? 0), signal)
      if (aborted()) return
    }
    let stream: OpenStream
    try {
      stream = await deps.open(signal)
    } catch (err) {
      if (aborted()) return
      if (!reconnecting || !isWorthRetrying(err)) throw err
      lastFailure = err
      if (++failures >= policy.maxFailures) throw gaveUp(docId, url, failures, lastFailure)
      continue
    }
    let resumed = last !== undefined
    let delivered = false
    try {
      for await (const event of parseEventStream(stream.body)) {
        if (event.event === 'error') throw errorFromWire(objectOf(parseJSON(event.data, 'watch error event'), 'watch error event'))
        if (event.event !== 'state') continue
        const json = objectOf(parseJSON(event.data, 'watch state event'), 'watch state event')
        const key = JSON.stringify(json.state)
        delivered = true
        failures = 0
        if (resumed && key === last) {
          resumed = false
          continue
        }
        resumed = false
        last = key
        yield snapshotOf(json, 'watch state event')
      }
      lastFailure = undefined
    } catch (err) {
      if (aborted()) return
      // A named error came from the node or from its data; anything else is the connection breaking.
      if (isKilnError(err)) throw err
      lastFailure = err
    } finally {
      stream.close()
    }
    if (aborted()) return
    reconnecting = true
    if (!delivered && ++failures >= policy.maxFailures) throw gaveUp(docId, url, failures, lastFailure)
  }
}

function gaveUp (docId: DocID, url: string, failures: number, cause: unknown): KilnError {
  return new KilnError(`The watch of ${docId.toString()} at ${url} was cut off and could not be resumed (${failures} attempts in a row failed)`, {
    cause, details: { url, docId: docId.toString(), failures }
  })
}
