import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { BlockNotFoundError, type HeldCommit, type Network, type SyncSource } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, describe, expect, it } from 'vitest'
import { register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

// The node's side of catch-up sync: what each held commit says of its document's genesis, which interests match.

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(31) })
const bob = keyDidSigner({ seed: new Uint8Array(32).fill(32) })

/** A node whose network plugin only keeps the sync source the node gives it. */
async function nodeWithSource (storage = memoryStorage()): Promise<{ node: KilnNode, source: SyncSource }> {
  let source: SyncSource | undefined
  const network: Network = {
    publishTip: async () => {},
    queryTips: async () => [],
    getBlock: async () => { throw new BlockNotFoundError('This test network holds no blocks') },
    onTip: () => () => {},
    penalize: () => {}
  }
  const node = await createNode({ doctypes: [register()], storage, network: (components) => { source = components.sync; return network } })
  return { node, source: source! }
}

const running: KilnNode[] = []
afterEach(async () => {
  for (const node of running.splice(0)) await node.stop()
})

describe('the sync source of a node', () => {
  it("tells each commit's genesis controller, also after the controller changed", async () => {
    const storage = memoryStorage()
    const { node, source } = await nodeWithSource(storage)
    running.push(node)
    const told: HeldCommit[] = []
    source.onCommit((commit, joined) => { if (joined) told.push(commit) })
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { n: 0 })).commit)
    await node.applyCommit(id, (await registerUpdate(alice, state, { n: 1 }, undefined, { controllers: [bob.did] })).commit)
    // Told as written: the genesis with its header's controller; the update leaves it to the genesis.
    expect(told.map((c) => [c.height, c.controller])).toEqual([[0, alice.did], [1, undefined]])
    expect((await node.load(id)).state.metadata.controllers).toEqual([bob.did])
    // Listed at start: every commit with the genesis header's controller, not the head's.
    const held: HeldCommit[] = []
    for await (const commit of source.commits()) held.push(commit)
    expect(held.map((c) => [c.height, c.controller, c.schema])).toEqual([[0, alice.did, undefined], [1, alice.did, undefined]])
  })

  it('lists the pinned documents, and one unpinned leaves the list', async () => {
    const { node, source } = await nodeWithSource()
    running.push(node)
    const { id } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { n: 0 })).commit, { pin: true })
    const other = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { n: 1 })).commit, { pin: false })
    expect(await source.pinned?.()).toEqual([id.toString()])
    await node.pin(other.id)
    expect((await source.pinned?.())?.sort()).toEqual([id.toString(), other.id.toString()].sort())
    await node.unpin(id)
    expect(await source.pinned?.()).toEqual([other.id.toString()])
  })
})
