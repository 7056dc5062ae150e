import { httpClient } from '@kiln/http-client'
import { errorClasses } from '@kiln/interface'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { fakeNode, sendJSON, type FakeHandler, type FakeNode } from './fixtures/fake-node.js'

const docId = 'kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s'

let server: FakeNode | undefined
afterEach(async () => { await server?.close(); server = undefined })

async function serve (handler: FakeHandler): Promise<FakeNode> {
  server = await fakeNode(handler)
  return server
}

/** A port nothing listens on: bound once, then released. */
async function closedPort (): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => { resolve() }))
  return port
}

describe('errors of the HTTP client', () => {
  it.each([
    [404, 'DocumentNotFoundError'],
    [409, 'ConflictingCommitError'],
    [422, 'UnauthorizedSignerError'],
    [400, 'InvalidDocIDError'],
    [401, 'AdminAuthError'],
    [504, 'TimeoutError'],
    [503, 'StorageError']
  ])('turns a %i {error, name: %s} into the same named class', async (status, name) => {
    const node = await serve((_req, res) => { sendJSON(res, status, { error: `it failed: ${name}`, name }) })
    const err = await httpClient({ url: node.url }).load(docId).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(errorClasses[name])
    expect(err).toMatchObject({ name, message: `it failed: ${name}` })
  })

  it('keeps a name it does not know on a KilnError, and reads Ceramic\'s {error} as a KilnError', async () => {
    let body: unknown = { error: 'from the future', name: 'QuantumError' }
    const node = await serve((_req, res) => { sendJSON(res, 500, body) })
    const client = httpClient({ url: node.url })
    await expect(client.load(docId)).rejects.toMatchObject({ name: 'QuantumError', message: 'from the future' })
    body = { error: 'Stream not found' }
    await expect(client.load(docId)).rejects.toMatchObject({ name: 'KilnError', message: 'Stream not found' })
  })

  it('names an answer that is not an error body by its status, quoting the body', async () => {
    const answers: Array<[number, string]> = [[502, '<html>Bad Gateway</html>'], [504, 'upstream timed out'], [413, 'too big'], [500, '']]
    let answer = answers[0]!
    const node = await serve((_req, res) => { res.statusCode = answer[0]; res.end(answer[1]) })
    const client = httpClient({ url: node.url })
    const expected = ['KilnError', 'TimeoutError', 'RequestTooLargeError', 'KilnError']
    for (const [i, a] of answers.entries()) {
      answer = a
      const err = await client.chains().catch((e: unknown) => e)
      expect(err).toMatchObject({ name: expected[i], details: { status: a[0], url: `${node.url}/api/v0/node/chains` } })
      expect((err as Error).message).toContain(`HTTP ${a[0]}`)
      if (a[1] !== '') expect((err as Error).message).toContain(a[1])
    }
  })

  it('refuses a 200 answer that is not JSON with a CodecError', async () => {
    const node = await serve((_req, res) => { res.end('Alive!') })
    await expect(httpClient({ url: node.url }).chains()).rejects.toMatchObject({ name: 'CodecError' })
  })

  it('refuses a malformed id with InvalidDocIDError before sending anything', async () => {
    const node = await serve((_req, res) => { sendJSON(res, 500, {}) })
    const client = httpClient({ url: node.url })
    for (const call of [
      async () => await client.load('not-a-doc-id'),
      async () => await client.loadLog('k123'),
      async () => await client.requestAnchor(''),
      async () => await client.multiQuery([{ id: 'nope' }]),
      async () => { client.watch('../admin') }
    ]) {
      await expect(call()).rejects.toMatchObject({ name: 'InvalidDocIDError' })
    }
    expect(node.requests).toHaveLength(0)
  })

  it('gives up with TimeoutError when the node does not answer in timeoutMs', async () => {
    let arrived!: () => void
    const atNode = new Promise<void>((resolve) => { arrived = resolve })
    // Answers the chains, never a document.
    const node = await serve((req, res) => {
      if (req.path === '/api/v0/node/chains') sendJSON(res, 200, { supportedChains: [] })
      else arrived()
    })
    const client = httpClient({ url: node.url, timeoutMs: 150 })
    // The client's timers are faked, so the test says when timeoutMs has passed; the sockets run on real time.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      let settled = false
      const answer = client.load(docId).catch((e: unknown) => e).finally(() => { settled = true })
      await atNode
      vi.advanceTimersByTime(149)
      // A whole round trip later the load still waits: nothing gave up before timeoutMs.
      expect(await client.chains()).toEqual([])
      expect(settled).toBe(false)
      vi.advanceTimersByTime(1)
      expect(await answer).toMatchObject({ name: 'TimeoutError', details: { timeoutMs: 150 } })
    } finally {
      vi.useRealTimers()
    }
  })

  it('rejects with AbortError when the signal fires, and sends nothing for a signal already fired', async () => {
    const controller = new AbortController()
    // Fired once the request is at the node, which never answers.
    const node = await serve(() => { controller.abort() })
    const client = httpClient({ url: node.url })
    await expect(client.load(docId, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
    expect(node.requests).toHaveLength(1)
    await expect(client.chains({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    await expect(client.healthcheck({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    expect(node.requests).toHaveLength(1)
  })

  it('names the URL and the system error when the node cannot be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`
    const err = await httpClient({ url }).load(docId).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'KilnError', details: { url: `${url}/api/v0/streams/${docId}`, code: 'ECONNREFUSED' } })
    expect((err as Error).message).toContain(url)
    expect((err as Error).message).toContain('ECONNREFUSED')
  })

  it('refuses a base URL that is not http(s) or a timeout that is not positive', () => {
    expect(() => httpClient({ url: 'localhost:7007' })).toThrow(expect.objectContaining({ name: 'KilnError' }))
    expect(() => httpClient({ url: 'not a url' })).toThrow(expect.objectContaining({ name: 'KilnError' }))
    expect(() => httpClient({ url: 'http://127.0.0.1:7007', timeoutMs: 0 })).toThrow(expect.objectContaining({ name: 'KilnError' }))
  })
})
