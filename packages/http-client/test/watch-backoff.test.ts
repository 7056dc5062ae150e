import { WATCH_RECONNECT_DEFAULTS, httpClient, reconnectDelay } from '@kiln/http-client'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { sampleDocument, type SampleDocument } from './fixtures/documents.js'

let doc: SampleDocument
beforeAll(async () => { doc = await sampleDocument() })

// Fake timers and a fake fetch: no socket, so every wait the client makes is a timer, and Date.now() is the fake clock.
beforeEach(() => { vi.useFakeTimers() })
afterEach(() => { vi.useRealTimers(); vi.restoreAllMocks() })

function stateEvent (i: 0 | 1): string {
  return `event: state\ndata: ${JSON.stringify({ streamId: doc.id.toString(), state: doc.json[i] })}\n\n`
}

/** An event stream that sends `text` and ends (the connection dropping). */
function streamAnswer (text: string): Response {
  const bytes = new TextEncoder().encode(text)
  const body = new ReadableStream<Uint8Array>({ start (controller) { controller.enqueue(bytes); controller.close() } })
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } })
}

/** What a node at its stream limit answers. */
function busyAnswer (): Response {
  return new Response(JSON.stringify({ error: 'Too many open streams', name: 'ServiceUnavailableError' }), { status: 503, headers: { 'content-type': 'application/json' } })
}

/** A fetch that answers the n-th request (from 1) with `answer(n)` and records when each came. */
function scriptedFetch (answer: (n: number) => Response): { fetch: typeof fetch, times: number[] } {
  const times: number[] = []
  const fn = async (): Promise<Response> => {
    times.push(Date.now())
    return answer(times.length)
  }
  return { fetch: fn as typeof fetch, times }
}

function gaps (times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!)
}

describe('watch reconnecting with backoff', () => {
  it('waits 100, 200, 400 … ms (within the jitter) between failed attempts, from 100 ms again after a stream delivers, and stops on abort', async () => {
    const controller = new AbortController()
    const { fetch, times } = scriptedFetch((n) => {
      if (n === 1) return streamAnswer(stateEvent(0))
      if (n === 6) return streamAnswer(stateEvent(0) + stateEvent(1))
      // The abort lands during the wait that follows the 7th attempt.
      if (n === 7) setTimeout(() => { controller.abort() }, 10)
      return busyAnswer()
    })
    const seen: unknown[] = []
    const ended = (async () => {
      for await (const { state } of httpClient({ url: 'http://127.0.0.1:7007', fetch }).watch(doc.id, { signal: controller.signal })) seen.push(state.content)
      return Date.now()
    })()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(seen).toEqual([{ n: 1 }, { n: 2 }])
    expect(times).toHaveLength(7)
    // The abort cut the wait short: the loop ended when the signal fired, not when the wait would have.
    expect(await ended).toBe(times[6]! + 10)
    // 1 → 2: the first stream dropped; 2 → 6: four 503s in a row; 6 → 7: the sixth stream delivered, back to 100 ms.
    const bounds = [[50, 100], [100, 200], [200, 400], [400, 800], [800, 1600], [50, 100]]
    gaps(times).forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(bounds[i]![0]!)
      expect(gap).toBeLessThanOrEqual(bounds[i]![1]!)
    })
    expect(vi.getTimerCount()).toBe(0)
  })

  it('doubles exactly to the cap at the top of the jitter, and halves at the bottom', async () => {
    for (const [random, expected] of [[1, [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]], [0, [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000]]] as const) {
      vi.spyOn(Math, 'random').mockReturnValue(random)
      const { fetch, times } = scriptedFetch((n) => n === 1 ? streamAnswer(stateEvent(0)) : busyAnswer())
      const client = httpClient({ url: 'http://127.0.0.1:7007', fetch, watchReconnect: { maxFailures: 9 } })
      const outcome = (async () => { for await (const _ of client.watch(doc.id)) { /* the first state */ } })().catch((e: unknown) => e)
      await vi.advanceTimersByTimeAsync(120_000)
      expect(await outcome).toMatchObject({ name: 'KilnError', details: { failures: 9 } })
      expect(gaps(times)).toEqual(expected)
      vi.restoreAllMocks()
    }
  })

  it('computes each wait from the attempt number, capped at maxDelayMs', () => {
    expect(reconnectDelay(1, WATCH_RECONNECT_DEFAULTS, () => 1)).toBe(100)
    expect(reconnectDelay(3, WATCH_RECONNECT_DEFAULTS, () => 0.5)).toBe(300)
    expect(reconnectDelay(40, WATCH_RECONNECT_DEFAULTS, () => 1)).toBe(10_000)
    expect(reconnectDelay(40, WATCH_RECONNECT_DEFAULTS, () => 0)).toBe(5000)
  })

  it('waits no less than the Retry-After of a node that refused a reopening for its rate', async () => {
    const controller = new AbortController()
    const { fetch, times } = scriptedFetch((n) => {
      if (n === 1) return streamAnswer(stateEvent(0))
      if (n === 2) {
        return new Response(JSON.stringify({ error: 'Too many event stream openings', name: 'RateLimitedError', details: { limit: 'eventStreams', retryAfter: 3 } }), {
          status: 429, headers: { 'content-type': 'application/json', 'retry-after': '3' }
        })
      }
      setTimeout(() => { controller.abort() }, 10)
      return streamAnswer(stateEvent(0) + stateEvent(1))
    })
    const seen: unknown[] = []
    const ended = (async () => {
      for await (const { state } of httpClient({ url: 'http://127.0.0.1:7007', fetch }).watch(doc.id, { signal: controller.signal })) seen.push(state.content)
    })()
    await vi.advanceTimersByTimeAsync(60_000)
    await ended
    expect(seen).toEqual([{ n: 1 }, { n: 2 }])
    // 1 → 2: a dropped stream, 50 to 100 ms; 2 → 3: the 429's three seconds, longer than the backoff's 100 to 200 ms.
    expect(gaps(times)[1]).toBe(3000)
  })

  it('throws the first connection\'s failure at once, without waiting to retry', async () => {
    const { fetch, times } = scriptedFetch(() => busyAnswer())
    const outcome = (async () => { for await (const _ of httpClient({ url: 'http://127.0.0.1:7007', fetch }).watch(doc.id)) { /* none */ } })().catch((e: unknown) => e)
    expect(await outcome).toMatchObject({ name: 'ServiceUnavailableError' })
    expect(times).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })
})
