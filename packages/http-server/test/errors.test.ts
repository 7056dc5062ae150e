import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { tile } from '@kiln/doctype-tile'
import { httpApi, statusOf, errorStatuses, type HttpApi, type HttpApiNode } from '@kiln/http-server'
import { KilnError, TimeoutError } from '@kiln/interface'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { call, gate } from './fixtures/harness.js'

const SOME_DOC = 'kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s'

describe('the error table', () => {
  it('gives each named error its status and every other name 500', () => {
    expect(statusOf('InvalidRequestError')).toBe(400)
    expect(statusOf('InvalidDocIDError')).toBe(400)
    expect(statusOf('AdminAuthError')).toBe(401)
    expect(statusOf('DocumentNotFoundError')).toBe(404)
    expect(statusOf('ConflictingCommitError')).toBe(409)
    expect(statusOf('RequestTooLargeError')).toBe(413)
    expect(statusOf('RateLimitedError')).toBe(429)
    expect(statusOf('UnauthorizedSignerError')).toBe(422)
    expect(statusOf('StorageError')).toBe(503)
    expect(statusOf('TimeoutError')).toBe(504)
    expect(statusOf('ServiceUnavailableError')).toBe(503)
    expect(statusOf('InvalidAccountIdError')).toBe(422)
    expect(statusOf('InvalidAnchorRequestError')).toBe(400)
    expect(statusOf('EthereumRpcError')).toBe(502)
    expect(statusOf('KilnError')).toBe(500)
    expect(statusOf('AbortError')).toBe(503)
    expect(statusOf('toString')).toBe(500)
    expect(statusOf('NoSuchError')).toBe(500)
  })

  it('gives every name a status of its own class: 4xx, or 5xx', () => {
    for (const [name, status] of Object.entries(errorStatuses)) expect(status >= 400 && status < 600, name).toBe(true)
  })
})

describe('unexpected faults', () => {
  let api: HttpApi | undefined
  afterEach(async () => { await api?.stop(); api = undefined })

  /** A node whose `load` does what `load` says; nothing else is used by these tests. */
  function fakeNode (load: () => Promise<never>): HttpApiNode {
    return { load, chains: [], doctypes: { has: () => false } } as unknown as HttpApiNode
  }

  async function serve (node: HttpApiNode, logs: unknown[]): Promise<string> {
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (obj: unknown) => { logs.push(obj) } }
    api = httpApi({ port: 0 })({ node, logger })
    await api.start()
    return api.url
  }

  it('answers a non-Kiln error with a generic 500, logging the details once and leaking none', async () => {
    const logs: unknown[] = []
    const url = await serve(fakeNode(async () => { throw new TypeError('password=hunter2 at /srv/db') }), logs)
    const answer = await call(url, `/api/v0/streams/${SOME_DOC}`)
    expect(answer.status).toBe(500)
    expect(answer.json).toEqual({ error: 'Internal server error', name: 'KilnError' })
    expect(answer.text).not.toMatch(/hunter2/)
    expect(logs).toHaveLength(1)
    expect((logs[0] as { err: Error }).err.message).toMatch(/hunter2/)
  })

  it('answers an unlisted Kiln error with a generic 500 too', async () => {
    const logs: unknown[] = []
    const url = await serve(fakeNode(async () => { throw new KilnError('internal invariant broken') }), logs)
    const answer = await call(url, `/api/v0/streams/${SOME_DOC}`)
    expect(answer.json).toEqual({ error: 'Internal server error', name: 'KilnError' })
    expect(logs).toHaveLength(1)
  })

  it('answers a TimeoutError with 504 and its message, logging it', async () => {
    const logs: unknown[] = []
    const url = await serve(fakeNode(async () => { throw new TimeoutError('the network did not answer in 5 s') }), logs)
    const answer = await call(url, `/api/v0/streams/${SOME_DOC}`)
    expect(answer.status).toBe(504)
    expect(answer.json).toEqual({ error: 'the network did not answer in 5 s', name: 'TimeoutError' })
    expect(logs).toHaveLength(1)
  })

  it('does not log client errors', async () => {
    const logs: unknown[] = []
    const url = await serve(fakeNode(async () => { throw new TypeError('unused') }), logs)
    expect((await call(url, '/api/v0/streams/garbage')).status).toBe(400)
    expect((await call(url, '/api/v0/nope')).status).toBe(404)
    expect(logs).toHaveLength(0)
  })
})

describe('lifecycle', () => {
  let node: KilnNode | undefined
  afterEach(async () => { await node?.stop(); node = undefined })

  it('waits for in-flight requests when it stops', async () => {
    node = await createNode({ doctypes: [tile()], storage: memoryStorage() })
    const real = node
    const readBlock = gate()
    const slow: HttpApiNode = Object.create(real, {
      chains: { value: real.chains },
      doctypes: { value: real.doctypes },
      readBlock: { value: async (...args: Parameters<KilnNode['readBlock']>) => { await readBlock.pass(); return await real.readBlock(...args) } }
    })
    const api = httpApi({ port: 0 })({ node: slow })
    await api.start()
    const url = api.url
    const pending = call(url, '/api/v0/node/healthcheck')
    await readBlock.reached
    let stopped = false
    const stopping = api.stop().then(() => { stopped = true })
    // Stopping: no new connection is accepted, and the request in flight is still being served.
    await vi.waitFor(async () => { await expect(fetch(`${url}/api/v0/node/chains`)).rejects.toThrow() }, { timeout: 5000 })
    expect(stopped).toBe(false)
    readBlock.open()
    const answer = await pending
    expect(answer.status).toBe(200)
    expect(answer.text).toBe('Alive!')
    await stopping
  })

  it('serves inject() without listening, and defaults to 127.0.0.1:7007', async () => {
    node = await createNode({ doctypes: [tile()], storage: memoryStorage() })
    const api = httpApi()({ node })
    expect(api.url).toBe('http://127.0.0.1:7007')
    const answer = await api.inject({ method: 'GET', url: '/api/v0/node/chains' })
    expect(answer.statusCode).toBe(200)
    expect(answer.json()).toEqual({ supportedChains: [] })
    await api.stop()
  })
})

describe('request logging', () => {
  /** A pino-shaped logger that counts the child loggers made from it and the info lines written to it. */
  function pinoLike (infoEnabled: boolean): { logger: Record<string, unknown>, children: () => number, infos: () => number } {
    let children = 0
    let infos = 0
    const noop = (): void => {}
    const logger: Record<string, unknown> = {
      level: infoEnabled ? 'info' : 'error',
      fatal: noop, error: noop, warn: noop, debug: noop, trace: noop, silent: noop,
      info: () => { if (infoEnabled) infos++ },
      isLevelEnabled: (level: string) => infoEnabled || level === 'error' || level === 'fatal',
      child: () => { children++; return logger }
    }
    return { logger, children: () => children, infos: () => infos }
  }

  it('lets Fastify log requests to a pino-like logger that writes info lines', async () => {
    const node = await createNode({ doctypes: [tile()], storage: memoryStorage() })
    const { logger, children, infos } = pinoLike(true)
    const api = httpApi()({ node, logger: logger as never })
    try {
      expect((await api.inject({ method: 'GET', url: '/api/v0/node/chains' })).statusCode).toBe(200)
      expect(children()).toBeGreaterThan(0)
      expect(infos()).toBeGreaterThan(0)
    } finally {
      await api.stop()
      await node.stop()
    }
  })

  it('keeps Fastify from making a logger per request when the logger would print no request line', async () => {
    const node = await createNode({ doctypes: [tile()], storage: memoryStorage() })
    const { logger, children } = pinoLike(false)
    const api = httpApi()({ node, logger: logger as never })
    try {
      expect((await api.inject({ method: 'GET', url: '/api/v0/node/chains' })).statusCode).toBe(200)
      expect(children()).toBe(0)
    } finally {
      await api.stop()
      await node.stop()
    }
  })
})
