import { mockAnchor, mockChainSeedOf } from '@kiln/anchor-mock'
import { pickWinningBranch } from '@kiln/core'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { AnchorStatus, type DocState } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { networkedNodes, type NetworkedNode } from './fixtures/network-nodes.js'

// Partition and heal with three LevelDB nodes on real libp2p: B and C are cut off from A (their dials to it refused,
// their connections closed), both sides take conflicting writes, each anchored on the network's mock chain; after the
// heal, catch-up sync brings every node the other side's branch and all three agree on the conflict rule's pick.

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x61) })
const nodes = networkedNodes('partition')
afterEach(nodes.stopAll)

/** Whether B and C may dial A: the partition the test toggles. */
let partitioned = false

/** A node on the partition network, anchoring on its mock chain, bootstrapped to `bootstrap`, dialling it only unpartitioned. */
async function partitionNode (bootstrap: string[] = []): Promise<NetworkedNode> {
  return await nodes.start({
    bootstrap,
    anchors: [mockAnchor({ anchorOnRequest: true, seed: mockChainSeedOf('partition') })],
    network: {
      reconnect: { minMs: 50, maxMs: 200 },
      syncSchedule: { intervalMs: 200, backoffMinMs: 50, backoffMaxMs: 200 },
      dialFilter: (a) => a.startsWith('/ip4/127.0.0.1/') && !(partitioned && bootstrap.some((b) => b.startsWith(a.split('/p2p/')[0]!)))
    }
  })
}

const tips = (state: DocState): string[] => state.log.map((e) => e.cid.toString())

describe('partition and heal', () => {
  it('converges every node on the conflict rule\'s pick of two anchored branches written on both sides of a partition', async () => {
    const a = await partitionNode()
    const address = a.network.info().addresses[0]!
    const b = await partitionNode([address])
    const c = await partitionNode([address])
    const created = await a.node.createDocument('tile', (await makeGenesis({ side: 'none', n: 0 }, {}, alice)).commit, { anchor: false })
    await vi.waitFor(async () => {
      for (const n of [b, c]) expect(tips((await n.node.load(created.id)).state)).toEqual(tips(created.state))
    }, { timeout: 15_000, interval: 50 })

    // The partition: B and C may not dial A, and their connections to it close.
    partitioned = true
    for (const n of [b, c]) await n.network.libp2p.hangUp(a.network.libp2p.peerId)
    await vi.waitFor(() => { expect(a.network.info().peers).toEqual([]) }, { timeout: 10_000, interval: 20 })

    // Conflicting writes, each anchored: one on A, one on C.
    const onA = await a.node.applyCommit(created.id, (await makeUpdate(created.state, { side: 'A', n: 1 }, alice)).commit, { anchor: true })
    const onC = await c.node.applyCommit(created.id, (await makeUpdate(created.state, { side: 'C', n: 1 }, alice)).commit, { anchor: true })
    await vi.waitFor(async () => {
      expect((await a.node.load(created.id)).state.anchorStatus).toBe(AnchorStatus.ANCHORED)
      expect((await c.node.load(created.id)).state.anchorStatus).toBe(AnchorStatus.ANCHORED)
    }, { timeout: 15_000, interval: 20 })
    const branchA = (await a.node.load(created.id)).state
    const branchC = (await c.node.load(created.id)).state
    expect(tips(branchA)).not.toEqual(tips(branchC))
    expect(tips(branchA)[1]).toBe(tips(onA.state)[1])
    expect(tips(branchC)[1]).toBe(tips(onC.state)[1])
    const aWins = pickWinningBranch(branchA.log, branchC.log) === 'a'
    const [winner, loser, loserNode] = aWins ? [branchA, branchC, c] : [branchC, branchA, a]

    // The heal: B and C reconnect, catch-up sync runs, and every node holds the winning branch.
    partitioned = false
    await vi.waitFor(async () => {
      for (const n of [a, b, c]) expect(tips((await n.node.load(created.id)).state)).toEqual(tips(winner))
    }, { timeout: 30_000, interval: 100 })
    // The losing branch's commits stay stored as blocks where they were written, off the log.
    await expect(loserNode.node.readBlock(loser.log[1]!.cid)).resolves.toBeInstanceOf(Uint8Array)
  })
})
