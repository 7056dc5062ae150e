import { join } from 'node:path'
import { createNode, type KilnNode } from '@kiln/core'
import { makeGenesis, makeUpdate, tile } from '@kiln/doctype-tile'
import { webhooks } from '@kiln/hooks'
import { httpClient, type KilnHttpClient } from '@kiln/http-client'
import { httpApi, type HttpApi } from '@kiln/http-server'
import type { Commit } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { levelStorage } from '@kiln/storage-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startDaemon, type DaemonProcess } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'
import { startReceiver, type Received, type Receiver, type ReceiverMode } from './fixtures/webhook-receiver.js'

// Webhooks against real receivers on 127.0.0.1: signed deliveries of every write, retries of a failing or hanging
// receiver that never slow the writes, and an outbox that loses nothing to a SIGKILL of the daemon.

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xa7) })
const admin = keyDidSigner({ seed: new Uint8Array(32).fill(0xad) })

/** The (document, tip) pairs a receiver answered 200, as `docId tip` strings. */
function delivered (received: Received[]): Set<string> {
  return new Set(received.filter((r) => r.status === 200).map((r) => `${r.docId} ${r.tip}`))
}

/** Creates `n` documents and updates each once through `writer`; returns every (document, tip) written. */
async function writeDocuments (writer: Pick<KilnNode | KilnHttpClient, 'createDocument' | 'applyCommit'>, n: number, tag: string): Promise<Set<string>> {
  const written = new Set<string>()
  for (let i = 0; i < n; i++) {
    const created = await writer.createDocument('tile', (await makeGenesis({ tag, i }, {}, alice)).commit, { anchor: false })
    written.add(`${created.id.toString()} ${created.state.log.at(-1)!.cid.toString()}`)
    const updated = await writer.applyCommit(created.id, (await makeUpdate(created.state, { tag, i, v: 1 }, alice)).commit, { anchor: false })
    written.add(`${updated.id.toString()} ${updated.state.log.at(-1)!.cid.toString()}`)
  }
  return written
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

describe('webhooks of an in-process node', () => {
  let dir: Awaited<ReturnType<typeof dataDir>>
  let node: KilnNode
  let api: HttpApi
  let client: KilnHttpClient
  const receivers: Receiver[] = []

  beforeEach(async () => {
    dir = await dataDir()
    node = await createNode({
      doctypes: [tile()],
      storage: levelStorage({ path: join(dir.path, 'store') }),
      hooks: [webhooks({ path: join(dir.path, 'hooks'), timeoutMs: 400, maxAttempts: 100, backoff: { baseMs: 200, maxMs: 800 } })]
    })
    api = httpApi({ port: 0, host: '127.0.0.1', adminDids: [admin.did], rateLimit: false })({ node })
    await api.start()
    client = httpClient({ url: api.url, adminSigner: admin })
  })

  afterEach(async () => {
    await api.stop()
    await node.stop()
    for (const receiver of receivers.splice(0)) await receiver.close()
    await dir.remove()
  })

  /** A receiver registered over the admin HTTP API, knowing its secret. */
  async function register (mode: ReceiverMode): Promise<Receiver> {
    const receiver = await startReceiver(mode)
    receivers.push(receiver)
    await receiver.setSecret((await client.hooks.add({ url: receiver.url })).secret)
    return receiver
  }

  it('delivers every write to a receiver, each signature verifying with the secret add returned', async () => {
    const receiver = await register('ok')
    const written = await writeDocuments(node, 10, 'every')
    await receiver.until((received) => delivered(received).size === written.size)
    expect(delivered(receiver.received)).toEqual(written)
    expect(receiver.received.every((r) => r.verified)).toBe(true)
    expect(receiver.received.every((r) => (r.body.state as { content?: unknown }).content !== undefined)).toBe(true)
    // The receiver answered before the outbox recorded the answers: wait for the last ones.
    await expect.poll(async () => (await client.hooks.list())[0]!.pending).toBe(0)
    const [status] = await client.hooks.list()
    expect(status).toMatchObject({ url: receiver.url, pending: 0, deadLetter: 0 })
    expect(status!.delivered).toBeGreaterThanOrEqual(written.size)
    expect(status).not.toHaveProperty('secret')
  })

  it('retries a receiver answering 500 and, once it answers 200, has every write', async () => {
    const receiver = await register('fail')
    const written = await writeDocuments(node, 5, 'retried')
    // Every delivery is refused at least twice before the receiver recovers.
    await receiver.until((received) => [...written].every((key) => received.filter((r) => `${r.docId} ${r.tip}` === key && r.attempt >= 2).length > 0))
    expect((await client.hooks.list())[0]!.lastError).toContain('HTTP 500')
    await receiver.setMode('ok')
    await receiver.until((received) => delivered(received).size === written.size)
    expect(delivered(receiver.received)).toEqual(written)
    expect(receiver.received.every((r) => r.verified)).toBe(true)
  })

  it('writes as fast with a hanging and a failing receiver as with none, and retries both', async () => {
    const genesis: Commit[] = []
    for (let i = 0; i < 90; i++) genesis.push((await makeGenesis({ latency: i }, {}, alice)).commit)
    const latencies = async (commits: Commit[]): Promise<number[]> => {
      const times: number[] = []
      for (const commit of commits) {
        const started = performance.now()
        await node.createDocument('tile', commit, { anchor: false })
        times.push(performance.now() - started)
      }
      return times
    }
    await latencies(genesis.slice(0, 10)) // warm-up
    const without = median(await latencies(genesis.slice(10, 50)))
    const hanging = await register('hang')
    const failing = await register('fail')
    const withBad = median(await latencies(genesis.slice(50, 90)))
    // A ratio against the same machine's latency without hooks, with room for noise; never a wall-clock bound.
    expect(withBad).toBeLessThanOrEqual(2 * without + 5)
    // Both receivers get their deliveries again: the hanging one after each attempt is cut off at timeoutMs.
    await hanging.until((received) => received.some((r) => r.attempt >= 2))
    await failing.until((received) => received.some((r) => r.attempt >= 2))
    const statuses = await client.hooks.list()
    expect(statuses.find((s) => s.url === hanging.url)!.lastError).toContain('no answer in time')
    expect(statuses.find((s) => s.url === failing.url)!.lastError).toContain('HTTP 500')
  })

  it('answers the admin routes only for an admin, and removes a webhook', async () => {
    const receiver = await startReceiver('ok')
    receivers.push(receiver)
    await expect(httpClient({ url: api.url }).hooks.list()).rejects.toMatchObject({ name: 'AdminAuthError' })
    await expect(httpClient({ url: api.url, adminSigner: alice }).hooks.add({ url: receiver.url })).rejects.toMatchObject({ name: 'AdminAuthError' })
    await expect(client.hooks.add({ url: 'gopher://127.0.0.1/' })).rejects.toMatchObject({ name: 'InvalidRequestError' })
    expect(await client.hooks.list()).toEqual([])
    const { id } = await client.hooks.add({ url: receiver.url, filter: { family: 'notes' } })
    expect((await client.hooks.list()).map((h) => h.filter)).toEqual([{ family: 'notes' }])
    await client.hooks.remove(id)
    expect(await client.hooks.list()).toEqual([])
    await expect(client.hooks.remove(id)).rejects.toMatchObject({ name: 'HookNotFoundError' })
  })
})

describe('webhooks of a daemon killed with SIGKILL', () => {
  it('delivers every write made while the receiver failed, after a restart', async () => {
    const dir = await dataDir()
    const receiver = await startReceiver('fail')
    let daemon: DaemonProcess | undefined
    try {
      const args = ['--data-dir', dir.path, '--anchor', 'none', '--admin-did', admin.did]
      daemon = await startDaemon(args)
      let client = httpClient({ url: daemon.url, adminSigner: admin })
      await receiver.setSecret((await client.hooks.add({ url: receiver.url })).secret)
      const written = await writeDocuments(client, 6, 'crash')
      // Every delivery is in the outbox and has failed once: then kill, with all of them pending.
      await receiver.until((received) => new Set(received.map((r) => `${r.docId} ${r.tip}`)).size === written.size)
      expect((await client.hooks.list())[0]!.pending).toBe(written.size)
      await daemon.kill()
      expect(delivered(receiver.received).size).toBe(0)

      await receiver.setMode('ok')
      daemon = await startDaemon(args)
      client = httpClient({ url: daemon.url, adminSigner: admin })
      await receiver.until((received) => delivered(received).size === written.size)
      expect(delivered(receiver.received)).toEqual(written)
      expect(receiver.received.every((r) => r.verified)).toBe(true)
      await expect.poll(async () => (await client.hooks.list())[0]!.pending).toBe(0)
      expect(await daemon.stop()).toBe(0)
    } finally {
      await daemon?.kill()
      await receiver.close()
      await dir.remove()
    }
  }, 120_000)
})

describe('webhooks after writes the outbox never saw', () => {
  it('delivers at start the documents written since its last checkpoint (the gap between a durable write and its append)', async () => {
    const dir = await dataDir()
    const receiver = await startReceiver('ok')
    const store = join(dir.path, 'store')
    const outbox = join(dir.path, 'hooks')
    try {
      let node = await createNode({ doctypes: [tile()], storage: levelStorage({ path: store }), hooks: [webhooks({ path: outbox })] })
      await receiver.setSecret((await node.hooks!.add({ url: receiver.url })).secret)
      await node.stop()
      // The node writes with no hook running: as if it crashed after each durable write, before the outbox append.
      node = await createNode({ doctypes: [tile()], storage: levelStorage({ path: store }) })
      const written = await writeDocuments(node, 4, 'gap')
      await node.stop()
      node = await createNode({ doctypes: [tile()], storage: levelStorage({ path: store }), hooks: [webhooks({ path: outbox })] })
      try {
        // Recovery sends each document's current state: its latest tip.
        const latest = new Set([...written].filter((_key, i) => i % 2 === 1))
        await receiver.until((received) => delivered(received).size === latest.size)
        expect(delivered(receiver.received)).toEqual(latest)
        expect(receiver.received.every((r) => r.verified)).toBe(true)
      } finally {
        await node.stop()
      }
    } finally {
      await receiver.close()
      await dir.remove()
    }
  })
})
