import { once } from 'node:events'
import { connect } from 'node:net'
import { DocID } from '@kiln/docid'
import { httpApi, type HttpApiNode } from '@kiln/http-server'
import { errorFromWire, ServiceUnavailableError, type DocState } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { call, createTile, startHarness, type Harness } from './fixtures/harness.js'
import { sseReader } from './fixtures/sse.js'

describe('the cap on open event streams', () => {
  let h: Harness | undefined
  const open: AbortController[] = []
  afterEach(async () => {
    for (const controller of open.splice(0)) controller.abort()
    await h?.close()
    h = undefined
  })

  /** Opens a watch and waits for its first state, so the stream is surely open on the server. */
  async function watch (url: string, streamId: string): Promise<AbortController> {
    const controller = new AbortController()
    open.push(controller)
    const res = await fetch(`${url}/api/v0/kiln/streams/${streamId}/watch`, { signal: controller.signal })
    expect(res.status).toBe(200)
    expect((await sseReader(res.body!).next())?.event).toBe('state')
    return controller
  }

  it('answers 503 ServiceUnavailableError, as JSON and before any event, once maxEventStreams streams are open', async () => {
    h = await startHarness({ maxEventStreams: 2 })
    const { streamId } = await createTile(h.url, { v: 1 })
    await watch(h.url, streamId)
    await watch(h.url, streamId)
    const refused = await call(h.url, `/api/v0/kiln/streams/${streamId}/watch`)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/)
    expect(refused.json).toEqual({ error: expect.stringContaining('maximum of 2 event streams'), name: 'ServiceUnavailableError' })
    // The HTTP client turns the answer back into the same class.
    expect(errorFromWire(refused.json)).toBeInstanceOf(ServiceUnavailableError)
    // Other routes are not capped.
    expect((await call(h.url, `/api/v0/streams/${streamId}`)).status).toBe(200)
  })

  it('frees the slot of a stream whose client went away', async () => {
    h = await startHarness({ maxEventStreams: 1 })
    const url = h.url
    const { streamId } = await createTile(url, { v: 1 })
    const first = await watch(url, streamId)
    expect((await call(url, `/api/v0/kiln/streams/${streamId}/watch`)).status).toBe(503)
    first.abort()
    // The server learns of the closed socket asynchronously: ask until the slot is free.
    await vi.waitFor(async () => { await watch(url, streamId) }, { timeout: 5000, interval: 20 })
  })

  it('frees the slot of a stream refused by the node (an unknown document)', async () => {
    h = await startHarness({ maxEventStreams: 1 })
    const unknown = await call(h.url, '/api/v0/kiln/streams/kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s/watch')
    expect(unknown.status).toBe(404)
    const { streamId } = await createTile(h.url, { v: 1 })
    await watch(h.url, streamId)
  })
})

describe('an event-stream client that does not read', () => {
  const STATES = 256
  const BIG = 'x'.repeat(128 * 1024)

  it('costs the server one pending state: the watcher is read to the end, and the client gets the latest when it reads', async () => {
    const h = await startHarness()
    try {
      const { streamId, state } = await createTile(h.url, { n: -1 })
      const id = DocID.fromString(streamId)
      const real = h.node
      let delivered!: () => void
      const allDelivered = new Promise<void>((resolve) => { delivered = resolve })
      // States far larger together than any socket buffer, delivered as fast as the server takes them.
      const flooding: HttpApiNode = Object.create(real, {
        doctypes: { value: real.doctypes },
        watch: {
          value: async function * (_id: unknown, options: { signal?: AbortSignal } = {}) {
            for (let n = 0; n < STATES; n++) {
              const tip = CID.create(1, 0x55, identity.digest(new Uint8Array([n >> 8, n & 0xff])))
              const next: DocState = { ...state, content: { n, big: BIG }, log: [...state.log, { cid: tip, type: 1 }] }
              yield { id, state: next }
            }
            delivered()
            if (options.signal !== undefined && !options.signal.aborted) await once(options.signal, 'abort')
          }
        }
      })
      const api = httpApi({ port: 0 })({ node: flooding })
      await api.start()
      const socket = connect(Number(new URL(api.url).port), '127.0.0.1')
      try {
        await once(socket, 'connect')
        socket.pause()
        socket.write(`GET /api/v0/kiln/streams/${streamId}/watch HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`)
        // Without reading a byte, the client lets the server take every state the watcher has.
        await allDelivered
        socket.setEncoding('utf8')
        let text = ''
        const seen: number[] = []
        for await (const chunk of socket) {
          text += chunk as string
          for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n')) {
            const block = text.slice(0, end)
            text = text.slice(end + 2)
            const data = /^data: (.*)$/m.exec(block)?.[1]
            if (data !== undefined) seen.push(JSON.parse(data).state.content.n)
          }
          if (seen.at(-1) === STATES - 1) break
        }
        // In order, ending with the latest, and without most of the states replaced while the client was not reading.
        expect(seen[0]).toBe(-1)
        expect(seen.at(-1)).toBe(STATES - 1)
        expect([...seen].sort((a, b) => a - b)).toEqual(seen)
        expect(seen.length).toBeLessThan(STATES / 2)
      } finally {
        socket.destroy()
        await api.stop()
      }
    } finally {
      await h.close()
    }
  })
})
