import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import type { Block, Network, StorageWriteStats, SyncSource } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import type { CID } from 'multiformats/cid'
import { afterEach, describe, expect, it } from 'vitest'
import { register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

// What catch-up sync hands the node (`SyncSource.apply`): a peer's commits of one document with their blocks. A log that
// extends the tip is applied as one run — its signatures checked together and written in one batch — and a commit the
// peer left out is never asked of the network.

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(41) })
const mallory = keyDidSigner({ seed: new Uint8Array(32).fill(42) })
const stopping: KilnNode[] = []
afterEach(async () => { for (const node of stopping.splice(0)) await node.stop() })

/** A network that holds nothing and counts the blocks asked of it. */
function silentNetwork (): Network & { asked: number } {
  const network = {
    asked: 0,
    publishTip: async () => {},
    queryTips: async () => [],
    onTip: () => () => {},
    getBlock: async (): Promise<Uint8Array> => {
      network.asked++
      throw new Error('this network holds no blocks')
    }
  }
  return network
}

/** A node on a silent network, with its catch-up side and its storage's write counts. */
async function syncingNode (): Promise<{ node: KilnNode, source: SyncSource, network: ReturnType<typeof silentNetwork>, writes: () => StorageWriteStats }> {
  const storage = memoryStorage()
  let writes!: () => StorageWriteStats
  let source: SyncSource | undefined
  const network = silentNetwork()
  const node = await createNode({
    doctypes: [register()],
    storage: (components) => {
      const made = storage(components)
      writes = () => made.writeStats()
      return made
    },
    network: (components) => {
      source = components.sync
      return network
    }
  })
  stopping.push(node)
  if (source === undefined) throw new Error('the node gave its network no sync source')
  return { node, source, network, writes }
}

/** A document of `length` commits on a node of its own, and the blocks of each commit as a peer would send them. */
async function peerLog (length: number): Promise<{ docId: string, tips: CID[], blocks: Block[][] }> {
  const { node, source } = await syncingNode()
  const created = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { n: 0 })).commit)
  const id = created.id
  let state = created.state
  for (let n = 1; n < length; n++) state = (await node.applyCommit(id, (await registerUpdate(alice, state, { n })).commit)).state
  const tips = state.log.map((entry) => entry.cid)
  const blocks = await Promise.all(tips.map(async (cid) => await source.blocksOf(id.toString(), cid)))
  return { docId: id.toString(), tips, blocks }
}

describe('applying a peer\'s commits from catch-up sync', () => {
  it('applies a new document\'s whole log in one write, every commit verified', async () => {
    const log = await peerLog(10)
    const { node, source, writes } = await syncingNode()
    const before = writes().batches
    await source.apply(log.docId, log.tips[9]!, log.blocks.flat())
    expect(writes().batches - before).toBe(1)
    const { state } = await node.load(log.docId)
    expect(state.log.map((e) => e.cid.toString())).toEqual(log.tips.map(String))
    expect(state.content).toEqual({ n: 9 })
  })

  it('applies only what it lacks of a log that overlaps what it holds', async () => {
    const log = await peerLog(10)
    const { node, source, writes } = await syncingNode()
    await source.apply(log.docId, log.tips[4]!, log.blocks.slice(0, 5).flat())
    const before = writes().batches
    await source.apply(log.docId, log.tips[9]!, log.blocks.flat())
    expect(writes().batches - before).toBe(1)
    expect((await node.load(log.docId)).state.log.map((e) => e.cid.toString())).toEqual(log.tips.map(String))
  })

  it('writes the commits before one signed by a stranger, refuses that one with UnauthorizedSignerError, and writes nothing after it', async () => {
    const log = await peerLog(6)
    // The peer's log up to commit 3, then a commit of its own signed by mallory, then one by alice on top of it.
    const { node: forger, source: forgerSource } = await syncingNode()
    await forgerSource.apply(log.docId, log.tips[2]!, log.blocks.slice(0, 3).flat())
    const base = (await forger.load(log.docId)).state
    const forged = await registerUpdate(mallory, base, { n: 'forged' })
    const after = await registerUpdate(alice, base, { n: 'after' }, forged.envelope.cid)
    const { node, source } = await syncingNode()
    await expect(source.apply(log.docId, after.envelope.cid, [...log.blocks.slice(0, 3).flat(), forged.envelope, forged.payload, after.envelope, after.payload]))
      .rejects.toMatchObject({ name: 'UnauthorizedSignerError' })
    expect((await node.load(log.docId)).state.log.map((e) => e.cid.toString())).toEqual(log.tips.slice(0, 3).map(String))
    for (const cid of [forged.envelope.cid, after.envelope.cid]) await expect(node.readBlock(cid)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
  })

  it('refuses a log with a commit left out with BlockNotFoundError, without asking the network for it', async () => {
    const log = await peerLog(5)
    const { node, source, network } = await syncingNode()
    const gapped = [...log.blocks.slice(0, 2), ...log.blocks.slice(3)].flat()
    await expect(source.apply(log.docId, log.tips[4]!, gapped)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
    expect(network.asked).toBe(0)
    await expect(node.load(log.docId, { syncTimeoutMs: 0 })).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
  })
})
