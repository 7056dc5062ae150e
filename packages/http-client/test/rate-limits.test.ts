import { httpClient } from '@kiln/http-client'
import { RateLimitedError } from '@kiln/interface'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

// Fake timers and a fake fetch: every wait the client makes is a timer, and Date.now() is the fake clock.
beforeEach(() => { vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') }) })
afterEach(() => { vi.useRealTimers() })

const URL = 'http://127.0.0.1:7007'

function json (status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
}

/** What a Kiln node answers a client over its rate. */
function limited (retryAfter: number): Response {
  return json(429, { error: `Too many reads from this client; try again in ${retryAfter} s`, name: 'RateLimitedError', details: { limit: 'read', retryAfter } }, { 'retry-after': String(retryAfter) })
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

describe('a 429 seen by the HTTP client', () => {
  it('is a RateLimitedError whose details.retryAfter is the node\'s', async () => {
    const { fetch } = scriptedFetch(() => limited(7))
    const err = await httpClient({ url: URL, fetch }).chains().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RateLimitedError)
    expect(err).toMatchObject({ name: 'RateLimitedError', message: 'Too many reads from this client; try again in 7 s', details: { limit: 'read', retryAfter: 7 } })
  })

  it('takes the Retry-After header when the body does not say (a proxy\'s 429), in seconds or as a date', async () => {
    const inTen = new Date(Date.now() + 10_000).toUTCString()
    const answers = [
      json(429, { error: 'slow down', name: 'RateLimitedError' }, { 'retry-after': '5' }),
      new Response('slow down', { status: 429, headers: { 'retry-after': '4' } }),
      new Response('slow down', { status: 429, headers: { 'retry-after': inTen } }),
      json(429, { error: 'Ceramic says slow down' }, { 'retry-after': '2' }),
      new Response('no header', { status: 429 })
    ]
    const { fetch } = scriptedFetch((n) => answers[n - 1]!)
    const client = httpClient({ url: URL, fetch })
    const errors: unknown[] = []
    for (let i = 0; i < answers.length; i++) errors.push(await client.chains().catch((e: unknown) => e))
    for (const err of errors) expect(err).toBeInstanceOf(RateLimitedError)
    expect(errors.map((err) => (err as RateLimitedError).details.retryAfter)).toEqual([5, 4, 10, 2, undefined])
    expect((errors[1] as RateLimitedError).details).toEqual({ url: `${URL}/api/v0/node/chains`, status: 429, body: 'slow down', retryAfter: 4 })
  })

  it('is thrown at once by default, and the request is not sent again', async () => {
    const { fetch, times } = scriptedFetch(() => limited(1))
    await expect(httpClient({ url: URL, fetch }).chains()).rejects.toMatchObject({ name: 'RateLimitedError' })
    expect(times).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('sends the request again once Retry-After has passed, as often as rateLimitRetry.retries allows', async () => {
    const { fetch, times } = scriptedFetch((n) => n === 1 ? limited(2) : n === 2 ? limited(1) : json(200, { supportedChains: ['inmemory:12345'] }))
    const chains = httpClient({ url: URL, fetch, rateLimitRetry: { retries: 2 } }).chains()
    await vi.advanceTimersByTimeAsync(1999)
    expect(times).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1001)
    expect(await chains).toEqual(['inmemory:12345'])
    expect(times.map((t) => t - times[0]!)).toEqual([0, 2000, 3000])

    const always = scriptedFetch(() => limited(1))
    const refused = httpClient({ url: URL, fetch: always.fetch, rateLimitRetry: { retries: 2 } }).chains().catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(await refused).toMatchObject({ name: 'RateLimitedError' })
    expect(always.times).toHaveLength(3)
  })

  it('throws at once a Retry-After longer than rateLimitRetry.maxWaitMs', async () => {
    const { fetch, times } = scriptedFetch(() => limited(120))
    await expect(httpClient({ url: URL, fetch, rateLimitRetry: { retries: 5 } }).chains()).rejects.toMatchObject({ name: 'RateLimitedError', details: { retryAfter: 120 } })
    expect(times).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('stops waiting to send again when the caller aborts', async () => {
    const { fetch, times } = scriptedFetch(() => limited(10))
    const controller = new AbortController()
    const outcome = httpClient({ url: URL, fetch, rateLimitRetry: { retries: 1 } }).chains({ signal: controller.signal }).catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(5000)
    controller.abort()
    expect(await outcome).toMatchObject({ name: 'AbortError' })
    expect(times).toHaveLength(1)
  })

  it('refuses a rateLimitRetry it cannot follow', () => {
    for (const rateLimitRetry of [{ retries: -1 }, { retries: 1.5 }, { maxWaitMs: Number.NaN }]) {
      expect(() => httpClient({ url: URL, rateLimitRetry })).toThrow(expect.objectContaining({ name: 'KilnError', message: expect.stringContaining('rateLimitRetry') as string }) as Error)
    }
  })
})
