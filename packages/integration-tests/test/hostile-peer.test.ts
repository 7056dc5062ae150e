import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeJWS, signRecord } from '@kiln/codec'
import { createNode, type KilnNode } from '@kiln/core'
import { makeGenesis, makeUpdate, tile } from '@kiln/doctype-tile'
import { libp2pNetwork, type Libp2pNetwork } from '@kiln/network-libp2p'
import { keyDidSigner } from '@kiln/signing'
import { levelStorage } from '@kiln/storage-level'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { mapBlockstore } from './fixtures/map-blockstore.js'

// A Kiln node on LevelDB and real libp2p, and a hostile peer that is no Kiln node: a bare libp2p network with a Map of
// blocks, publishing garbage, forged updates, oversized messages and a flood of queries on the node's topic.

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(51) })
const mallory = keyDidSigner({ seed: new Uint8Array(32).fill(52) })
const TOPIC = '/ceramic/hostile'
const loopback = (address: string): boolean => address.startsWith('/ip4/127.0.0.1/')
const cleanup: Array<() => Promise<void>> = []

afterEach(async () => { for (const stop of cleanup.splice(0).reverse()) await stop() })

describe('a Kiln node and a hostile peer', () => {
  it('refuses garbage, forged updates, oversized messages and a query flood, keeps its state, stays healthy and drops the peer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-hostile-'))
    let network!: Libp2pNetwork
    const factory = libp2pNetwork({ listen: ['/ip4/127.0.0.1/tcp/0'], network: 'hostile', keepaliveMs: 0, dialFilter: loopback, ban: { invalidMessages: 5 }, rates: { queries: { perSecond: 1, burst: 5 } } })
    const node: KilnNode = await createNode({ doctypes: [tile()], storage: levelStorage({ path: join(dir, 'store') }), network: (c) => (network = factory(c)) })
    cleanup.push(async () => { await node.stop(); await rm(dir, { recursive: true, force: true }) })

    const blocks = mapBlockstore()
    const hostile = libp2pNetwork({ listen: ['/ip4/127.0.0.1/tcp/0'], network: 'hostile', keepaliveMs: 0, dialFilter: loopback })({ blocks })
    await hostile.start()
    cleanup.push(async () => { await hostile.stop() })
    await hostile.libp2p.dial(network.libp2p.getMultiaddrs()[0]!)
    await vi.waitFor(() => { expect(network.libp2p.services.pubsub.getSubscribers(TOPIC)).toHaveLength(1) }, { timeout: 10_000, interval: 20 })

    const genesis = await makeGenesis({ owner: 'alice', balance: 10 }, {}, alice)
    const { id, state } = await node.createDocument('tile', genesis.commit)
    const before = (await node.load(id)).state

    // Forged updates, served over bitswap and announced: one signed by a stranger, one whose payload is not what the
    // controller signed.
    const tip = state.log[state.log.length - 1]!.cid
    const stranger = await signRecord({ id: id.cid, prev: tip, header: {}, data: [{ op: 'replace', path: '/owner', value: 'mallory' }] }, mallory)
    const honest = await makeUpdate(state, { owner: 'alice', balance: 11 }, alice)
    const tampered = await makeUpdate(state, { owner: 'alice', balance: 999 }, alice)
    const envelope = await encodeJWS({ ...tampered.commit.jws, signatures: honest.commit.jws.signatures })
    for (const forged of [stranger, { ...tampered, envelope }]) {
      await blocks.put(forged.envelope.cid, forged.envelope.bytes)
      await blocks.put(forged.payload.cid, forged.payload.bytes)
    }
    const pubsub = hostile.libp2p.services.pubsub
    const encoder = new TextEncoder()
    await hostile.publishTip(id.toString(), stranger.envelope.cid)
    await hostile.publishTip(id.toString(), envelope.cid)
    // Garbage and oversized messages.
    for (const data of ['not json', '{"typ":0}', '{"typ":1,"id":"x","stream":"nope"}', '{"typ":7}']) await pubsub.publish(TOPIC, encoder.encode(data))
    await pubsub.publish(TOPIC, encoder.encode(JSON.stringify({ typ: 3, ts: 1, ver: 'x'.repeat(100_000), ipfsVer: '' })))
    // A flood of queries, each a real question with its right id: over the rate, they are ignored, not answered.
    const answers = await Promise.all(Array.from({ length: 20 }, async () => await hostile.queryTips(id.toString(), { timeoutMs: 1_000 })))
    expect(answers.filter((tips) => tips.length === 0).length).toBeGreaterThan(0)

    // The node drops the peer once its invalid messages pass the threshold (5 here: the four garbage messages alone do
    // not reach it, the two forged updates core refused and reported do), and refuses it while banned.
    await vi.waitFor(() => { expect(network.info().peers).toEqual([]) }, { timeout: 15_000, interval: 50 })
    // Its state is what it was, none of the forged blocks was written, and it still serves.
    expect((await node.load(id)).state).toEqual(before)
    await expect(node.readBlock(stranger.payload.cid)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
    await expect(node.readBlock(tampered.payload.cid)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
    const next = await node.applyCommit(id, honest.commit)
    expect(next.state.content).toEqual({ owner: 'alice', balance: 11 })
  })
})
