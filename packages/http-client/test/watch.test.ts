import type { DocID } from '@kiln/docid'
import { httpClient, parseEventStream } from '@kiln/http-client'
import type { DocSnapshot } from '@kiln/interface'
import type { ServerResponse } from 'node:http'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { sampleDocument, type SampleDocument } from './fixtures/documents.js'
import { fakeNode, sendJSON, type FakeHandler, type FakeNode } from './fixtures/fake-node.js'

let doc: SampleDocument
beforeAll(async () => { doc = await sampleDocument() })

let server: FakeNode | undefined
afterEach(async () => { await server?.close(); server = undefined })

async function serve (handler: FakeHandler): Promise<FakeNode> {
  server = await fakeNode(handler)
  return server
}

function openStream (res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  res.flushHeaders()
}

function stateEvent (i: 0 | 1): string {
  return `event: state\ndata: ${JSON.stringify({ streamId: doc.id.toString(), state: doc.json[i] })}\n\n`
}

async function take (it: AsyncIterableIterator<DocSnapshot<DocID>>, n: number): Promise<Array<DocSnapshot<DocID>>> {
  const out: Array<DocSnapshot<DocID>> = []
  for await (const snapshot of it) {
    out.push(snapshot)
    if (out.length === n) break
  }
  return out
}

describe('watching a document over Server-Sent Events', () => {
  it('yields the current state, then each new one, with CRLF line ends, comments and events of other types', async () => {
    const node = await serve(async (_req, res) => {
      openStream(res)
      res.write(`: hello\r\n${stateEvent(0).replace(/\n/g, '\r\n')}`)
      res.write(': keepalive\n\nevent: other\ndata: {}\n\n')
      const second = Buffer.from(stateEvent(1))
      res.write(second.subarray(0, 100))
      res.write(second.subarray(100))
    })
    const client = httpClient({ url: node.url })
    const [current, next] = await take(client.watch(doc.id), 2)
    expect(node.requests[0]).toMatchObject({ method: 'GET', path: `/api/v0/kiln/streams/${doc.id.toString()}/watch` })
    expect(node.requests[0]!.headers.accept).toBe('text/event-stream')
    expect(current!.id.equals(doc.id)).toBe(true)
    expect(current!.state).toEqual(doc.states[0])
    expect(next!.state).toEqual(doc.states[1])
  })

  it('parses a stream cut everywhere awkward: inside a field name, between CR and LF, inside a character, inside the JSON', async () => {
    // The chunks a socket may deliver, given one by one to the parser: no timing decides where the cuts fall.
    const text = `: hello\r\n${stateEvent(0).replace(/\n/g, '\r\n')}event: other\ndata: é\n\n${stateEvent(1)}`
    const bytes = new TextEncoder().encode(text)
    const accent = bytes.indexOf(0xc3)
    const cuts = [3, 12, text.indexOf('\r\n', 12) + 1, 40, accent + 1, bytes.length - 50, bytes.length - 1]
    async function * chunks (): AsyncGenerator<Uint8Array> {
      let at = 0
      for (const cut of [...cuts, bytes.length]) { yield bytes.subarray(at, cut); at = cut }
    }
    const events = []
    for await (const event of parseEventStream(chunks())) events.push(event)
    expect(events.map((e) => e.event)).toEqual(['state', 'other', 'state'])
    expect(JSON.parse(events[0]!.data).state).toEqual(doc.json[0])
    expect(events[1]!.data).toBe('é')
    expect(JSON.parse(events[2]!.data).state).toEqual(doc.json[1])
  })

  it('ends quietly when the signal fires, and closes the connection', async () => {
    const closed = vi.fn()
    const node = await serve((_req, res) => {
      openStream(res)
      res.write(stateEvent(0))
      res.on('close', closed)
    })
    const controller = new AbortController()
    const seen: unknown[] = []
    for await (const snapshot of httpClient({ url: node.url }).watch(doc.id.toString(), { signal: controller.signal })) {
      seen.push(snapshot)
      // Fired with the stream open and the loop still running: the watch ends, without an error.
      controller.abort()
    }
    expect(seen).toHaveLength(1)
    await vi.waitFor(() => { expect(closed).toHaveBeenCalled() }, { timeout: 5000 })
    expect(node.requests).toHaveLength(1)
  })

  it('closes the connection when the loop breaks', async () => {
    const closed = vi.fn()
    const node = await serve((_req, res) => {
      openStream(res)
      res.write(stateEvent(0))
      res.on('close', closed)
    })
    await take(httpClient({ url: node.url }).watch(doc.id), 1)
    await vi.waitFor(() => { expect(closed).toHaveBeenCalled() }, { timeout: 5000 })
  })

  it('opens a dropped stream again, skipping the state it already gave', async () => {
    let connections = 0
    const node = await serve((_req, res) => {
      connections++
      openStream(res)
      if (connections === 1) {
        res.write(stateEvent(0))
        setTimeout(() => { res.destroy() }, 30)
      } else {
        // A reconnection starts with the current state: the same one, then the next.
        res.write(stateEvent(0))
        res.write(stateEvent(1))
      }
    })
    const states = await take(httpClient({ url: node.url }).watch(doc.id), 2)
    expect(states.map((s) => s.state.content)).toEqual([{ n: 1 }, { n: 2 }])
    expect(node.requests).toHaveLength(2)
  })

  it('ends with a KilnError naming the document when maxFailures reopened streams in a row drop before any event', async () => {
    let connections = 0
    const node = await serve((_req, res) => {
      connections++
      openStream(res)
      if (connections === 1) res.write(stateEvent(0))
      setTimeout(() => { res.destroy() }, 30)
    })
    const seen: unknown[] = []
    const client = httpClient({ url: node.url, watchReconnect: { initialDelayMs: 1, maxDelayMs: 4, maxFailures: 3 } })
    const err = await (async () => { for await (const s of client.watch(doc.id)) seen.push(s) })().catch((e: unknown) => e)
    expect(seen).toHaveLength(1)
    expect(err).toMatchObject({ name: 'KilnError', details: { docId: doc.id.toString(), failures: 3 } })
    expect((err as Error).message).toContain(doc.id.toString())
    expect(connections).toBe(4)
  })

  it('reconnects after a 503 from a node at its stream limit, and gives up on it after maxFailures', async () => {
    let connections = 0
    const node = await serve((_req, res) => {
      if (++connections > 1) {
        sendJSON(res, 503, { error: 'Too many open streams', name: 'ServiceUnavailableError' })
        return
      }
      openStream(res)
      res.write(stateEvent(0))
      setTimeout(() => { res.destroy() }, 30)
    })
    const seen: unknown[] = []
    const client = httpClient({ url: node.url, watchReconnect: { initialDelayMs: 1, maxDelayMs: 4, maxFailures: 3 } })
    const err = await (async () => { for await (const s of client.watch(doc.id)) seen.push(s) })().catch((e: unknown) => e)
    expect(seen).toHaveLength(1)
    expect(err).toMatchObject({ name: 'KilnError', details: { docId: doc.id.toString(), failures: 3 } })
    expect((err as Error).cause).toMatchObject({ name: 'ServiceUnavailableError', message: 'Too many open streams' })
    expect(connections).toBe(4)
  })

  it('does not reconnect when the node answers a reconnection with an error that would repeat', async () => {
    let connections = 0
    const node = await serve((_req, res) => {
      if (++connections > 1) {
        sendJSON(res, 404, { error: `Document ${doc.id.toString()} is not on this node`, name: 'DocumentNotFoundError' })
        return
      }
      openStream(res)
      res.write(stateEvent(0))
      setTimeout(() => { res.destroy() }, 30)
    })
    const client = httpClient({ url: node.url, watchReconnect: { initialDelayMs: 1, maxDelayMs: 4 } })
    const err = await (async () => { for await (const _ of client.watch(doc.id)) { /* the first state */ } })().catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'DocumentNotFoundError' })
    expect(connections).toBe(2)
  })

  it('refuses a reconnection policy it cannot follow', () => {
    for (const watchReconnect of [{ initialDelayMs: 0 }, { initialDelayMs: 500, maxDelayMs: 100 }, { maxFailures: 0 }, { maxFailures: 1.5 }, { maxDelayMs: Number.NaN }]) {
      expect(() => httpClient({ url: 'http://127.0.0.1:7007', watchReconnect })).toThrow(expect.objectContaining({ name: 'KilnError' }))
    }
    expect(() => httpClient({ url: 'http://127.0.0.1:7007', watchReconnect: { maxFailures: Infinity } })).not.toThrow()
  })

  it('throws the named error a node answers instead of a stream', async () => {
    const node = await serve((_req, res) => { sendJSON(res, 404, { error: `Document ${doc.id.toString()} is not on this node`, name: 'DocumentNotFoundError' }) })
    await expect(take(httpClient({ url: node.url }).watch(doc.id), 1)).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
    expect(node.requests).toHaveLength(1)
  })

  it('waits timeoutMs for the stream to open, not for events', async () => {
    let releaseEvent!: () => void
    const eventHeld = new Promise<void>((resolve) => { releaseEvent = resolve })
    let streamOpened!: () => void
    const opened = new Promise<void>((resolve) => { streamOpened = resolve })
    const node = await serve(async (req, res) => {
      // Every other route is never answered; the watch opens its stream at once and sends its first event when the
      // test says.
      if (!req.path.endsWith('/watch')) return
      openStream(res)
      streamOpened()
      await eventHeld
      res.write(stateEvent(1))
    })
    const client = httpClient({ url: node.url, timeoutMs: 150 })
    const watched = take(client.watch(doc.id), 1)
    await opened
    // The client's own clock is the witness: a request started after the stream opened times out, so more than
    // timeoutMs have passed for the stream too, which must still be waiting for its event.
    await expect(client.load(doc.id)).rejects.toMatchObject({ name: 'TimeoutError' })
    releaseEvent()
    const [snapshot] = await watched
    expect(snapshot!.state.content).toEqual({ n: 2 })
  })
})
