import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { AnchorStatus, type AnchorEvent } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { describe, expect, it } from 'vitest'
import { dataDir, durableNode, waitForAnchor } from './fixtures/node.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xa3) })

describe('anchoring through the node', () => {
  it('moves a document PENDING → PROCESSING → ANCHORED, and marks a superseded request REPLACED', async () => {
    const dir = await dataDir()
    // A batch interval long enough that the update follows the genesis before any batch starts (the REPLACED case).
    const node = await durableNode(dir.path, new Uint8Array(32).fill(0xc6), 1500)
    try {
      const events: AnchorEvent[] = []
      node.onAnchorEvent((event) => events.push(event))
      const created = await node.createDocument('tile', (await makeGenesis({ step: 0 }, {}, alice)).commit)
      expect(created.state.anchorStatus).toBe(AnchorStatus.PENDING)

      const statuses: number[] = []
      const controller = new AbortController()
      const watching = (async () => {
        for await (const { state } of node.watch(created.id, { signal: controller.signal })) {
          statuses.push(state.anchorStatus)
          if (state.anchorStatus === AnchorStatus.ANCHORED) controller.abort()
        }
      })()
      // A second write before the batch: the genesis' request is replaced by the update's.
      const updated = await node.applyCommit(created.id, (await makeUpdate(created.state, { step: 1 }, alice)).commit)
      expect(updated.state.anchorStatus).toBe(AnchorStatus.PENDING)
      const anchored = await waitForAnchor(node, created.id)
      await watching

      expect(anchored.content).toEqual({ step: 1 })
      expect(statuses[0]).toBe(AnchorStatus.PENDING)
      expect(statuses.indexOf(AnchorStatus.PROCESSING)).toBeGreaterThan(0)
      expect(statuses.indexOf(AnchorStatus.ANCHORED)).toBeGreaterThan(statuses.indexOf(AnchorStatus.PROCESSING))
      const genesisTip = created.state.log[0]!.cid
      expect(events.some((e) => e.status === AnchorStatus.REPLACED && e.tip.equals(genesisTip))).toBe(true)
      // The anchor covers the update, the one tip that was still pending.
      expect(anchored.log[anchored.log.length - 2]!.cid.equals(updated.state.log[1]!.cid)).toBe(true)
    } finally {
      await node.stop()
      await dir.remove()
    }
  })
})
