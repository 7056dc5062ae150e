import {
  AbortError, CodecError, KilnError, RateLimitedError, RequestTooLargeError, TimeoutError, errorFromWire, isKilnError
} from '@kiln/interface'
import { abortableSleep } from './abortable-sleep.js'

/** Whether, and how, a request answered 429 is sent again: off unless `retries` is above 0. */
export interface RateLimitRetry {
  /** How many times a request is sent again after a 429 (default 0: the `RateLimitedError` is thrown at once). */
  retries?: number
  /** The longest `Retry-After` waited for, in ms (default 60 000); a longer one is thrown at once. */
  maxWaitMs?: number
}

/** The policy with its defaults; a `KilnError` for values it cannot follow. */
export function rateLimitRetryPolicy (policy: RateLimitRetry = {}): Required<RateLimitRetry> {
  const full = { retries: 0, maxWaitMs: 60_000, ...policy }
  if (!Number.isInteger(full.retries) || full.retries < 0 || !(full.maxWaitMs >= 0)) {
    throw new KilnError(`httpClient: rateLimitRetry needs a whole number of retries >= 0 and maxWaitMs >= 0, got ${JSON.stringify(policy)}`, {
      details: { rateLimitRetry: { ...policy } }
    })
  }
  return full
}

/** The wait a `RateLimitedError` asks for, in ms (its `details.retryAfter` seconds); undefined for any other error. */
export function retryAfterMs (err: unknown): number | undefined {
  if (!isKilnError(err, 'RateLimitedError')) return undefined
  const seconds = err.details.retryAfter
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined
}

/** What every request of a client shares: the node's base URL, the `fetch` to use, the timeout, extra headers. */
export interface TransportInit {
  /** The node's base URL, without `/api/v0` (`http://127.0.0.1:7007`). */
  url: string
  fetch: typeof fetch
  timeoutMs: number
  headers: Record<string, string>
  rateLimitRetry?: Required<RateLimitRetry>
}

/** Options of one request. */
export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE'
  /** A JSON body; sent with `content-type: application/json`. */
  body?: unknown
  /** A CAR body (document exports); sent with `content-type: application/vnd.ipld.car`. */
  car?: Uint8Array
  headers?: Record<string, string>
  signal?: AbortSignal
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number
}

/** An open response body (Server-Sent Events) and the way to close its connection. */
export interface OpenStream {
  body: AsyncIterable<Uint8Array>
  close(): void
}

/** Sends requests to one node and turns every failure into a named `KilnError`. */
export class Transport {
  readonly url: string
  private readonly fetch: typeof fetch
  private readonly timeoutMs: number
  private readonly headers: Record<string, string>
  private readonly rateLimitRetry: Required<RateLimitRetry>

  constructor (init: TransportInit) {
    let parsed: URL
    try {
      parsed = new URL(init.url)
    } catch (cause) {
      throw new KilnError(`httpClient: ${JSON.stringify(init.url)} is not a URL`, { cause, details: { url: init.url } })
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new KilnError(`httpClient: ${init.url} is not an http(s) URL`, { details: { url: init.url } })
    }
    if (!Number.isFinite(init.timeoutMs) || init.timeoutMs <= 0) {
      throw new KilnError(`httpClient: timeoutMs must be a positive number of milliseconds, got ${String(init.timeoutMs)}`, {
        details: { timeoutMs: String(init.timeoutMs) }
      })
    }
    this.url = init.url.replace(/\/+$/, '')
    this.fetch = init.fetch
    this.timeoutMs = init.timeoutMs
    this.headers = init.headers
    this.rateLimitRetry = init.rateLimitRetry ?? rateLimitRetryPolicy()
  }

  /** Sends a request and parses the JSON answer; a non-2xx answer becomes the named error it carries. */
  async json (path: string, options: RequestOptions = {}): Promise<unknown> {
    return await this.send(path, options, async (response, call) => {
      const text = await response.text()
      if (!response.ok) throw errorFromResponse(response, text, call)
      try {
        return JSON.parse(text)
      } catch (cause) {
        throw new CodecError(`${call.method} ${call.url} answered ${response.status} with a body that is not JSON: ${clip(text, 200)}`, {
          cause, details: { url: call.url, status: response.status }
        })
      }
    })
  }

  /** Sends a request and gives the binary answer (a CAR file); a non-2xx answer becomes the named error it carries. */
  async bytes (path: string, options: RequestOptions = {}): Promise<Uint8Array> {
    return await this.send(path, { ...options, headers: { accept: 'application/vnd.ipld.car', ...options.headers } }, async (response, call) => {
      if (!response.ok) throw errorFromResponse(response, await response.text(), call)
      return new Uint8Array(await response.arrayBuffer())
    })
  }

  /** Sends a request and gives its status, without treating a non-2xx status as an error. */
  async status (path: string, options: RequestOptions = {}): Promise<number> {
    return await this.send(path, options, async (response) => {
      await response.arrayBuffer()
      return response.status
    })
  }

  /**
   * Opens a streaming response (Server-Sent Events). The timeout covers the wait for the response headers only; the
   * body then flows until `close()` or the caller's signal.
   */
  async stream (path: string, options: RequestOptions = {}): Promise<OpenStream> {
    const call = new Call(options.method ?? 'GET', this.url + path, options.timeoutMs ?? this.timeoutMs, options.signal)
    try {
      const response = await this.fetch(call.url, this.init(call, { ...options, headers: { accept: 'text/event-stream', ...options.headers } }))
      if (!response.ok) throw errorFromResponse(response, await response.text(), call)
      const body = response.body
      if (body === null) throw new CodecError(`${call.method} ${call.url} answered without a body`, { details: { url: call.url } })
      call.stopTimer()
      return { body: readable(body), close: () => { call.end() } }
    } catch (err) {
      call.end()
      throw call.failure(err)
    }
  }

  /** Sends a request; after a 429, again once its `Retry-After` has passed, as often as `rateLimitRetry` allows. */
  private async send<T>(path: string, options: RequestOptions, read: (response: Response, call: Call) => Promise<T>): Promise<T> {
    for (let retries = 0; ; retries++) {
      try {
        return await this.sendOnce(path, options, read)
      } catch (err) {
        const waitMs = retryAfterMs(err)
        if (waitMs === undefined || retries >= this.rateLimitRetry.retries || waitMs > this.rateLimitRetry.maxWaitMs) throw err
        await abortableSleep(waitMs, options.signal)
        if (options.signal?.aborted === true) {
          throw new AbortError(`${options.method ?? 'GET'} ${this.url + path} was aborted`, { cause: options.signal.reason, details: { url: this.url + path } })
        }
      }
    }
  }

  private async sendOnce<T>(path: string, options: RequestOptions, read: (response: Response, call: Call) => Promise<T>): Promise<T> {
    const call = new Call(options.method ?? 'GET', this.url + path, options.timeoutMs ?? this.timeoutMs, options.signal)
    try {
      const response = await this.fetch(call.url, this.init(call, options))
      return await read(response, call)
    } catch (err) {
      throw call.failure(err)
    } finally {
      call.end()
    }
  }

  private init (call: Call, options: RequestOptions): RequestInit {
    const headers: Record<string, string> = { accept: 'application/json', ...this.headers, ...options.headers }
    const init: RequestInit = { method: call.method, headers, signal: call.controller.signal }
    if (options.car !== undefined) {
      headers['content-type'] = 'application/vnd.ipld.car'
      init.body = options.car
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json'
      init.body = JSON.stringify(options.body)
    }
    return init
  }
}

/** One request in flight: its own abort controller, fed by the caller's signal and by the timeout. */
class Call {
  readonly controller = new AbortController()
  private timer?: ReturnType<typeof setTimeout>
  private timedOut = false
  private readonly onAbort = (): void => { this.controller.abort() }

  constructor (readonly method: string, readonly url: string, readonly timeoutMs: number, readonly signal?: AbortSignal) {
    if (signal?.aborted === true) {
      this.controller.abort()
      return
    }
    signal?.addEventListener('abort', this.onAbort, { once: true })
    this.timer = setTimeout(() => {
      this.timedOut = true
      this.controller.abort()
    }, timeoutMs)
  }

  stopTimer (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Releases the timer and the listener on the caller's signal, and closes the connection if it is still open. */
  end (): void {
    this.stopTimer()
    this.signal?.removeEventListener('abort', this.onAbort)
    this.controller.abort()
  }

  /** The named error for whatever went wrong: the caller gave up, the time ran out, the node answered an error, or it could not be reached. */
  failure (err: unknown): KilnError {
    if (this.signal?.aborted === true) {
      return new AbortError(`${this.method} ${this.url} was aborted`, { cause: this.signal.reason, details: { url: this.url } })
    }
    if (this.timedOut) {
      return new TimeoutError(`${this.method} ${this.url} got no answer within ${this.timeoutMs} ms`, {
        cause: err, details: { url: this.url, timeoutMs: this.timeoutMs }
      })
    }
    if (isKilnError(err)) return err
    const code = systemCode(err)
    return new KilnError(`Cannot reach the Kiln node at ${this.url}: ${code ?? messageOf(err)}`, {
      cause: err, details: code === undefined ? { url: this.url } : { url: this.url, code }
    })
  }
}

/**
 * The `Retry-After` of an answer in whole seconds from now: delay-seconds, or an HTTP date (a past one is 0); undefined
 * when there is none, or it cannot be read.
 */
function retryAfterSeconds (response: Response): number | undefined {
  const value = response.headers.get('retry-after')?.trim()
  if (value === undefined || value === '') return undefined
  if (/^\d+$/.test(value)) return Number(value)
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

/**
 * The error a non-2xx answer stands for: the named error of a `{error, name}` body, else one built from the status. A
 * 429 is always a `RateLimitedError`, whose `details.retryAfter` is the node's, or else the `Retry-After` header's.
 */
function errorFromResponse (response: Response, text: string, call: Call): KilnError {
  const err = errorOfAnswer(response.status, text, call)
  if (response.status !== 429) return err
  if (typeof err.details.retryAfter !== 'number') {
    const retryAfter = retryAfterSeconds(response)
    if (retryAfter !== undefined) err.details.retryAfter = retryAfter
  }
  return err.name === 'RateLimitedError' ? err : new RateLimitedError(err.message, { details: err.details })
}

function errorOfAnswer (status: number, text: string, call: Call): KilnError {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  // `{error, name}` is Kiln's error body; `{error}` alone is Ceramic's, which becomes a KilnError with its message.
  if (body !== null && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
    return errorFromWire(body as { error: string })
  }
  // Not an error body of a Kiln or Ceramic node: a proxy, a crash page, another server at that URL.
  const details = { url: call.url, status, body: clip(text, 512) }
  const message = `${call.method} ${call.url} failed with HTTP ${status}${text.length > 0 ? `: ${clip(text, 200)}` : ''}`
  if (status === 408 || status === 504) return new TimeoutError(message, { details })
  if (status === 413) return new RequestTooLargeError(message, { details })
  return new KilnError(message, { details })
}

/** The `ECONNREFUSED`-style code of a failed `fetch`, which Node puts on the error's `cause`. */
function systemCode (err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  return undefined
}

function messageOf (err: unknown): string {
  const cause = (err as { cause?: unknown } | null)?.cause
  if (cause instanceof Error) return cause.message
  return err instanceof Error ? err.message : String(err)
}

function clip (text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/** A response body as an async iterable of chunks, whatever `fetch` implementation produced it. */
function readable (body: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  return {
    async * [Symbol.asyncIterator] () {
      const reader = body.getReader()
      try {
        while (true) {
          const { done, value } = await reader.read()
          if (done) return
          yield value
        }
      } finally {
        reader.releaseLock()
      }
    }
  }
}
