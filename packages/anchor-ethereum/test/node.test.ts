import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeRecord, type SignedBlocks } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { AnchorStatus, LogEntryType, type AnchorRecord, type DocState } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { deployAnchorContract, ethereumAnchor, ethereumVerifier } from '@kiln/anchor-ethereum'
import type { DocID } from '@kiln/docid'
import { openAnchor, recordEvents, type OpenedAnchor } from './fixtures/anchors.js'
import { startChain, type LocalChain } from './fixtures/ganache.js'
import { registerDoctype as register, registerGenesis, registerUpdate, REGISTER_CODE } from '@kiln/interface-tests'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(7) })
let chain: LocalChain
let contract: string

beforeAll(async () => {
  chain = await startChain()
  contract = await deployAnchorContract({ rpcUrl: chain.rpcUrl, privateKey: chain.keys[0]! })
})

afterAll(async () => {
  await chain?.close()
})

/** A node that verifies anchors of the local chain and anchors nothing itself. */
async function verifyingNode (): Promise<KilnNode> {
  return await createNode({
    doctypes: [register()],
    storage: memoryStorage(),
    anchors: [() => ({ verifier: ethereumVerifier({ rpcUrl: chain.rpcUrl, chainId: 'eip155:1337' }) })]
  })
}

async function blockTimestampOf (txHash: string): Promise<number> {
  const tx = await chain.request<{ blockNumber: string }>('eth_getTransactionByHash', [txHash])
  const block = await chain.request<{ timestamp: string }>('eth_getBlockByNumber', [tx.blockNumber, false])
  return Number(block.timestamp)
}

describe('a Kiln node anchoring on a local EVM', () => {
  it('anchors a new document through its own service and records the block timestamp in the log', async () => {
    const node = await createNode({
      doctypes: [register()],
      storage: memoryStorage(),
      anchors: [ethereumAnchor({ rpcUrl: chain.rpcUrl, chainId: 'eip155:1337', privateKey: chain.keys[1]!, contract, intervalMs: 50 })]
    })
    try {
      expect(node.chains).toEqual(['eip155:1337'])
      const { id } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { v: 1 })).commit)
      await expect.poll(async () => (await node.load(id)).state.anchorStatus, { timeout: 10_000 }).toBe(AnchorStatus.ANCHORED)
      const { state } = await node.load(id)
      const anchor = state.log.at(-1)!
      expect(anchor.type).toBe(LogEntryType.ANCHOR)
      const record = await decodeRecord<AnchorRecord>(await node.readBlock(anchor.cid), anchor.cid)
      const proof = await decodeRecord<{ txHash: { multihash: { digest: Uint8Array } } }>(await node.readBlock(record.proof), record.proof)
      const txHash = `0x${Buffer.from(proof.txHash.multihash.digest).toString('hex')}`
      expect(anchor.timestamp).toBe(await blockTimestampOf(txHash))
      expect(state.log[0]!.timestamp).toBe(anchor.timestamp)
    } finally {
      await node.stop()
    }
  })
})

describe('conflict resolution by real anchor times', () => {
  let id: DocID
  let genesis: SignedBlocks
  let a1: SignedBlocks
  let b: SignedBlocks[]
  let anchorA: OpenedAnchor
  let anchorB: OpenedAnchor

  beforeAll(async () => {
    // One document, two branches from its genesis: a (one update) and b (two updates, so longer).
    genesis = await registerGenesis(alice, { v: 0 }, 'conflict')
    const scratch = await verifyingNode()
    const created = await scratch.createDocument(REGISTER_CODE, genesis.commit)
    await scratch.stop()
    id = created.id
    a1 = await registerUpdate(alice, created.state, { branch: 'a' })
    const b1 = await registerUpdate(alice, created.state, { branch: 'b', i: 1 })
    b = [b1, await registerUpdate(alice, created.state, { branch: 'b', i: 2 }, b1.envelope.cid)]
    // Branch a is anchored in one block, branch b ten minutes (of chain time) later in another.
    const { service } = ethereumAnchor({ rpcUrl: chain.rpcUrl, chainId: 'eip155:1337', privateKey: chain.keys[2]!, contract, intervalMs: 3_600_000 })({})
    const events = recordEvents(service)
    await service.requestAnchor({ docId: id.toString(), genesis: genesis.envelope.cid, tip: a1.envelope.cid })
    await service.anchorPending()
    anchorA = await openAnchor(events, a1.envelope.cid)
    await chain.increaseTime(600)
    await service.requestAnchor({ docId: id.toString(), genesis: genesis.envelope.cid, tip: b[1]!.envelope.cid })
    await service.anchorPending()
    anchorB = await openAnchor(events, b[1]!.envelope.cid)
    await service.stop()
  })

  async function applyAll (steps: Array<SignedBlocks | OpenedAnchor>): Promise<DocState> {
    const node = await verifyingNode()
    try {
      await node.createDocument(REGISTER_CODE, genesis.commit, { anchor: false })
      for (const step of steps) {
        // The branches arrive as a peer's commits would: the conflict rule decides between them.
        if ('envelope' in step) await node.receiveCommit(id, step.commit)
        else await node.receiveCommit(id, step.record, { blocks: step.blocks })
      }
      return (await node.load(id)).state
    } finally {
      await node.stop()
    }
  }

  it('anchors the two branches in different blocks, a\'s earlier', async () => {
    expect(anchorA.txHash).not.toBe(anchorB.txHash)
    const [timeA, timeB] = [await blockTimestampOf(anchorA.txHash), await blockTimestampOf(anchorB.txHash)]
    expect(timeB - timeA).toBeGreaterThanOrEqual(600)
  })

  it('picks the branch anchored in the earlier block, whichever branch a node sees first', async () => {
    const timeA = await blockTimestampOf(anchorA.txHash)
    const aFirst = await applyAll([a1, anchorA, ...b, anchorB])
    const bFirst = await applyAll([...b, anchorB, a1, anchorA])
    for (const state of [aFirst, bFirst]) {
      expect(state.content).toEqual({ branch: 'a' })
      expect(state.log.map((e) => e.cid.toString())).toEqual([genesis.envelope.cid, a1.envelope.cid, anchorA.commit.cid].map(String))
      expect(state.log.at(-1)!.timestamp).toBe(timeA)
      expect(state.anchorStatus).toBe(AnchorStatus.ANCHORED)
    }
    expect(bFirst).toEqual(aFirst)
  })
})
