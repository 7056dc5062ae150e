import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  encodeSyncMessage, memorySyncKeyStore, streamSyncChannel, SYNC_PROTOCOL, SYNC_PROTOCOL_VERSION, syncNetworkRange, type SyncChannel, type SyncKeyStore
} from '../src/index.js'
import { startNode, type TestNode } from './fixtures.js'
import { keysOf } from './sync-fixtures.js'

// A hostile peer on the sync protocol, writing frames by hand: endless splits, a stall in the middle of a session and
// an oversized frame. The node refuses each within its bounds, counts it against the peer, and keeps serving others.

const started: TestNode[] = []
afterEach(async () => { await Promise.all(started.splice(0).map(async (n) => { await n.network.stop() })) })

async function node (store: SyncKeyStore, init: Parameters<typeof startNode>[0] = {}): Promise<TestNode> {
  const n = await startNode({ network: 'test', sync: { store, interests: [syncNetworkRange('test')], schedule: false }, ...init })
  started.push(n)
  return n
}

/** A raw sync stream from `from` to `to`, hello sent. */
async function rawSession (from: TestNode, to: TestNode): Promise<SyncChannel> {
  await from.network.libp2p.dial(to.network.libp2p.getMultiaddrs()[0]!)
  const stream = await from.network.libp2p.dialProtocol(to.network.libp2p.peerId, SYNC_PROTOCOL)
  const channel = streamSyncChannel(stream)
  await channel.send(encodeSyncMessage({ type: 'hello', version: [...SYNC_PROTOCOL_VERSION], network: 'test', interests: [syncNetworkRange('test')] }))
  return channel
}

/** Reads frames until the stream ends; resolves with how many arrived. */
async function drain (channel: SyncChannel): Promise<number> {
  let frames = 0
  try {
    for await (const frame of channel.receive()) { void frame; frames++ }
  } catch { /* an aborted stream ends the reading too */ }
  return frames
}

describe('a hostile sync peer', () => {
  it('is refused when it keeps a range differing forever, after at most maxRounds, and banned past the threshold', async () => {
    const target = await node(memorySyncKeyStore(keysOf(2_000)), { ban: { invalidMessages: 1 } })
    const hostile = await node(memorySyncKeyStore([]))
    const channel = await rawSession(hostile, target)
    const range = syncNetworkRange('test')
    const replies = drain(channel)
    // Each round claims the whole range again with a different hash: it never matches, so the node keeps splitting.
    for (let round = 0; round < 100; round++) {
      const hash = new Uint8Array(32).fill(round % 255 + 1)
      await channel.send(encodeSyncMessage({ type: 'ranges', items: [{ start: range.start, end: range.end, count: 5_000, hash }] })).catch(() => {})
    }
    expect(await replies).toBeLessThanOrEqual(66)
    await vi.waitFor(() => { expect(target.network.info().peers).toEqual([]) }, { timeout: 10_000, interval: 20 })
  })

  it('has a session that stalls midway aborted after syncInactivityMs, and serves the next peer', async () => {
    const keys = keysOf(100)
    const target = await node(memorySyncKeyStore(keys), { syncInactivityMs: 200, maxInboundSyncs: 1 })
    const staller = await node(memorySyncKeyStore([]))
    const channel = await rawSession(staller, target)
    // hello sent, then nothing: the node's answer arrives, then the stream is aborted for silence.
    await drain(channel)
    const honest = await node(memorySyncKeyStore(keys.slice(0, 50)))
    await honest.network.libp2p.dial(target.network.libp2p.getMultiaddrs()[0]!)
    const outcome = await honest.network.syncWith(target.network.libp2p.peerId.toString())
    expect(outcome.missing).toHaveLength(50)
  })

  it('has a frame announced over 1 MiB refused before it is read', async () => {
    const target = await node(memorySyncKeyStore(keysOf(10)), { ban: { invalidMessages: 1 } })
    const hostile = await node(memorySyncKeyStore([]))
    await hostile.network.libp2p.dial(target.network.libp2p.getMultiaddrs()[0]!)
    const stream = await hostile.network.libp2p.dialProtocol(target.network.libp2p.peerId, SYNC_PROTOCOL)
    const prefix = new Uint8Array(4)
    new DataView(prefix.buffer).setUint32(0, 64 * 1024 * 1024)
    stream.send(prefix)
    stream.send(new Uint8Array(1024))
    await vi.waitFor(() => { expect(target.network.info().peers).toEqual([]) }, { timeout: 10_000, interval: 20 })
  })
})
