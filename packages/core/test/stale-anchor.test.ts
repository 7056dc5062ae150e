import { encodeRecord } from '@kiln/codec'
import { createNode, memoryStorage } from '@kiln/core'
import { AnchorStatus, LogEntryType, type AnchorEvent, type AnchorFactory, type AnchorRequest } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { describe, expect, it } from 'vitest'
import { register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x5a) })

/** An anchor plugin the test drives by hand: it keeps requests and emits what the test says, on chain `test:1`. */
function manualAnchor (): { factory: AnchorFactory, requests: AnchorRequest[], emit: (event: AnchorEvent) => void } {
  const requests: AnchorRequest[] = []
  const listeners: Array<(event: AnchorEvent) => void> = []
  const factory: AnchorFactory = () => ({
    service: {
      chainId: 'test:1',
      async requestAnchor (request) { requests.push(request); return { docId: request.docId, tip: request.tip, status: AnchorStatus.PENDING } },
      onEvent (listener) { listeners.push(listener) }
    },
    // Accepts every claim: this test is about which anchors the node applies, not about proofs.
    verifier: { namespace: 'test', async verify () { return { timestamp: 1000 } } }
  })
  return { factory, requests, emit: (event) => { for (const l of listeners) l(event) } }
}

async function anchorOf (request: AnchorRequest): Promise<AnchorEvent> {
  const proof = await encodeRecord({ chainId: 'test:1', root: request.tip, txHash: request.tip, txType: 'test' })
  const commit = await encodeRecord({ id: request.genesis, prev: request.tip, proof: proof.cid, path: '' })
  return { docId: request.docId, tip: request.tip, status: AnchorStatus.ANCHORED, anchor: { commit, blocks: [proof] } }
}

describe('anchors of superseded tips', () => {
  it('are dropped, so an update written while its predecessor was being anchored is kept, and its own anchor applies', async () => {
    const chain = manualAnchor()
    const node = await createNode({ doctypes: [register()], storage: memoryStorage(), anchors: [chain.factory] })
    try {
      const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { v: 0 })).commit)
      const updated = await node.applyCommit(id, (await registerUpdate(alice, state, { v: 1 })).commit)
      await new Promise((resolve) => setTimeout(resolve, 10))
      expect(chain.requests).toHaveLength(2)

      // The chain answers the genesis' request after the update was written: applying it would fork the log.
      chain.emit(await anchorOf(chain.requests[0]!))
      await new Promise((resolve) => setTimeout(resolve, 20))
      const after = (await node.load(id)).state
      expect(after.content).toEqual({ v: 1 })
      expect(after.log.map((e) => e.cid.toString())).toEqual(updated.state.log.map((e) => e.cid.toString()))

      chain.emit(await anchorOf(chain.requests[1]!))
      await new Promise((resolve) => setTimeout(resolve, 20))
      const anchored = (await node.load(id)).state
      expect(anchored.anchorStatus).toBe(AnchorStatus.ANCHORED)
      expect(anchored.content).toEqual({ v: 1 })
      expect(anchored.log.map((e) => e.type)).toEqual([LogEntryType.GENESIS, LogEntryType.SIGNED, LogEntryType.ANCHOR])
    } finally {
      await node.stop()
    }
  })
})
