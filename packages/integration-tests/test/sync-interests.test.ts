import type { KilnNode } from '@kiln/core'
import type { CommitID, DocID } from '@kiln/docid'
import { makeSchemaGenesis } from '@kiln/doctype-schema'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import type { DocState } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { networkedNodes, type NetworkedNode } from './fixtures/network-nodes.js'

// Interests by schema, controller and pinned documents, between LevelDB nodes on real libp2p: a node gets by catch-up
// sync only the documents its interests name, and serves only those.

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x51) })
const bob = keyDidSigner({ seed: new Uint8Array(32).fill(0x52) })
const nodes = networkedNodes('interests')
afterEach(nodes.stopAll)

type Doc = { id: DocID, state: DocState }

/** Whether `node` holds the blocks of every commit of `doc`. */
async function holds (node: KilnNode, doc: Doc): Promise<boolean> {
  for (const entry of doc.state.log) {
    try {
      await node.readBlock(entry.cid)
    } catch (err) {
      if ((err as Error).name === 'BlockNotFoundError') return false
      throw err
    }
  }
  return true
}

/** Waits until `node`'s latest session with its one peer is over and found `missing` keys. */
async function synced (node: NetworkedNode, missing: number): Promise<void> {
  await vi.waitFor(() => { expect(node.network.syncStatus()[0]).toMatchObject({ state: 'in-sync', last: { missing } }) }, { timeout: 30_000, interval: 50 })
}

async function tile (node: KilnNode, content: Record<string, unknown>, options: { schema?: CommitID }, signer = alice): Promise<Doc> {
  return await node.createDocument('tile', (await makeGenesis(content, options, signer)).commit)
}

describe('catch-up sync interests', () => {
  it('gives a fresh node interested in one schema only the documents of that schema', async () => {
    const a = await nodes.start()
    const first = await makeSchemaGenesis({ type: 'object' }, {}, alice)
    const second = await makeSchemaGenesis({ type: 'object', required: ['d'] }, {}, alice)
    const v1 = (await a.node.createDocument('schema', first.commit)).id.atCommit(0)
    const v2 = (await a.node.createDocument('schema', second.commit)).id.atCommit(0)
    const ofFirst = [await tile(a.node, { d: 1 }, { schema: v1 }), await tile(a.node, { d: 2 }, { schema: v1 })]
    const ofSecond = [await tile(a.node, { d: 3 }, { schema: v2 }), await tile(a.node, { d: 4 }, { schema: v2 })]
    const unschemed = await tile(a.node, { d: 5 }, {})
    const fresh = await nodes.start({ network: { syncSchemas: [v1.toString()] } })
    // The schemas themselves are held already (they are no tile of either schema: the interest leaves them out).
    await fresh.node.createDocument('schema', first.commit)
    await fresh.node.createDocument('schema', second.commit)
    await fresh.network.libp2p.dial(a.network.libp2p.getMultiaddrs()[0]!)
    await synced(fresh, 2)
    for (const doc of ofFirst) expect(await holds(fresh.node, doc)).toBe(true)
    for (const doc of [...ofSecond, unschemed]) expect(await holds(fresh.node, doc)).toBe(false)
  })

  it('gives a fresh node interested in one controller only its documents, matched by the genesis controller', async () => {
    const a = await nodes.start()
    const ofAlice = [await tile(a.node, { d: 1 }, {}), await tile(a.node, { d: 2 }, {})]
    const ofBob = [await tile(a.node, { d: 3 }, {}, bob), await tile(a.node, { d: 4 }, {}, bob)]
    // Alice's tile that Bob controls now is still Alice's by its genesis; Bob's that Alice controls now is not.
    const handedOver = await tile(a.node, { d: 5 }, {})
    handedOver.state = (await a.node.applyCommit(handedOver.id, (await makeUpdate(handedOver.state, null, alice, { controllers: [bob.did] })).commit)).state
    const takenOver = await tile(a.node, { d: 6 }, {}, bob)
    takenOver.state = (await a.node.applyCommit(takenOver.id, (await makeUpdate(takenOver.state, null, bob, { controllers: [alice.did] })).commit)).state
    const fresh = await nodes.start({ bootstrap: [a.network.info().addresses[0]!], network: { syncControllers: [alice.did] } })
    await synced(fresh, 4)
    for (const doc of [...ofAlice, handedOver]) expect(await holds(fresh.node, doc)).toBe(true)
    for (const doc of [...ofBob, takenOver]) expect(await holds(fresh.node, doc)).toBe(false)
  })

  it('gives a node interested in pinned documents exactly those, and a document pinned later at the next session', async () => {
    const a = await nodes.start()
    const later = await makeGenesis({ d: 1 }, {}, alice)
    const pinnedLater: Doc = await a.node.createDocument('tile', later.commit)
    pinnedLater.state = (await a.node.applyCommit(pinnedLater.id, (await makeUpdate(pinnedLater.state, { d: 2 }, alice)).commit)).state
    const listed = await tile(a.node, { d: 3 }, {})
    const other = await tile(a.node, { d: 4 }, {})
    const b = await nodes.start({ network: { syncPinned: true, syncDocs: [listed.id.toString()], syncSchedule: { intervalMs: 200 } } })
    // It holds the genesis of a document it has not pinned yet: that document is outside its interests for now.
    await b.node.createDocument('tile', later.commit, { pin: false })
    await b.network.libp2p.dial(a.network.libp2p.getMultiaddrs()[0]!)
    await synced(b, 1)
    expect(await holds(b.node, listed)).toBe(true)
    expect(await holds(b.node, pinnedLater)).toBe(false)
    expect(await holds(b.node, other)).toBe(false)
    await b.node.pin(pinnedLater.id)
    await vi.waitFor(async () => { expect(await holds(b.node, pinnedLater)).toBe(true) }, { timeout: 30_000, interval: 50 })
    expect((await b.node.load(pinnedLater.id)).state.content).toEqual({ d: 2 })
    expect(await holds(b.node, other)).toBe(false)
  })

  it('does not serve what is outside the interests of a server narrower than its peer', async () => {
    const a = await nodes.start({ network: { syncControllers: [alice.did] } })
    // The server holds Bob's documents (written through its API), but they are not among its interests.
    const ofAlice = [await tile(a.node, { d: 1 }, {}), await tile(a.node, { d: 2 }, {})]
    const ofBob = [await tile(a.node, { d: 3 }, {}, bob)]
    const fresh = await nodes.start({ bootstrap: [a.network.info().addresses[0]!] })
    await synced(fresh, 2)
    for (const doc of ofAlice) expect(await holds(fresh.node, doc)).toBe(true)
    for (const doc of ofBob) expect(await holds(fresh.node, doc)).toBe(false)
  })
})
