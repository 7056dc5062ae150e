import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { httpApi, type HttpApi, type HttpApiInit, type HttpApiNode } from '@kiln/http-server'
import { InvalidCommitError } from '@kiln/interface'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { call, startHarness, type Harness } from './fixtures/harness.js'
import { nodeRequest, type NodeAnswer } from './fixtures/node-http.js'
import { startServerProcess, type ServerProcess } from './fixtures/server-process.js'

const MiB = 1024 * 1024
/** 16 MiB of JSON-looking bytes: sixteen times the default body limit. */
const BIG = Buffer.alloc(16 * MiB, 0x20)
BIG[0] = 0x7b

const TOO_LARGE = {
  error: `Request body is larger than the limit of ${MiB} bytes`,
  name: 'RequestTooLargeError',
  details: { limit: MiB }
}

/** Posts `body` with `fetch` (undici), which sends its whole body before it reads the answer. */
async function fetchPost (url: string, body: Buffer, chunked: boolean): Promise<{ status: number, json: unknown }> {
  const stream = new ReadableStream<Uint8Array>({
    start (controller) {
      for (let at = 0; at < body.length; at += MiB) controller.enqueue(body.subarray(at, at + MiB))
      controller.close()
    }
  })
  // A stream body has no length: undici sends it chunked, and needs `duplex: 'half'` for it.
  const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunked ? stream : body, duplex: 'half' }
  const res = await fetch(url, init as RequestInit)
  return { status: res.status, json: await res.json() }
}

/** Connects a raw socket to the server; `received()` resolves with every byte the server sent once it closed. */
async function rawSocket (url: string): Promise<{ socket: Socket, received: Promise<string> }> {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port) })
  await once(socket, 'connect')
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  // Writes the server refuses once it closed are expected here: only what it sent is looked at.
  socket.on('error', () => {})
  const received = new Promise<string>((resolve) => { socket.once('close', () => { resolve(Buffer.concat(chunks).toString('utf8')) }) })
  return { socket, received }
}

/** The status and JSON body of a raw HTTP/1.1 answer. */
function parseRaw (text: string): { status: number, headers: string, json: unknown } {
  const end = text.indexOf('\r\n\r\n')
  const headers = text.slice(0, end)
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1]), headers, json: JSON.parse(text.slice(end + 4)) }
}

describe('a body over the limit, sent to a server in a process of its own', () => {
  let server: ServerProcess
  beforeAll(async () => { server = await startServerProcess() })
  afterAll(async () => { await server.close() })

  it.each([
    ['fetch, with a content-length', { client: 'fetch', chunked: false }],
    ['fetch, chunked', { client: 'fetch', chunked: true }],
    ['node:http, with a content-length', { client: 'node', chunked: false }],
    ['node:http, chunked', { client: 'node', chunked: true }]
  ])('gets a 16 MiB upload answered with a readable 413 RequestTooLargeError (%s)', async (_name, { client, chunked }) => {
    const url = `${server.url}/api/v0/streams`
    // A server that closed too early lost the race with the client only some of the time: every one of three must pass.
    for (let round = 0; round < 3; round++) {
      const answer = client === 'fetch' ? await fetchPost(url, BIG, chunked) : await nodeRequest(url, { body: BIG, chunked })
      expect({ round, status: answer.status, json: answer.json }).toEqual({ round, status: 413, json: TOO_LARGE })
    }
    expect((await call(server.url, '/api/v0/node/healthcheck')).text).toBe('Alive!')
  })

  it('answers 413 the same to a keep-alive client, whose pool then opens a new connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const refused = await nodeRequest(`${server.url}/api/v0/streams`, { body: BIG, agent })
      expect({ status: refused.status, json: refused.json, connection: refused.headers.connection }).toEqual({ status: 413, json: TOO_LARGE, connection: 'close' })
      const next = await nodeRequest(`${server.url}/api/v0/node/healthcheck`, { agent })
      expect(next.text).toBe('Alive!')
    } finally {
      agent.destroy()
    }
  })
})

describe('a body over the limit', () => {
  let h: Harness | undefined
  afterEach(async () => { await h?.close(); h = undefined })

  it('is refused before it is sent when the client asks first (Expect: 100-continue)', async () => {
    h = await startHarness()
    let sent = false
    const answer = await new Promise<NodeAnswer>((resolve, reject) => {
      const req = request(`${h!.url}/api/v0/streams`, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': String(BIG.length), expect: '100-continue' }
      }, (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => { text += chunk.toString('utf8') })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) }) })
      })
      req.on('continue', () => { sent = true; req.end(BIG) })
      req.on('error', reject)
    })
    expect({ status: answer.status, json: answer.json, sent }).toEqual({ status: 413, json: TOO_LARGE, sent: false })
  })

  it('lets a client that asks first (Expect: 100-continue) send a body within the limit', async () => {
    h = await startHarness()
    const body = JSON.stringify({ queries: [] })
    const answer = await nodeRequest(`${h.url}/api/v0/multiqueries`, { body, headers: { expect: '100-continue' } })
    expect({ status: answer.status, json: answer.json }).toEqual({ status: 200, json: {} })
  })

  it('refuses a GET that carries a body with 413, the limit of routes that read none being 0', async () => {
    h = await startHarness()
    const answer = await nodeRequest(`${h.url}/api/v0/node/chains`, { method: 'GET', body: '{"x":1}' })
    expect({ status: answer.status, name: answer.json.name, details: answer.json.details }).toEqual({ status: 413, name: 'RequestTooLargeError', details: { limit: 0 } })
    expect((await nodeRequest(`${h.url}/api/v0/node/chains`)).json).toEqual({ supportedChains: ['inmemory:12345'] })
  })

  it('answers a HEAD that carries a body with the 413\'s headers only, as HEAD requires', async () => {
    h = await startHarness()
    const { socket, received } = await rawSocket(h.url)
    socket.write('HEAD /api/v0/node/chains HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello')
    const text = await received
    expect(text).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/)
    expect(text.endsWith('\r\n\r\n')).toBe(true)
  })

  it('is read and thrown away up to refusedBodyDrain.maxBytes, then the connection is closed', async () => {
    h = await startHarness({ refusedBodyDrain: { maxBytes: 2 * MiB, maxMs: 600_000 } })
    const { socket, received } = await rawSocket(h.url)
    const total = 256 * MiB
    socket.write(`POST /api/v0/streams HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${total}\r\n\r\n`)
    let closed = false
    socket.once('close', () => { closed = true })
    let written = 0
    const chunk = Buffer.alloc(MiB, 0x20)
    // The client keeps sending until the server closes on it; far less than the whole body gets through.
    while (!closed && written < total) {
      written += chunk.length
      if (!socket.write(chunk)) await new Promise((resolve) => { socket.once('drain', resolve); socket.once('close', resolve) })
    }
    const answer = parseRaw(await received)
    expect({ status: answer.status, json: answer.json }).toEqual({ status: 413, json: TOO_LARGE })
    expect(written).toBeLessThan(total)
  })

  it('closes the connection of a client that stops sending its refused body after refusedBodyDrain.maxMs', async () => {
    h = await startHarness({ refusedBodyDrain: { maxMs: 50 }, requestTimeoutMs: 600_000, headersTimeoutMs: 600_000 })
    const { socket, received } = await rawSocket(h.url)
    socket.write(`POST /api/v0/streams HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${16 * MiB}\r\n\r\n{`)
    const answer = parseRaw(await received)
    expect({ status: answer.status, json: answer.json }).toEqual({ status: 413, json: TOO_LARGE })
    expect(answer.headers).toMatch(/\r\nconnection: close(\r\n|$)/)
  })

  it('does not hold stop() up while a refused body is being drained', async () => {
    h = await startHarness({ refusedBodyDrain: { maxMs: 600_000 }, requestTimeoutMs: 600_000, headersTimeoutMs: 600_000 })
    const { socket, received } = await rawSocket(h.url)
    socket.write(`POST /api/v0/streams HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${16 * MiB}\r\n\r\n{`)
    await once(socket, 'data')
    await h.close()
    h = undefined
    expect(parseRaw(await received).status).toBe(413)
  })
})

describe('slow requests', () => {
  let h: Harness | undefined
  afterEach(async () => { await h?.close(); h = undefined })

  const TIMED_OUT = { error: 'The request did not arrive in time: the connection was too slow or stalled', name: 'TimeoutError' }

  it('answers 408 TimeoutError and closes a connection whose body stalls past requestTimeoutMs', async () => {
    h = await startHarness({ requestTimeoutMs: 300, headersTimeoutMs: 300 })
    const { socket, received } = await rawSocket(h.url)
    socket.write('POST /api/v0/streams HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"type":')
    const answer = parseRaw(await received)
    expect({ status: answer.status, json: answer.json }).toEqual({ status: 408, json: TIMED_OUT })
  })

  it('answers 408 TimeoutError and closes a connection whose headers stall past headersTimeoutMs', async () => {
    h = await startHarness({ requestTimeoutMs: 60_000, headersTimeoutMs: 300 })
    const { socket, received } = await rawSocket(h.url)
    socket.write('GET /api/v0/node/healthcheck HTTP/1.1\r\nhost: x\r\nx-slow: ')
    const answer = parseRaw(await received)
    expect({ status: answer.status, json: answer.json }).toEqual({ status: 408, json: TIMED_OUT })
  })
})

describe('the CAR import route', () => {
  let api: HttpApi | undefined
  afterEach(async () => { await api?.stop(); api = undefined })

  /** A node whose import records the bytes it was given, then refuses them. */
  async function serve (init: HttpApiInit): Promise<{ url: string, imported: number[] }> {
    const imported: number[] = []
    const node = {
      chains: [],
      doctypes: { has: () => false },
      async importDocument (car: Uint8Array) {
        imported.push(car.length)
        throw new InvalidCommitError('not an export')
      }
    } as unknown as HttpApiNode
    api = httpApi({ port: 0, ...init })({ node })
    await api.start()
    return { url: api.url, imported }
  }

  it('reads a CAR body past bodyLimit, up to importBodyLimit, and refuses a bigger one with 413 naming its own limit', async () => {
    const { url, imported } = await serve({ importBodyLimit: 4 * MiB })
    const headers = { 'content-type': 'application/vnd.ipld.car' }
    const within = await nodeRequest(`${url}/api/v0/kiln/import`, { body: Buffer.alloc(3 * MiB), headers })
    expect({ status: within.status, name: within.json.name }).toEqual({ status: 400, name: 'InvalidCommitError' })
    expect(imported).toEqual([3 * MiB])
    const over = await nodeRequest(`${url}/api/v0/kiln/import`, { body: Buffer.alloc(5 * MiB), headers })
    expect({ status: over.status, json: over.json }).toEqual({
      status: 413,
      json: { error: `Request body is larger than the limit of ${4 * MiB} bytes`, name: 'RequestTooLargeError', details: { limit: 4 * MiB } }
    })
    expect(imported).toEqual([3 * MiB])
  })

  it('refuses a body that is not a CAR with 400 before reading it', async () => {
    const { url, imported } = await serve({})
    const answer = await nodeRequest(`${url}/api/v0/kiln/import`, { body: Buffer.alloc(3 * MiB, 0x20) })
    expect({ status: answer.status, name: answer.json.name }).toEqual({ status: 400, name: 'InvalidRequestError' })
    expect(answer.json.error).toMatch(/content-type application\/vnd\.ipld\.car/)
    expect(imported).toEqual([])
  })
})
