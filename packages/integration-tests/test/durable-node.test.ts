import { asAnchorProof, asAnchorRecord, decodeRecord } from '@kiln/codec'
import { mockAnchor } from '@kiln/anchor-mock'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { AnchorStatus, LogEntryType, type AnchorRecord, type DocState } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { describe, expect, it } from 'vitest'
import { dataDir, durableNode, waitForAnchor } from './fixtures/node.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xa1) })
const chainSeed = new Uint8Array(32).fill(0xc4)

describe('a durable node', () => {
  it('creates, updates, restarts on the same LevelDB and loads identical, anchored, verifiable states', async () => {
    const dir = await dataDir()
    try {
      let node = await durableNode(dir.path, chainSeed)
      const genesis = await makeGenesis({ name: 'Alice', tags: ['a'] }, {}, alice)
      // Only the last tip is sent for anchoring: no anchor can land under the updates that follow.
      const created = await node.createDocument('tile', genesis.commit, { anchor: false })
      const id = created.id
      const one = await node.applyCommit(id, (await makeUpdate(created.state, { name: 'Alice', tags: ['a', 'b'] }, alice)).commit, { anchor: false })
      const two = await node.applyCommit(id, (await makeUpdate(one.state, { name: 'Alice B.', tags: ['b'], age: 30 }, alice)).commit)
      expect(two.state.content).toEqual({ name: 'Alice B.', tags: ['b'], age: 30 })

      const anchored = await waitForAnchor(node, id)
      expect(anchored.anchorStatus).toBe(AnchorStatus.ANCHORED)
      const last = anchored.log[anchored.log.length - 1]!
      expect(last.type).toBe(LogEntryType.ANCHOR)
      expect(anchored.log.every((e) => typeof e.timestamp === 'number')).toBe(true)
      expect(anchored.anchorProof?.chainId).toBe('inmemory:12345')

      const commitIds = anchored.log.map((e) => id.atCommit(e.cid))
      const before = new Map<string, DocState>()
      for (const commitId of commitIds) before.set(commitId.toString(), (await node.load(commitId)).state)
      const logBefore = await node.loadLog(id)
      await node.stop()

      node = await durableNode(dir.path, chainSeed)
      try {
        expect((await node.load(id)).state).toEqual(anchored)
        for (const commitId of commitIds) expect((await node.load(commitId)).state).toEqual(before.get(commitId.toString()))
        expect((await node.loadLog(id)).map((l) => l.cid.toString())).toEqual(logBefore.map((l) => l.cid.toString()))
        expect((await node.load(commitIds[1]!)).state.content).toEqual({ name: 'Alice', tags: ['a', 'b'] })

        // The proof verifies again, from the blocks the node stored, with a verifier that knows only the chain seed.
        const anchorCommit = asAnchorRecord(await decodeRecord<AnchorRecord>(await node.readBlock(last.cid), last.cid))
        const proof = asAnchorProof(await decodeRecord(await node.readBlock(anchorCommit.proof), anchorCommit.proof))
        const { verifier } = mockAnchor({ seed: chainSeed })({})
        const { timestamp } = await verifier.verify({ proof, path: anchorCommit.path, prev: anchorCommit.prev }, async (cid) => await node.readBlock(cid))
        expect(timestamp).toBe(last.timestamp)
      } finally {
        await node.stop()
      }
    } finally {
      await dir.remove()
    }
  })
})
