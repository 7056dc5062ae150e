import { request } from 'node:http'
import { commitToJSON } from '@kiln/codec'
import { makeGenesis } from '@kiln/doctype-tile'
import { httpApi, RATE_LIMIT_DEFAULTS, type HttpApiInit, type HttpApiNode } from '@kiln/http-server'
import { errorFromWire, RateLimitedError } from '@kiln/interface'
import { signCompactJWS } from '@kiln/signing'
import type { RouteOptions } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { admin, alice, createTile, startHarness, type Harness } from './fixtures/harness.js'
import { nodeRequest, type NodeAnswer, type NodeRequestInit } from './fixtures/node-http.js'
import { startServerProcess, type ServerProcess } from './fixtures/server-process.js'

// Linux routes all of 127.0.0.0/8 to loopback: each address is a client of its own to a server on 127.0.0.1.
const A = '127.0.0.2'
const B = '127.0.0.3'
const C = '127.0.0.4'

/** The body of a `POST /api/v0/streams` creating a tile with content `{ n }`. */
async function createBody (n: number): Promise<string> {
  const genesis = await makeGenesis({ n }, {}, alice)
  return JSON.stringify({ type: 0, genesis: commitToJSON(genesis.commit), opts: { anchor: false } })
}

/** The status, and the name of a refusal. */
function outcome (answer: NodeAnswer): string {
  return answer.status < 400 ? String(answer.status) : `${answer.status} ${String(answer.json?.name)}`
}

describe('rate limits per client', () => {
  let h: Harness | undefined
  let clock = 0
  const now = (): number => clock
  afterEach(async () => { await h?.close(); h = undefined; clock = 0 })

  async function start (init: HttpApiInit): Promise<Harness> {
    h = await startHarness(init, {}, { now })
    return h
  }

  /** Sends a request from the client address `from`. */
  async function send (from: string, path: string, init: NodeRequestInit = {}): Promise<NodeAnswer> {
    return await nodeRequest(`${h!.url}${path}`, { ...init, localAddress: from })
  }

  it('refuses a client over its write rate with 429 RateLimitedError and Retry-After, and serves the other clients', async () => {
    await start({ rateLimit: { loopback: true, write: { perSecond: 0.5, burst: 2 } } })
    const created = await send(A, '/api/v0/streams', { body: await createBody(1) })
    expect(outcome(created)).toBe('200')
    expect(outcome(await send(A, '/api/v0/streams', { body: await createBody(2) }))).toBe('200')
    const refused = await send(A, '/api/v0/streams', { body: await createBody(3) })
    expect({ status: refused.status, retryAfter: refused.headers['retry-after'], json: refused.json }).toEqual({
      status: 429,
      retryAfter: '2',
      json: {
        error: 'Too many writes from this client: the limit is 0.5 a second (bursts of 2); try again in 2 s',
        name: 'RateLimitedError',
        details: { limit: 'write', retryAfter: 2 }
      }
    })
    expect(errorFromWire(refused.json)).toBeInstanceOf(RateLimitedError)
    // Another client, and the same client's reads, have buckets of their own.
    expect(outcome(await send(B, '/api/v0/streams', { body: await createBody(3) }))).toBe('200')
    expect(outcome(await send(A, `/api/v0/streams/${created.json.streamId as string}`))).toBe('200')
  })

  it('serves the client again once Retry-After has passed on the server\'s clock', async () => {
    await start({ rateLimit: { loopback: true, write: { perSecond: 0.5, burst: 1 } } })
    expect(outcome(await send(A, '/api/v0/streams', { body: await createBody(1) }))).toBe('200')
    expect((await send(A, '/api/v0/streams', { body: await createBody(2) })).headers['retry-after']).toBe('2')
    clock += 1500
    const early = await send(A, '/api/v0/streams', { body: await createBody(2) })
    expect({ status: early.status, retryAfter: early.headers['retry-after'] }).toEqual({ status: 429, retryAfter: '1' })
    clock += 500
    expect(outcome(await send(A, '/api/v0/streams', { body: await createBody(2) }))).toBe('200')
    expect(outcome(await send(A, '/api/v0/streams', { body: await createBody(3) }))).toBe('429 RateLimitedError')
  })

  it('exempts loopback clients unless rateLimit.loopback is set, and limits nothing with rateLimit: false', async () => {
    for (const init of [{ rateLimit: { write: { perSecond: 0.5, burst: 1 } } }, { rateLimit: false as const }]) {
      await start(init)
      const outcomes: string[] = []
      for (let n = 0; n < 3; n++) outcomes.push(outcome(await send(A, '/api/v0/streams', { body: await createBody(n) })))
      expect(outcomes).toEqual(['200', '200', '200'])
      await h!.close()
      h = undefined
    }
  })

  it('counts every getCode and every refused admin authorization, answering 429 past them, but never an authorized request', async () => {
    const { streamId } = await createTile((await start({ adminDids: [admin.did], rateLimit: { loopback: true, adminAuth: { perSecond: 1, burst: 2 } } })).url, { a: 1 })
    const pinPath = `/api/v0/admin/pins/${streamId}`
    const code = await send(A, '/api/v0/admin/getCode')
    expect(outcome(code)).toBe('200')
    expect(outcome(await send(A, pinPath, { method: 'POST' }))).toBe('401 AdminAuthError')
    expect(outcome(await send(A, '/api/v0/admin/getCode'))).toBe('429 RateLimitedError')
    // Out of admin attempts, the client is still served when its authorization holds.
    const jws = await signCompactJWS(admin, { code: code.json.code, requestPath: pinPath })
    expect(outcome(await send(A, pinPath, { method: 'POST', headers: { authorization: `Basic ${jws}` } }))).toBe('200')
    const refused = await send(A, pinPath, { method: 'DELETE', headers: { authorization: 'Basic not-a-jws' } })
    expect({ status: refused.status, retryAfter: refused.headers['retry-after'], details: refused.json.details }).toEqual({
      status: 429, retryAfter: '1', details: { limit: 'adminAuth', retryAfter: 1 }
    })
    expect(await h!.node.isPinned(streamId)).toBe(true)
    expect(outcome(await send(B, pinPath, { method: 'DELETE' }))).toBe('401 AdminAuthError')
    clock += 1000
    expect(outcome(await send(A, '/api/v0/admin/getCode'))).toBe('200')
  })

  it('limits how often a client opens event streams', async () => {
    const { streamId } = await createTile((await start({ rateLimit: { loopback: true, eventStreams: { perSecond: 1, burst: 1 } } })).url, { a: 1 })
    /** Opens a watch from `from`; gives the status, and the JSON body of a refusal. */
    const open = async (from: string): Promise<{ status: number, name?: string }> => await new Promise((resolve, reject) => {
      const req = request(`${h!.url}/api/v0/kiln/streams/${streamId}/watch`, { localAddress: from, agent: false }, (res) => {
        if (res.statusCode === 200) {
          resolve({ status: 200 })
          req.destroy()
          return
        }
        let text = ''
        res.on('data', (chunk: Buffer) => { text += chunk.toString('utf8') })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, name: (JSON.parse(text) as { name: string }).name }) })
      })
      req.on('error', reject)
      req.end()
    })
    expect(await open(A)).toEqual({ status: 200 })
    expect(await open(A)).toEqual({ status: 429, name: 'RateLimitedError' })
    expect(await open(B)).toEqual({ status: 200 })
  })

  it('keys an IPv6 client by its /64, and believes X-Forwarded-For only from a trusted proxy', async () => {
    await start({ trustProxy: '127.0.0.1', rateLimit: { write: { perSecond: 1, burst: 1 } } })
    const write = async (from: string, forwarded: string): Promise<string> =>
      outcome(await send(from, '/api/v0/streams', { body: '{}', headers: { 'x-forwarded-for': forwarded } }))
    expect(await write('127.0.0.1', '2001:db8::1')).toBe('400 InvalidRequestError')
    expect(await write('127.0.0.1', '2001:db8::2')).toBe('429 RateLimitedError')
    expect(await write('127.0.0.1', '2001:db8:0:1::1')).toBe('400 InvalidRequestError')
    expect(await write('127.0.0.1', '198.51.100.7, 2001:db8:0:2::1')).toBe('400 InvalidRequestError')
    expect(await write('127.0.0.1', '2001:db8:0:2::9')).toBe('429 RateLimitedError')
    // 127.0.0.2 is no trusted proxy: its X-Forwarded-For is ignored, and it is a loopback client, exempt.
    expect([await write(A, '2001:db8::3'), await write(A, '2001:db8::3')]).toEqual(['400 InvalidRequestError', '400 InvalidRequestError'])
  })

  it('forgets the least recently seen client past maxClients, which then starts with a full bucket', async () => {
    await start({ rateLimit: { loopback: true, maxClients: 2, write: { perSecond: 1, burst: 1 } } })
    const write = async (from: string): Promise<string> => outcome(await send(from, '/api/v0/streams', { body: '{}' }))
    expect([await write(A), await write(A)]).toEqual(['400 InvalidRequestError', '429 RateLimitedError'])
    expect([await write(B), await write(A)]).toEqual(['400 InvalidRequestError', '429 RateLimitedError'])
    // A was seen after B: C pushes B out. A is still remembered; B comes back with a full bucket.
    expect([await write(C), await write(A), await write(B)]).toEqual(['400 InvalidRequestError', '429 RateLimitedError', '400 InvalidRequestError'])
  })

  it('names the kind of request of every route, and limits none of the node routes', async () => {
    const node = { chains: [], doctypes: { has: () => false } } as unknown as HttpApiNode
    const api = httpApi({ port: 0 })({ node })
    const routes: Record<string, string | undefined> = {}
    api.server.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      for (const method of methods) if (method !== 'HEAD') routes[`${method} ${route.url}`] = route.config?.rateLimit
    })
    await api.server.ready()
    await api.stop()
    expect(routes).toEqual({
      'POST /api/v0/streams': 'write',
      'GET /api/v0/streams/:id': 'read',
      'POST /api/v0/streams/:id/anchor': 'write',
      'POST /api/v0/commits': 'write',
      'GET /api/v0/commits/:id': 'read',
      'POST /api/v0/multiqueries': 'read',
      'GET /api/v0/node/chains': 'none',
      'GET /api/v0/node/healthcheck': 'none',
      'GET /api/v0/kiln/node': 'read',
      'GET /api/v0/admin/getCode': 'adminAuth',
      'GET /api/v0/admin/pins': 'read',
      'GET /api/v0/admin/pins/:id': 'read',
      'POST /api/v0/admin/pins/:id': 'write',
      'DELETE /api/v0/admin/pins/:id': 'write',
      'POST /api/v0/kiln/admin/hooks': 'write',
      'GET /api/v0/kiln/admin/hooks': 'read',
      'DELETE /api/v0/kiln/admin/hooks/:id': 'write',
      'GET /api/v0/kiln/streams/:id/export': 'read',
      'POST /api/v0/kiln/import': 'write',
      'GET /api/v0/kiln/streams/:id/watch': 'eventStreams',
      'GET /api/v0/kiln/streams/:id/log': 'read',
      'POST /api/v0/kiln/query': 'read',
      'GET /api/v0/kiln/streams/:id/backlinks': 'read',
      'GET /api/v0/kiln/blocks/:cid': 'read',
      'GET /': 'read',
      'GET /explorer/:file': 'read'
    })
  })

  it('refuses unusable options with InvalidHttpApiOptionError', () => {
    const node = { chains: [], doctypes: { has: () => false } } as unknown as HttpApiNode
    for (const rateLimit of [{ write: { perSecond: 0, burst: 1 } }, { read: { perSecond: 1, burst: 0.5 } }, { eventStreams: { perSecond: Infinity, burst: 1 } }, { maxClients: 0 }]) {
      expect(() => httpApi({ rateLimit })({ node }), JSON.stringify(rateLimit)).toThrow(expect.objectContaining({ name: 'InvalidHttpApiOptionError' }) as Error)
    }
    expect(() => httpApi({ trustProxy: -1 })({ node })).toThrow(expect.objectContaining({ name: 'InvalidHttpApiOptionError' }) as Error)
  })

  it('has defaults that a daemon\'s remote clients live with, and loopback exempt', () => {
    expect(RATE_LIMIT_DEFAULTS).toEqual({
      write: { perSecond: 20, burst: 100 },
      read: { perSecond: 100, burst: 500 },
      adminAuth: { perSecond: 1, burst: 20 },
      eventStreams: { perSecond: 2, burst: 20 },
      loopback: false,
      maxClients: 10_000
    })
  })
})

describe('a rate-limited upload, sent to a server in a process of its own', () => {
  let server: ServerProcess | undefined
  afterEach(async () => { await server?.close(); server = undefined })

  it('gets a readable 429 with Retry-After, though its 16 MiB body was never read', async () => {
    server = await startServerProcess({ rateLimit: { loopback: true, write: { perSecond: 0.001, burst: 1 } } })
    const url = `${server.url}/api/v0/streams`
    expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(400)
    const big = Buffer.alloc(16 * 1024 * 1024, 0x20)
    for (let round = 0; round < 3; round++) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big })
      // The server runs on the real clock there: a token every 1 000 s, so the wait is a little under that.
      const retryAfter = Number(res.headers.get('retry-after'))
      expect({ round, status: res.status, name: ((await res.json()) as { name: string }).name, retryAfterInRange: retryAfter > 900 && retryAfter <= 1000 })
        .toEqual({ round, status: 429, name: 'RateLimitedError', retryAfterInRange: true })
    }
  })
})
