import { docStateFromJSON } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { httpApi, type HttpApiNode } from '@kiln/http-server'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { call, createTile, startHarness, updateJSON, waitForAnchored, type Harness } from './fixtures/harness.js'
import { sseReader, type SseEvent } from './fixtures/sse.js'

describe('Kiln routes', () => {
  let h: Harness

  beforeEach(async () => { h = await startHarness({ keepAliveMs: 40 }) })
  afterEach(async () => { await h.close() })

  /** Reads events, skipping comments, until one satisfies `match`. */
  async function nextState (reader: ReturnType<typeof sseReader>, match: (data: any) => boolean): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    for (;;) {
      const event: SseEvent | undefined = await reader.next()
      if (event === undefined) throw new TypeError('stream ended')
      if (event.event !== 'state') continue
      const data = JSON.parse(event.data)
      if (match(data)) return data
    }
  }

  it('streams the current state, then each new one, as Server-Sent Events', async () => {
    const { streamId, state } = await createTile(h.url, { v: 1 })
    const controller = new AbortController()
    const res = await fetch(`${h.url}/api/v0/kiln/streams/${streamId}/watch`, { signal: controller.signal })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = sseReader(res.body!)
    const first = await reader.next()
    expect(first?.event).toBe('state')
    const current = JSON.parse(first!.data)
    expect(current.streamId).toBe(streamId)
    expect(current.state.content).toEqual({ v: 1 })

    const update = await call(h.url, '/api/v0/commits', { body: { streamId, commit: await updateJSON(state, { v: 2 }), opts: { anchor: false } } })
    expect(update.status).toBe(200)
    const next = await nextState(reader, (d) => d.state.content.v === 2)
    expect(next.streamId).toBe(streamId)
    expect(next.state.log).toHaveLength(2)

    controller.abort()
    expect((await call(h.url, '/api/v0/node/healthcheck')).text).toBe('Alive!')
  })

  it('sends a keepalive comment while nothing changes', async () => {
    const { streamId } = await createTile(h.url, { v: 1 })
    const controller = new AbortController()
    const res = await fetch(`${h.url}/api/v0/kiln/streams/${streamId}/watch`, { signal: controller.signal })
    const reader = sseReader(res.body!)
    expect((await reader.next())?.event).toBe('state')
    expect(await reader.next()).toEqual({ event: 'comment', data: 'keepalive' })
    controller.abort()
  })

  it('answers an unknown or malformed id with a JSON error before any event', async () => {
    const unknown = await call(h.url, '/api/v0/kiln/streams/kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s/watch')
    expect({ status: unknown.status, name: unknown.json.name }).toEqual({ status: 404, name: 'DocumentNotFoundError' })
    const garbage = await call(h.url, '/api/v0/kiln/streams/garbage/watch')
    expect({ status: garbage.status, name: garbage.json.name }).toEqual({ status: 400, name: 'InvalidDocIDError' })
  })

  it('ends open event streams when the server stops', async () => {
    const { streamId } = await createTile(h.url, { v: 1 })
    const res = await fetch(`${h.url}/api/v0/kiln/streams/${streamId}/watch`)
    const reader = sseReader(res.body!)
    expect((await reader.next())?.event).toBe('state')
    await h.api.stop()
    let event: SseEvent | undefined
    do { event = await reader.next() } while (event?.event === 'comment')
    expect(event).toBeUndefined()
  })

  it('serves the log with each commit\'s value and, after anchoring, the anchor\'s proof', async () => {
    const { streamId, state } = await createTile(h.url, { v: 1 }, undefined, {})
    await waitForAnchored(h.url, streamId)
    const answer = await call(h.url, `/api/v0/kiln/streams/${streamId}/log`)
    expect(answer.status).toBe(200)
    expect(answer.json.streamId).toBe(streamId)
    const [genesis, anchor] = answer.json.log
    expect(answer.json.log).toHaveLength(2)
    expect(genesis).toMatchObject({ cid: state.log[0]!.cid.toString(), type: 0 })
    expect(genesis.value.jws.link).toBe(JSON.parse(JSON.stringify(genesis.value)).jws.link)
    expect(typeof genesis.timestamp).toBe('number')
    expect(genesis.proof).toBeUndefined()
    expect(anchor.type).toBe(2)
    expect(anchor.value).toMatchObject({ id: state.log[0]!.cid.toString(), prev: state.log[0]!.cid.toString(), path: expect.any(String) })
    expect(anchor.proof).toEqual({ chainId: 'inmemory:12345', root: expect.any(String), txHash: expect.any(String), txType: 'dag-jws' })
    const loaded = await call(h.url, `/api/v0/streams/${streamId}`)
    expect(anchor.proof.root).toBe(loaded.json.state.anchorProof.root)
  })
})

describe('an event stream that subscribes while states are being written', () => {
  it('skips queued states older than the current one, and sends the newer ones', async () => {
    const h = await startHarness()
    try {
      const first = await createTile(h.url, { v: 1 })
      const second = await call(h.url, '/api/v0/commits', { body: { streamId: first.streamId, commit: await updateJSON(first.state, { v: 2 }), opts: { anchor: false } } })
      const v2 = docStateFromJSON(second.json.state)
      const third = await call(h.url, '/api/v0/commits', { body: { streamId: first.streamId, commit: await updateJSON(v2, { v: 3 }), opts: { anchor: false } } })
      const v3 = docStateFromJSON(third.json.state)
      const real = h.node
      // The watcher has queued v1 and v2 by the time the load answers v2; v3 comes after.
      const racing: HttpApiNode = Object.create(real, {
        doctypes: { value: real.doctypes },
        load: { value: async () => ({ id: DocID.fromString(first.streamId), state: v2 }) },
        watch: {
          value: async function * () {
            for (const state of [first.state, v2, v3]) yield { id: DocID.fromString(first.streamId), state }
          }
        }
      })
      const api = httpApi({ port: 0 })({ node: racing })
      await api.start()
      try {
        const res = await fetch(`${api.url}/api/v0/kiln/streams/${first.streamId}/watch`)
        const reader = sseReader(res.body!)
        const contents: unknown[] = []
        for (let event = await reader.next(); event !== undefined; event = await reader.next()) {
          if (event.event === 'state') contents.push(JSON.parse(event.data).state.content)
        }
        expect(contents).toEqual([{ v: 2 }, { v: 3 }])
      } finally {
        await api.stop()
      }
    } finally {
      await h.close()
    }
  })
})
