import type { DocID } from '@kiln/docid'
import { httpClient } from '@kiln/http-client'
import type { DocSnapshot } from '@kiln/interface'
import type { ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
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
  it('yields the current state, then each new one, across split chunks, CRLF line ends and comments', async () => {
    const node = await serve(async (_req, res) => {
      openStream(res)
      const first = `: hello\r\n${stateEvent(0).replace(/\n/g, '\r\n')}`
      // Cut everywhere awkward: inside a field name, between CR and LF, inside the JSON.
      for (const part of [first.slice(0, 3), first.slice(3, 12), first.slice(12, 40), first.slice(40, -1), first.slice(-1)]) {
        res.write(part)
        await sleep(5) // timing: simulates a slow server, so that the pieces reach the client in separate reads
      }
      res.write(': keepalive\n\nevent: other\ndata: {}\n\n')
      const second = Buffer.from(stateEvent(1))
      res.write(second.subarray(0, 100))
      await sleep(5) // timing: simulates a slow server, as above
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
    let mode: 'silent' | 'slow' = 'silent'
    const node = await serve(async (_req, res) => {
      if (mode === 'silent') return
      openStream(res)
      await sleep(300) // timing: simulates a server whose first event comes after the client's 150 ms timeout
      res.write(stateEvent(1))
    })
    const client = httpClient({ url: node.url, timeoutMs: 150 })
    await expect(take(client.watch(doc.id), 1)).rejects.toMatchObject({ name: 'TimeoutError' })
    mode = 'slow'
    const [snapshot] = await take(client.watch(doc.id), 1)
    expect(snapshot!.state.content).toEqual({ n: 2 })
  })
})
