import { makeSchemaGenesis } from '@kiln/doctype-schema'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { networkedNodes } from './fixtures/network-nodes.js'

// Nodes on LevelDB with the real libp2p network, on 127.0.0.1: what one writes, the others hear, fetch over bitswap,
// verify and apply through their own pipelines.

const signer = keyDidSigner({ seed: new Uint8Array(32).fill(41) })
const TOPIC = '/ceramic/integration'
const nodes = networkedNodes('integration')
afterEach(nodes.stopAll)

describe('Kiln nodes on a libp2p network', () => {
  it('B and C, bootstrapped to A, load A\'s document by DocID, hear its updates, and all end with the same state', async () => {
    const a = await nodes.start()
    const address = a.network.info().addresses[0]!
    const b = await nodes.start({ bootstrap: [address] })
    const c = await nodes.start({ bootstrap: [address] })
    await vi.waitFor(() => {
      expect(a.network.libp2p.services.pubsub.getSubscribers(TOPIC)).toHaveLength(2)
      for (const n of [b, c]) expect(n.network.libp2p.services.pubsub.getSubscribers(TOPIC).length).toBeGreaterThan(0)
    }, { timeout: 10_000, interval: 20 })

    const genesis = await makeGenesis({ title: 'on the network', n: 0 }, {}, signer)
    const created = await a.node.createDocument('tile', genesis.commit)
    // Discovery: B never heard of the document; it asks the network, fetches the log and verifies it.
    const onB = await b.node.load(created.id)
    expect(onB.state.content).toEqual({ title: 'on the network', n: 0 })

    // Live: a watcher on B sees the update written on A.
    const watcher = b.node.watch(created.id)
    const update = await makeUpdate(created.state, { title: 'on the network', n: 1 }, signer)
    await a.node.applyCommit(created.id, update.commit)
    for await (const snapshot of watcher) {
      if ((snapshot.state.content as { n: number }).n === 1) break
    }

    // An update written on B, on the document it got from A, reaches A.
    const second = await makeUpdate((await b.node.load(created.id)).state, { title: 'from B', n: 2 }, signer)
    await b.node.applyCommit(created.id, second.commit)
    await vi.waitFor(async () => { expect((await a.node.load(created.id)).state.content).toEqual({ title: 'from B', n: 2 }) }, { timeout: 10_000, interval: 50 })

    // C loads it by DocID too, and all three hold the same log.
    const logs = await Promise.all([a, b, c].map(async (n) => (await n.node.load(created.id)).state.log.map((e) => e.cid.toString())))
    expect(logs[1]).toEqual(logs[0])
    expect(logs[2]).toEqual(logs[0])
  })

  it('restarted on the same data, a node keeps its PeerId, rejoins the mesh and hears updates again', async () => {
    const a = await nodes.start()
    const b = await nodes.start({ bootstrap: [a.network.info().addresses[0]!] })
    await vi.waitFor(() => { expect(a.network.libp2p.services.pubsub.getSubscribers(TOPIC)).toHaveLength(1) }, { timeout: 10_000, interval: 20 })
    const created = await a.node.createDocument('tile', (await makeGenesis({ title: 'before the restart', n: 0 }, {}, signer)).commit)
    await b.node.load(created.id)
    const peerId = b.network.info().peerId
    await nodes.stopKeepingData(b.node)
    const again = await nodes.start({ bootstrap: [a.network.info().addresses[0]!], dir: b.dir })
    expect(again.network.info().peerId).toBe(peerId)
    // Each side sees the other on the topic again, over the new connection.
    await vi.waitFor(() => {
      expect(again.network.libp2p.services.pubsub.getSubscribers(TOPIC).map(String)).toEqual([a.network.info().peerId])
      expect(a.network.libp2p.getConnections().filter((c) => c.remotePeer.toString() === peerId && c.status === 'open')).toHaveLength(1)
      expect(a.network.libp2p.services.pubsub.getSubscribers(TOPIC).map(String)).toEqual([peerId])
    }, { timeout: 10_000, interval: 20 })
    const watcher = again.node.watch(created.id)
    await a.node.applyCommit(created.id, (await makeUpdate(created.state, { title: 'after the restart', n: 1 }, signer)).commit)
    for await (const snapshot of watcher) if ((snapshot.state.content as { n: number }).n === 1) break
  })

  it('fetches the schema a document follows from the network too, and validates the document against it', async () => {
    const a = await nodes.start()
    const b = await nodes.start({ bootstrap: [a.network.info().addresses[0]!] })
    await vi.waitFor(() => { expect(a.network.libp2p.services.pubsub.getSubscribers(TOPIC)).toHaveLength(1) }, { timeout: 10_000, interval: 20 })
    const person = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }
    const published = await a.node.createDocument('schema', (await makeSchemaGenesis(person, {}, signer)).commit)
    const schemaId = published.id.atCommit(0)
    const profile = await a.node.createDocument('tile', (await makeGenesis({ name: 'Alice' }, { schema: schemaId }, signer)).commit)
    // B holds neither: loading the profile makes it fetch the schema by its CommitID, then validate.
    const onB = await b.node.load(profile.id)
    expect(onB.state.metadata.schema).toBe(schemaId.toString())
    // The schema's genesis is in B's own store now: it came over the network to validate the profile.
    await expect(b.node.readBlock(published.id.cid)).resolves.toBeInstanceOf(Uint8Array)
  })
})
