import type { KilnNode } from '@kiln/core'
import type { DocID } from '@kiln/docid'
import { makeSchemaGenesis } from '@kiln/doctype-schema'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import type { DocState } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { networkedNodes } from './fixtures/network-nodes.js'

// Catch-up sync between LevelDB nodes on real libp2p: what a node missed while it was away, or everything, for a node
// that starts empty, comes by reconciliation at connection, with the blocks in-band, and no pubsub message.

const signer = keyDidSigner({ seed: new Uint8Array(32).fill(0x42) })
const nodes = networkedNodes('catch-up')
afterEach(nodes.stopAll)

/** `updates` updates of each of `docs`, written on `node`. */
async function write (node: KilnNode, docs: Array<{ id: DocID, state: DocState }>, updates: number): Promise<void> {
  for (const doc of docs) {
    for (let n = 0; n < updates; n++) {
      const update = await makeUpdate(doc.state, { ...(doc.state.content as object), n: (doc.state.content as { n: number }).n + 1 }, signer)
      doc.state = (await node.applyCommit(doc.id, update.commit)).state
    }
  }
}

describe('catch-up sync', () => {
  it('brings a node that was stopped every one of the 500 writes made meanwhile, and a fresh node everything', async () => {
    const a = await nodes.start()
    const address = a.network.info().addresses[0]!
    const docs: Array<{ id: DocID, state: DocState }> = []
    for (let d = 0; d < 10; d++) docs.push(await a.node.createDocument('tile', (await makeGenesis({ doc: d, n: 0 }, {}, signer)).commit))
    const b = await nodes.start({ bootstrap: [address] })
    await vi.waitFor(async () => { for (const doc of docs) expect((await b.node.load(doc.id)).state.log).toHaveLength(1) }, { timeout: 15_000, interval: 50 })

    // B goes away; A writes 500 updates; B comes back on the same data and hears no announcement of any of them.
    await nodes.stopKeepingData(b.node)
    await write(a.node, docs, 50)
    const back = await nodes.start({ bootstrap: [address], dir: b.dir })
    await vi.waitFor(async () => {
      for (const doc of docs) expect((await back.node.load(doc.id)).state.log.map((e) => e.cid.toString())).toEqual(doc.state.log.map((e) => e.cid.toString()))
    }, { timeout: 30_000, interval: 100 })

    // A node starting empty gets everything, with the same state: the tips are in its own store before it loads
    // anything (a load of a document it did not hold would ask the network instead).
    const fresh = await nodes.start({ bootstrap: [address] })
    await vi.waitFor(async () => {
      for (const doc of docs) await fresh.node.readBlock(doc.state.log[doc.state.log.length - 1]!.cid)
    }, { timeout: 30_000, interval: 100 })
    for (const doc of docs) expect((await fresh.node.load(doc.id)).state).toEqual(doc.state)
    expect(fresh.network.syncStatus()[0]).toMatchObject({ state: 'in-sync', failures: 0 })
  })

  it('fetches a document made on a peer after the last session as soon as the peer announces it, not at the next interval', async () => {
    const a = await nodes.start()
    // The interval is far beyond the test's time: only the announcement can bring the document early.
    const b = await nodes.start({ bootstrap: [a.network.info().addresses[0]!], network: { syncSchedule: { intervalMs: 3_600_000 } } })
    await vi.waitFor(() => { expect(b.network.syncStatus()[0]).toMatchObject({ state: 'in-sync' }) }, { timeout: 15_000, interval: 20 })
    const doc = await a.node.createDocument('tile', (await makeGenesis({ made: 'after the session' }, {}, signer)).commit)
    // B holds the genesis block in its own store: brought by catch-up sync, not by a load that asks the network.
    await vi.waitFor(async () => { await b.node.readBlock(doc.state.log[0]!.cid) }, { timeout: 10_000, interval: 50 })
    expect((await b.node.load(doc.id)).state).toEqual(doc.state)
    expect(b.network.syncStatus()[0]!.last!.missing).toBe(1)
  })

  it('resumes a sync cut off midway where it stopped: what was applied stays, and only the rest is wanted again', async () => {
    const a = await nodes.start()
    const address = a.network.info().addresses[0]!
    const docs: Array<{ id: DocID, state: DocState }> = []
    for (let d = 0; d < 40; d++) docs.push(await a.node.createDocument('tile', (await makeGenesis({ doc: d, n: 0 }, {}, signer)).commit))
    await write(a.node, docs, 24)
    const total = docs.length * 25
    const fresh = await nodes.start({ bootstrap: [address], network: { reconnect: { minMs: 20, maxMs: 100 } } })
    // Cut the connection once the first fetch has applied a hundred commits.
    await vi.waitFor(() => { expect(fresh.network.syncStatus()[0]?.progress?.applied ?? 0).toBeGreaterThanOrEqual(100) }, { timeout: 30_000, interval: 2 })
    await fresh.network.libp2p.hangUp(a.network.libp2p.peerId)
    // The node dials back, and the next session finishes the job.
    await vi.waitFor(() => { expect(fresh.network.syncStatus()[0]).toMatchObject({ state: 'in-sync' }) }, { timeout: 30_000, interval: 20 })
    expect(fresh.network.syncStatus()[0]!.last!.missing).toBeLessThanOrEqual(total - 100)
    for (const doc of docs) expect((await fresh.node.load(doc.id)).state).toEqual(doc.state)
  })

  it('gives a fresh node interested in one family only the documents of that family', async () => {
    const a = await nodes.start()
    const address = a.network.info().addresses[0]!
    const profiles: Array<{ id: DocID, state: DocState }> = []
    const posts: Array<{ id: DocID, state: DocState }> = []
    for (let d = 0; d < 3; d++) profiles.push(await a.node.createDocument('tile', (await makeGenesis({ d }, { family: 'profile' }, signer)).commit))
    for (let d = 0; d < 3; d++) posts.push(await a.node.createDocument('tile', (await makeGenesis({ d }, { family: 'post' }, signer)).commit))
    const fresh = await nodes.start({ bootstrap: [address], network: { syncFamilies: ['profile'] } })
    await vi.waitFor(async () => {
      for (const doc of profiles) await fresh.node.readBlock(doc.state.log[0]!.cid)
    }, { timeout: 30_000, interval: 100 })
    // Its first session is over: it found the three profiles, and nothing of the posts came.
    await vi.waitFor(() => { expect(fresh.network.syncStatus()[0]).toMatchObject({ state: 'in-sync', last: { missing: 3 } }) }, { timeout: 30_000, interval: 50 })
    for (const doc of posts) await expect(fresh.node.readBlock(doc.state.log[0]!.cid)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
  })
})

describe('catch-up sync of documents that follow a schema', () => {
  it('brings each schema with the documents that name it, in-band, to a node interested only in their family', async () => {
    const a = await nodes.start()
    const address = a.network.info().addresses[0]!
    const person = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }
    const schemaDoc = await a.node.createDocument('schema', (await makeSchemaGenesis(person, {}, signer)).commit)
    const version = schemaDoc.id.atCommit(0)
    const profiles: Array<{ id: DocID, state: DocState }> = []
    for (let d = 0; d < 3; d++) profiles.push(await a.node.createDocument('tile', (await makeGenesis({ name: `person ${d}` }, { family: 'profile', schema: version }, signer)).commit))
    // The fresh node wants the profiles only (the schema has no family), and asks the network for nothing it lacks:
    // a schema that did not come with the profiles would fail them.
    const fresh = await nodes.start({ bootstrap: [address], network: { syncFamilies: ['profile'] }, syncTimeoutMs: 0 })
    await vi.waitFor(() => { expect(fresh.network.syncStatus()[0]).toMatchObject({ state: 'in-sync', last: { missing: 3 } }) }, { timeout: 30_000, interval: 50 })
    for (const doc of profiles) expect((await fresh.node.load(doc.id)).state).toEqual(doc.state)
    expect((await fresh.node.load(version, { syncTimeoutMs: 0 })).state.content).toEqual(person)
  })
})
