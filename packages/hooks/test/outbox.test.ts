import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { retryDelay, verifyWebhook, webhooks, type Webhooks, type WebhooksInit } from '@kiln/hooks'
import { AnchorStatus, type DocHead, type DocState, type HookComponents, type HookEvent, type StorageQuery } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

// The outbox with an injected `fetch` and fake node components: retries, dead letters and restarts, on a real
// LevelDB directory.

const DOC = 'kjzl6cwe1jw145cjbvnfnnu4f2yxjv6d7c1vwd7n7hnjv0f6cke8ka8s0xm5amz'
const GENESIS = CID.parse('bagcqceraplay4erv6l32qrki522uhiz7rf46xccwniw7ypmvs3cvu2b3oulq')

/** A write of document `docId` at tip `tip` (any CID string), with content and metadata. */
function event (docId: string, tip: string, metadata: Record<string, unknown> = { controllers: ['did:key:z6Mk'] }, anchorStatus: AnchorStatus = AnchorStatus.PENDING): HookEvent {
  const head = { type: 0, content: { tip }, metadata, signature: 2, anchorStatus, genesis: GENESIS, tip: GENESIS, logLength: 1 } as unknown as DocHead
  const state = { type: 0, content: { tip }, metadata, signature: 2, anchorStatus, log: [] } as unknown as DocState
  return { docId, tip, commitId: `${docId}@${tip}`, head, state, json: () => ({ content: { tip }, metadata, anchorStatus }) }
}

/** Fake node components: a storage whose `query` lists `updated` documents, and their current events. */
function components (current: Map<string, HookEvent> = new Map()): HookComponents & { queries: StorageQuery[] } {
  const queries: StorageQuery[] = []
  return {
    queries,
    storage: {
      getHead: async () => undefined,
      listDocuments: async function * () {},
      query: async (query) => { queries.push(query); return { ids: [...current.keys()], hasNextPage: false } }
    },
    current: async (docId) => current.get(docId)
  }
}

interface Call { url: string, body: string, headers: Record<string, string>, at: number }

/** A fetch answering with the statuses given in turn (the last one forever), recording each call. */
function fakeFetch (statuses: number[]): { fetch: typeof globalThis.fetch, calls: Call[] } {
  const calls: Call[] = []
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, body: init.body as string, headers: init.headers as Record<string, string>, at: Date.now() })
    const status = statuses[Math.min(calls.length - 1, statuses.length - 1)]!
    return new Response(null, { status })
  }) as unknown as typeof globalThis.fetch
  return { fetch, calls }
}

let dir: string
const running: Webhooks[] = []

beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'kiln-hooks-')) })
afterEach(async () => {
  vi.useRealTimers()
  for (const hook of running.splice(0)) await hook.stop?.()
  await rm(dir, { recursive: true, force: true })
})

async function start (init: Partial<WebhooksInit>, c: HookComponents = components()): Promise<Webhooks> {
  const hook = webhooks({ path: join(dir, 'outbox'), random: () => 0, ...init })(c)
  await hook.start?.()
  running.push(hook)
  return hook
}

describe('the backoff schedule', () => {
  it('doubles from baseMs up to maxMs, with at most 20% jitter', () => {
    const backoff = { baseMs: 500, maxMs: 60_000 }
    expect([1, 2, 3, 4].map((n) => retryDelay(n, backoff, () => 0))).toEqual([500, 1000, 2000, 4000])
    expect(retryDelay(2, backoff, () => 0.999)).toBe(1200)
    expect(retryDelay(30, backoff, () => 0.5)).toBe(60_000)
  })
})

describe('webhooks()', () => {
  it('refuses options it cannot use with WebhooksOptionError', () => {
    expect(() => webhooks({ path: '' })).toThrow(expect.objectContaining({ name: 'WebhooksOptionError' }))
    expect(() => webhooks({ path: dir, maxAttempts: 0 })).toThrow(expect.objectContaining({ name: 'WebhooksOptionError' }))
    expect(() => webhooks({ path: dir, backoff: { baseMs: 1.5 } })).toThrow(expect.objectContaining({ name: 'WebhooksOptionError' }))
  })

  it('delivers each write as a signed JSON POST that verifies with the secret add returned', async () => {
    const { fetch, calls } = fakeFetch([200])
    const hooks = await start({ fetch })
    const created = await hooks.admin.add({ url: 'http://127.0.0.1:9/hook' })
    expect(created.secret).toMatch(/^[0-9a-f]{64}$/)
    hooks.written(event(DOC, 'tip-1'))
    await hooks.settled()
    expect((await hooks.admin.list())[0]!.delivered).toBe(1)
    const [call] = calls
    expect(call!.url).toBe('http://127.0.0.1:9/hook')
    expect(call!.headers['content-type']).toBe('application/json')
    expect(verifyWebhook(created.secret, { timestamp: call!.headers['x-kiln-timestamp'], signature: call!.headers['x-kiln-signature'] }, call!.body)).toBe(true)
    expect(verifyWebhook('0'.repeat(64), { timestamp: call!.headers['x-kiln-timestamp'], signature: call!.headers['x-kiln-signature'] }, call!.body)).toBe(false)
    const body = JSON.parse(call!.body) as Record<string, unknown>
    expect(body).toMatchObject({ docId: DOC, tip: 'tip-1', commitId: `${DOC}@tip-1`, attempt: 1, deliveryId: call!.headers['x-kiln-delivery'] })
    expect(body.state).toMatchObject({ content: { tip: 'tip-1' } })
    // The secret is never listed again.
    expect(JSON.stringify(await hooks.admin.list())).not.toContain(created.secret)
  })

  it('retries on the backoff schedule and dead-letters after maxAttempts, with the last error listed', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const { fetch, calls } = fakeFetch([500])
    const hooks = await start({ fetch, maxAttempts: 4, backoff: { baseMs: 100, maxMs: 250 } })
    const { id } = await hooks.admin.add({ url: 'http://127.0.0.1:9/hook' })
    const t0 = Date.now()
    hooks.written(event(DOC, 'tip-1'))
    await hooks.settled()
    expect(calls.length).toBe(1)
    // Retry 1 after 100 ms, retry 2 after 200 more, retry 3 after 250 (the cap), then the dead letter.
    for (const wait of [100, 200, 250]) {
      const before = calls.length
      await vi.advanceTimersByTimeAsync(wait - 1)
      expect(calls.length).toBe(before)
      await vi.advanceTimersByTimeAsync(1)
      await hooks.settled()
      expect(calls.length).toBe(before + 1)
    }
    expect(calls.map((c) => c.at - t0)).toEqual([0, 100, 300, 550])
    expect(calls.map((c) => (JSON.parse(c.body) as { attempt: number }).attempt)).toEqual([1, 2, 3, 4])
    await hooks.settled()
    const [status] = await hooks.admin.list()
    expect(status).toMatchObject({ id, pending: 0, delivered: 0, deadLetter: 1 })
    expect(status!.lastError).toContain('HTTP 500')
    await vi.advanceTimersByTimeAsync(120_000)
    expect(calls.length).toBe(4)
  })

  it('keeps pending deliveries across a restart and delivers them then', async () => {
    const failing = fakeFetch([503])
    const first = await start({ fetch: failing.fetch, backoff: { baseMs: 60_000 } })
    const { id } = await first.admin.add({ url: 'http://127.0.0.1:9/hook' })
    first.written(event(DOC, 'tip-1'))
    first.written(event(DOC, 'tip-2'))
    await first.settled()
    expect(failing.calls.length).toBe(2)
    expect((await first.admin.list())[0]!.pending).toBe(2)
    await first.stop?.()
    running.splice(0)

    const working = fakeFetch([204])
    const second = await start({ fetch: working.fetch })
    // A failed attempt waits for its backoff even across a restart: the retry is due in a minute.
    expect((await second.admin.list())[0]).toMatchObject({ id, pending: 2, delivered: 0 })
    await second.stop?.()
    running.splice(0)
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    vi.setSystemTime(Date.now() + 61_000)
    const third = await start({ fetch: working.fetch })
    await third.settled()
    expect((await third.admin.list())[0]!.delivered).toBe(2)
    expect(working.calls.map((c) => (JSON.parse(c.body) as { tip: string }).tip).sort()).toEqual(['tip-1', 'tip-2'])
    expect((await third.admin.list())[0]).toMatchObject({ pending: 0, deadLetter: 0 })
  })

  it('recovers at start the writes made after the last checkpoint that never reached the outbox', async () => {
    const { fetch, calls } = fakeFetch([200])
    const first = await start({ fetch })
    await first.admin.add({ url: 'http://127.0.0.1:9/hook' })
    first.written(event(DOC, 'tip-1'))
    await first.settled()
    expect((await first.admin.list())[0]!.delivered).toBe(1)
    await first.stop?.()
    running.splice(0)
    // While the outbox was closed (a crash between the node's write and the append), the document moved on.
    const c = components(new Map([[DOC, event(DOC, 'tip-2')]]))
    const second = await start({ fetch }, c)
    await second.settled()
    expect((await second.admin.list())[0]!.delivered).toBe(2)
    expect(JSON.parse(calls[1]!.body)).toMatchObject({ docId: DOC, tip: 'tip-2' })
    expect(c.queries[0]).toMatchObject({ filter: { updated: {} }, sort: { by: 'updated', order: 'asc' } })
    // A document whose tip the outbox already has is not sent again.
    await second.stop?.()
    running.splice(0)
    const third = await start({ fetch }, c)
    await third.settled()
    expect(c.queries.length).toBe(2)
    expect((await third.admin.list())[0]).toMatchObject({ pending: 0, delivered: 2 })
    expect(calls.length).toBe(2)
  })

  it('appends the writes it was told of before it stops', async () => {
    const { fetch } = fakeFetch([500])
    const first = await start({ fetch, backoff: { baseMs: 60_000 } })
    await first.admin.add({ url: 'http://127.0.0.1:9/hook' })
    first.written(event(DOC, 'tip-1'))
    await first.stop?.()
    running.splice(0)
    // The recovery scan finds nothing here: only the outbox can hold the write.
    const second = await start({ fetch: fakeFetch([500]).fetch, backoff: { baseMs: 60_000 } })
    expect((await second.admin.list())[0]).toMatchObject({ pending: 1, delivered: 0 })
  })

  it('does not scan the node at start while no webhook is registered', async () => {
    const c = components(new Map([[DOC, event(DOC, 'tip-1')]]))
    const first = await start({ fetch: fakeFetch([200]).fetch }, c)
    await first.stop?.()
    running.splice(0)
    const second = await start({ fetch: fakeFetch([200]).fetch }, c)
    await second.settled()
    expect(c.queries).toEqual([])
  })

  it('past maxQueued writes waiting in memory, finds the ones it dropped in the node\'s storage', async () => {
    const other = 'kjzl6cwe1jw147ww5d8pswh1hjh686mut8v1br10dar8l9a3n1wf8z38l0bg8qa'
    const c = components(new Map([[DOC, event(DOC, 'tip-1')], [other, event(other, 'tip-9')]]))
    const { fetch, calls } = fakeFetch([200])
    const hooks = await start({ fetch, maxQueued: 1 }, c)
    await hooks.admin.add({ url: 'http://127.0.0.1:9/hook' })
    // Two writes in one turn: the second does not fit in memory and is dropped there.
    hooks.written(event(DOC, 'tip-1'))
    hooks.written(event(other, 'tip-9'))
    await hooks.settled()
    expect(c.queries.length).toBeGreaterThan(0)
    expect(calls.map((call) => (JSON.parse(call.body) as { tip: string }).tip).sort()).toEqual(['tip-1', 'tip-9'])
  })

  it('sends a webhook only the writes its filter matches', async () => {
    const { fetch, calls } = fakeFetch([200])
    const hooks = await start({ fetch })
    const family = await hooks.admin.add({ url: 'http://127.0.0.1:9/family', filter: { family: 'notes' } })
    const doc = await hooks.admin.add({ url: 'http://127.0.0.1:9/doc', filter: { doc: DOC } })
    hooks.written(event(DOC, 'a', { controllers: [], family: 'other' }))
    hooks.written(event('kjzl6cwe1jw147ww5d8pswh1hjh686mut8v1br10dar8l9a3n1wf8z38l0bg8qa', 'b', { controllers: [], family: 'notes' }))
    await hooks.settled()
    expect((await hooks.admin.list()).map((h) => h.delivered)).toEqual([1, 1])
    const byUrl = Object.fromEntries(calls.map((c) => [c.url, (JSON.parse(c.body) as { tip: string }).tip]))
    expect(byUrl).toEqual({ [family.url]: 'b', [doc.url]: 'a' })
  })

  it('keeps one delivery per (webhook, document, tip): a second state of one tip replaces the first', async () => {
    const { fetch } = fakeFetch([500])
    const hooks = await start({ fetch, backoff: { baseMs: 60_000 } })
    await hooks.admin.add({ url: 'http://127.0.0.1:9/hook' })
    hooks.written(event(DOC, 'tip-1', undefined, AnchorStatus.PENDING))
    hooks.written(event(DOC, 'tip-1', undefined, AnchorStatus.ANCHORED))
    hooks.written(event(DOC, 'tip-2'))
    await hooks.flushed()
    expect((await hooks.admin.list())[0]!.pending).toBe(2)
  })

  it('refuses a bad registration with InvalidRequestError and stores nothing', async () => {
    const hooks = await start({ fetch: fakeFetch([200]).fetch })
    for (const input of [{ url: 'ftp://127.0.0.1/x' }, { url: 'not a url' }, { url: 'http://h', filter: { family: 'a', doc: DOC } }, { url: 'http://h', filter: { doc: 'nope' } }, { url: 'http://h', filter: { owner: 'x' } }, null]) {
      await expect(hooks.admin.add(input as never)).rejects.toMatchObject({ name: 'InvalidRequestError' })
    }
    expect(await hooks.admin.list()).toEqual([])
  })

  it('removes a webhook with its pending deliveries; an unknown id is HookNotFoundError', async () => {
    const { fetch } = fakeFetch([500])
    const hooks = await start({ fetch, backoff: { baseMs: 60_000 } })
    const { id } = await hooks.admin.add({ url: 'http://127.0.0.1:9/hook' })
    hooks.written(event(DOC, 'tip-1'))
    await hooks.flushed()
    await hooks.admin.remove(id)
    expect(await hooks.admin.list()).toEqual([])
    await expect(hooks.admin.remove(id)).rejects.toMatchObject({ name: 'HookNotFoundError' })
  })

  it('cuts off a receiver that does not answer within timeoutMs, as a failed attempt', async () => {
    const hanging = (async (_url: string, init: RequestInit) => await new Promise((_resolve, reject) => {
      init.signal!.addEventListener('abort', () => { reject(init.signal!.reason as Error) })
    })) as unknown as typeof globalThis.fetch
    const hooks = await start({ fetch: hanging, timeoutMs: 50, backoff: { baseMs: 60_000 } })
    await hooks.admin.add({ url: 'http://127.0.0.1:9/hook' })
    hooks.written(event(DOC, 'tip-1'))
    await vi.waitFor(async () => { expect((await hooks.admin.list())[0]!.lastError).toContain('no answer in time') })
  })
})
