import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DocID } from '@kiln/docid'
import { encodeMessage, libp2pNetwork, MessageType, type TipAnnouncement } from '../src/index.js'
import { blockOf, dialed, startNode, type TestNode } from './fixtures.js'

const TOPIC = '/ceramic/test'
const started: TestNode[] = []

async function node (init: Parameters<typeof startNode>[0] = {}): Promise<TestNode> {
  const n = await startNode(init)
  started.push(n)
  return n
}

/** Connects b to a and waits until each sees the other on the topic. */
async function connect (a: TestNode, b: TestNode): Promise<void> {
  await b.network.libp2p.dial(a.network.libp2p.getMultiaddrs()[0]!)
  await vi.waitFor(() => {
    expect(a.network.libp2p.services.pubsub.getSubscribers(TOPIC).map(String)).toContain(b.network.libp2p.peerId.toString())
    expect(b.network.libp2p.services.pubsub.getSubscribers(TOPIC).map(String)).toContain(a.network.libp2p.peerId.toString())
  }, { timeout: 10_000, interval: 20 })
}

async function docIdOf (value: unknown): Promise<DocID> {
  return new DocID('tile', (await blockOf(value)).cid)
}

afterEach(async () => {
  await Promise.all(started.splice(0).map(async (n) => await n.network.stop()))
})

describe('libp2pNetwork', () => {
  it('installs Promise.withResolvers and a global WebSocket on import', () => {
    expect(typeof (Promise as { withResolvers?: unknown }).withResolvers).toBe('function')
    expect(typeof globalThis.WebSocket).toBe('function')
  })

  it('delivers a published tip to a connected peer, naming the publisher', async () => {
    const [a, b] = [await node(), await node()]
    await connect(a, b)
    const docId = (await docIdOf({ doc: 1 })).toString()
    const tip = (await blockOf({ tip: 1 })).cid
    const heard = new Promise<TipAnnouncement>((resolve) => b.network.onTip(resolve))
    await a.network.publishTip(docId, tip)
    const announcement = await heard
    expect(announcement.docId).toBe(docId)
    expect(announcement.tip.equals(tip)).toBe(true)
    expect(announcement.from).toBe(a.network.libp2p.peerId.toString())
  })

  it('answers a query with the tip the holder has, and resolves empty when nobody holds the document', async () => {
    const [a, b] = [await node(), await node()]
    await connect(a, b)
    const held = (await docIdOf({ doc: 'held' })).toString()
    const tip = (await blockOf({ tip: 'held' })).cid
    a.tips.set(held, tip)
    const tips = await b.network.queryTips(held, { timeoutMs: 5_000 })
    expect(tips.map(String)).toEqual([tip.toString()])
    const unknown = (await docIdOf({ doc: 'nobody' })).toString()
    expect(await b.network.queryTips(unknown, { timeoutMs: 300 })).toEqual([])
  })

  it('fetches a block another node holds over bitswap, and refuses an unknown one when its signal fires', async () => {
    const [a, b] = [await node(), await node()]
    await connect(a, b)
    const block = await blockOf({ hello: 'bitswap' })
    await a.blocks.put(block.cid, block.bytes)
    expect(await b.network.getBlock(block.cid)).toEqual(block.bytes)
    // The fetched block is not written to b's storage: core writes it with the commit that needs it.
    expect(b.blocks.size()).toBe(0)
    const missing = await blockOf({ missing: true })
    await expect(b.network.getBlock(missing.cid, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('keeps its PeerId across restarts when given a key file, and refuses a corrupt key file by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-peer-key-'))
    try {
      const path = join(dir, 'peer.key')
      const first = await node({ peerKeyPath: path })
      const id = first.network.libp2p.peerId.toString()
      await first.network.stop()
      const second = await node({ peerKeyPath: path })
      expect(second.network.libp2p.peerId.toString()).toBe(id)
      const corrupt = join(dir, 'corrupt.key')
      await writeFile(corrupt, Uint8Array.of(1, 2, 3))
      const network = libp2pNetwork({ listen: ['/ip4/127.0.0.1/tcp/0'], peerKeyPath: corrupt, keepaliveMs: 0 })({ blocks: first.blocks })
      await expect(network.start()).rejects.toMatchObject({ name: 'StorageError' })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('reconnects to a bootstrap peer that went away, once it is back', async () => {
    const a = await node()
    const address = a.network.libp2p.getMultiaddrs()[0]!.toString()
    const b = await node({ bootstrap: [address], reconnect: { minMs: 50, maxMs: 200 } })
    await vi.waitFor(() => { expect(b.network.info().peers.map((p) => p.peerId)).toContain(a.network.libp2p.peerId.toString()) }, { timeout: 10_000, interval: 20 })
    await b.network.libp2p.hangUp(a.network.libp2p.peerId)
    await vi.waitFor(() => { expect(b.network.info().peers.map((p) => p.peerId)).toContain(a.network.libp2p.peerId.toString()) }, { timeout: 10_000, interval: 20 })
  })

  it('drops a peer that keeps sending garbage, and delivers none of it', async () => {
    const [a, b] = [await node({ ban: { invalidMessages: 3 } }), await node()]
    await connect(a, b)
    const heard: TipAnnouncement[] = []
    a.network.onTip((t) => heard.push(t))
    const pubsub = b.network.libp2p.services.pubsub
    const garbage = [new TextEncoder().encode('not json'), new TextEncoder().encode('{"typ":0,"stream":"kfoo","tip":"bar"}'), Uint8Array.of(0xff, 0xfe), new TextEncoder().encode('{"typ":9}')]
    for (const data of garbage) await pubsub.publish(TOPIC, data)
    const peersOfA = (): string[] => a.network.info().peers.map((p) => p.peerId)
    await vi.waitFor(() => { expect(peersOfA()).toEqual([]) }, { timeout: 10_000, interval: 20 })
    expect(heard).toEqual([])
    // Refused while banned: b cannot come back, whatever its dial says on its side.
    await b.network.libp2p.dial(a.network.libp2p.getMultiaddrs()[0]!).then(() => {}, () => {})
    await vi.waitFor(() => { expect(peersOfA()).toEqual([]) }, { timeout: 10_000, interval: 20 })
  })

  it('ignores a peer over its query rate', async () => {
    const [a, b] = [await node({ rates: { queries: { perSecond: 0, burst: 2 } } }), await node()]
    await connect(a, b)
    const held = (await docIdOf({ doc: 'rate' })).toString()
    a.tips.set(held, (await blockOf({ tip: 'rate' })).cid)
    expect(await b.network.queryTips(held, { timeoutMs: 5_000 })).toHaveLength(1)
    expect(await b.network.queryTips(held, { timeoutMs: 5_000 })).toHaveLength(1)
    expect(await b.network.queryTips(held, { timeoutMs: 500 })).toEqual([])
  })

  it('encodes what it publishes as Ceramic JSON', async () => {
    const tip = (await blockOf({ tip: 2 })).cid
    const stream = (await docIdOf({ doc: 2 })).toString()
    expect(JSON.parse(new TextDecoder().decode(encodeMessage({ typ: MessageType.UPDATE, stream, tip })))).toEqual({ typ: 0, stream, tip: tip.toString() })
  })

  it('dials nothing but the loopback addresses it is given, with no public bootstrap list, router or relay', async () => {
    dialed.length = 0
    const a = await node()
    const b = await node({ bootstrap: [a.network.libp2p.getMultiaddrs()[0]!.toString()] })
    await vi.waitFor(() => { expect(b.network.info().peers).toHaveLength(1) }, { timeout: 10_000, interval: 20 })
    const block = await blockOf({ loopback: true })
    await a.blocks.put(block.cid, block.bytes)
    expect(await b.network.getBlock(block.cid)).toEqual(block.bytes)
    expect(dialed.length).toBeGreaterThan(0)
    expect(dialed.filter((address) => !/^\/ip4\/127\./.test(address))).toEqual([])
  })
})
