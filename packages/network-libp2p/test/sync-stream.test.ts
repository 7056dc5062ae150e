import { afterEach, describe, expect, it, vi } from 'vitest'
import { memorySyncKeyStore, syncNetworkRange, type SyncKeyStore, type SyncOutcome } from '../src/index.js'
import { startNode, type TestNode } from './fixtures.js'
import { hexOf, keysOf } from './sync-fixtures.js'

// Catch-up sync's sessions over real libp2p streams on 127.0.0.1 (`/kiln/sync/1.0.0`, length-prefixed frames).

const started: TestNode[] = []
afterEach(async () => { await Promise.all(started.splice(0).map(async (n) => { await n.network.stop() })) })

/** A node that syncs only when asked (`syncWith`), so that a test decides which sessions run. */
async function syncNode (store: SyncKeyStore): Promise<TestNode> {
  const n = await startNode({ network: 'test', sync: { store, interests: [syncNetworkRange('test')], schedule: false } })
  started.push(n)
  return n
}

function storeOf (keys: Uint8Array[]): SyncKeyStore {
  const store = memorySyncKeyStore()
  for (const key of keys) store.insert(key)
  return store
}

describe('catch-up sync over libp2p streams', () => {
  it('finds the keys each side lacks between 10,000 and 9,990 keys, over a real stream', async () => {
    const keys = keysOf(10_000)
    const dropped = new Set([3, 1_000, 1_001, 2_500, 4_999, 5_000, 7_777, 8_123, 9_000, 9_999])
    const a = await syncNode(storeOf(keys))
    const b = await syncNode(storeOf(keys.filter((_, i) => !dropped.has(i))))
    await b.network.libp2p.dial(a.network.libp2p.getMultiaddrs()[0]!)
    const outcome = await b.network.syncWith(a.network.libp2p.peerId.toString())
    expect(outcome.missing.map(hexOf).sort()).toEqual([...dropped].map((i) => hexOf(keys[i]!)).sort())
    expect(outcome.peerMissing).toEqual([])
    expect(outcome.rounds).toBeLessThanOrEqual(20)
  })

  it('settles equal nodes in one round', async () => {
    const keys = keysOf(1_000)
    const a = await syncNode(storeOf(keys))
    const b = await syncNode(storeOf(keys))
    await b.network.libp2p.dial(a.network.libp2p.getMultiaddrs()[0]!)
    const outcome = await b.network.syncWith(a.network.libp2p.peerId.toString())
    expect({ rounds: outcome.rounds, missing: outcome.missing.length, peerMissing: outcome.peerMissing.length }).toEqual({ rounds: 1, missing: 0, peerMissing: 0 })
  })

  it('refuses sessions past maxInboundSyncs at once, and answers again once they are done', async () => {
    const keys = keysOf(2_000)
    const a = await startNode({ network: 'test', sync: { store: storeOf(keys), interests: [syncNetworkRange('test')], schedule: false }, maxInboundSyncs: 1 })
    started.push(a)
    const peers = [await syncNode(storeOf(keys.slice(0, 1_000))), await syncNode(storeOf(keys.slice(1_000)))]
    for (const p of peers) await p.network.libp2p.dial(a.network.libp2p.getMultiaddrs()[0]!)
    const results = await Promise.allSettled(peers.map(async (p) => await p.network.syncWith(a.network.libp2p.peerId.toString())))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const refused = results.findIndex((r) => r.status === 'rejected')
    await vi.waitFor(async () => {
      const again = await peers[refused]!.network.syncWith(a.network.libp2p.peerId.toString())
      expect(again.missing).toHaveLength(1_000)
    }, { timeout: 10_000, interval: 50 })
  })

  it('syncs with a peer as soon as it connects, then again on its interval, and says so in info()', async () => {
    const keys = keysOf(300)
    const aStore = storeOf(keys.slice(0, 200))
    const a = await syncNode(aStore)
    const outcomes: SyncOutcome[] = []
    let heard: (() => void) | undefined
    const b = await startNode({
      network: 'test',
      sync: {
        store: storeOf(keys.slice(100, 300)),
        interests: [syncNetworkRange('test')],
        schedule: { intervalMs: 50 },
        onSynced: (_peer, outcome) => { outcomes.push(outcome); heard?.() }
      }
    })
    started.push(b)
    const next = async (): Promise<SyncOutcome> => await new Promise((resolve) => { heard = () => { resolve(outcomes[outcomes.length - 1]!) } })
    const first = next()
    await b.network.libp2p.dial(a.network.libp2p.getMultiaddrs()[0]!)
    expect((await first).missing.map(hexOf).sort()).toEqual(keys.slice(0, 100).map(hexOf).sort())
    // A gains keys: the next periodic session finds them too, with nobody asking.
    for (const key of keysOf(400).slice(300)) aStore.insert(key)
    await vi.waitFor(() => { expect(outcomes[outcomes.length - 1]!.missing).toHaveLength(200) }, { timeout: 10_000, interval: 20 })
    const [peer] = b.network.info().peers
    expect(peer).toMatchObject({ peerId: a.network.libp2p.peerId.toString(), sync: { failures: 0 } })
  })

  it('backs off from a peer whose sessions fail, counting the failures', async () => {
    const keys = keysOf(50)
    const refusing = await startNode({ network: 'test', sync: { store: storeOf(keys), interests: [syncNetworkRange('test')] }, maxInboundSyncs: 0 })
    started.push(refusing)
    const b = await startNode({ network: 'test', sync: { store: storeOf([]), interests: [syncNetworkRange('test')], schedule: { backoffMinMs: 20, backoffMaxMs: 80 } } })
    started.push(b)
    await b.network.libp2p.dial(refusing.network.libp2p.getMultiaddrs()[0]!)
    await vi.waitFor(() => { expect(b.network.syncStatus()[0]).toMatchObject({ state: 'backing-off', failures: expect.any(Number) }) }, { timeout: 10_000, interval: 10 })
    await vi.waitFor(() => { expect(b.network.syncStatus()[0]!.failures).toBeGreaterThanOrEqual(3) }, { timeout: 10_000, interval: 10 })
  })
})
