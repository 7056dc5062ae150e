import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { AnchorStatus, LogEntryType } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { describe, expect, it } from 'vitest'
import { dataDir, durableNode, waitForAnchor } from './fixtures/node.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xb7) })
const chainSeed = new Uint8Array(32).fill(0xb8)

describe('anchor requests across a restart', () => {
  it('anchors every request left pending by a stopped node exactly once after it restarts', async () => {
    const dir = await dataDir()
    try {
      // A batch interval far longer than the test: nothing is anchored before the stop.
      let node = await durableNode(dir.path, chainSeed, 600_000)
      const ids = []
      for (let i = 0; i < 5; i++) {
        const created = await node.createDocument('tile', (await makeGenesis({ i }, {}, alice)).commit)
        if (i % 2 === 0) await node.applyCommit(created.id, (await makeUpdate(created.state, { i, updated: true }, alice)).commit)
        ids.push(created.id)
      }
      for (const id of ids) expect((await node.load(id)).state.anchorStatus).toBe(AnchorStatus.PENDING)
      await node.stop()

      node = await durableNode(dir.path, chainSeed, 50)
      try {
        for (const id of ids) {
          const state = await waitForAnchor(node, id)
          expect(state.log.filter((e) => e.type === LogEntryType.ANCHOR)).toHaveLength(1)
          expect(state.log[state.log.length - 1]!.type).toBe(LogEntryType.ANCHOR)
        }
        // Nothing more arrives later. The chain anchors requests in the order they came: once a document created
        // after all of these is anchored, a second anchor of any of them would have been reported before it.
        const later: string[] = []
        const lastGenesis = (await makeGenesis({ last: true }, {}, alice)).commit
        let lastId = ''
        // A listener hears an event once the node has acted on it: the anchor of `last` ends the wait.
        const lastAnchored = new Promise<void>((resolve) => {
          node.onAnchorEvent((event) => {
            if (event.status !== AnchorStatus.ANCHORED) return
            later.push(event.docId)
            if (event.docId === lastId) resolve()
          })
        })
        const last = await node.createDocument('tile', lastGenesis)
        lastId = last.id.toString()
        await lastAnchored
        expect(later).toEqual([lastId])
        for (const id of ids) {
          expect((await node.load(id)).state.log.filter((e) => e.type === LogEntryType.ANCHOR)).toHaveLength(1)
        }
      } finally {
        await node.stop()
      }
    } finally {
      await dir.remove()
    }
  })
})
