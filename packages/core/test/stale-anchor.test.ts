import { createNode, memoryStorage } from '@kiln/core'
import { AnchorStatus, LogEntryType } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { describe, expect, it, vi } from 'vitest'
import { anchorOf, manualAnchor } from './fixtures/manual-anchor.js'
import { register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x5a) })

describe('anchors of superseded tips', () => {
  it('are dropped, so an update written while its predecessor was being anchored is kept, and its own anchor applies', async () => {
    const chain = manualAnchor()
    const node = await createNode({ doctypes: [register()], storage: memoryStorage(), anchors: [chain.factory] })
    try {
      const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { v: 0 })).commit)
      const updated = await node.applyCommit(id, (await registerUpdate(alice, state, { v: 1 })).commit)
      await vi.waitFor(() => { expect(chain.requests).toHaveLength(2) })

      // The chain answers the genesis' request after the update was written: applying it would fork the log.
      // A listener sees an anchor event once the node has acted on it.
      const handled = (): Promise<void> => new Promise((resolve) => { const off = node.onAnchorEvent(() => { off(); resolve() }) })
      let done = handled()
      chain.emit(await anchorOf(chain.requests[0]!))
      await done
      const after = (await node.load(id)).state
      expect(after.content).toEqual({ v: 1 })
      expect(after.log.map((e) => e.cid.toString())).toEqual(updated.state.log.map((e) => e.cid.toString()))

      done = handled()
      chain.emit(await anchorOf(chain.requests[1]!))
      await done
      const anchored = (await node.load(id)).state
      expect(anchored.anchorStatus).toBe(AnchorStatus.ANCHORED)
      expect(anchored.content).toEqual({ v: 1 })
      expect(anchored.log.map((e) => e.type)).toEqual([LogEntryType.GENESIS, LogEntryType.SIGNED, LogEntryType.ANCHOR])
    } finally {
      await node.stop()
    }
  })
})
