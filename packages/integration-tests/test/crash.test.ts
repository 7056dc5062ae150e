import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { httpClient } from '@kiln/http-client'
import type { Commit } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import type { DocID } from '@kiln/docid'
import { describe, expect, it } from 'vitest'
import { startDaemon } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xd1) })
const UPDATES = 200

describe('a daemon killed with SIGKILL mid-write', () => {
  it('keeps every update it acknowledged', async () => {
    const dir = await dataDir()
    try {
      let daemon = await startDaemon(['--data-dir', dir.path, '--anchor', 'none'])
      let client = httpClient({ url: daemon.url })
      // One document per update, so all 200 can be in flight at once.
      const docs: Array<{ id: DocID, update: Commit, content: Record<string, unknown> }> = []
      for (let i = 0; i < UPDATES; i++) {
        const created = await client.createDocument('tile', (await makeGenesis({ i, v: 0 }, {}, alice)).commit, { anchor: false })
        const content = { i, v: 1, padding: 'x'.repeat(200) }
        docs.push({ id: created.id, update: (await makeUpdate(created.state, content, alice)).commit, content })
      }

      const acknowledged: number[] = []
      let killed = false
      const inFlight = docs.map(async (doc, i) => {
        try {
          await client.applyCommit(doc.id, doc.update, { anchor: false })
          acknowledged.push(i)
          // Kill once a quarter of the updates are acknowledged: the rest are in flight or not yet sent.
          if (acknowledged.length === UPDATES / 4 && !killed) { killed = true; await daemon.kill() }
        } catch {
          // refused or cut off by the kill: not acknowledged, so not promised
        }
      })
      await Promise.all(inFlight)
      if (!killed) await daemon.kill()
      expect(acknowledged.length).toBeGreaterThanOrEqual(UPDATES / 4)

      daemon = await startDaemon(['--data-dir', dir.path, '--anchor', 'none'])
      client = httpClient({ url: daemon.url })
      try {
        for (const i of acknowledged) {
          const { state } = await client.load(docs[i]!.id)
          expect(state.content).toEqual(docs[i]!.content)
        }
        // Unacknowledged ones are either applied whole or not at all.
        for (const [i, doc] of docs.entries()) {
          const { state } = await client.load(doc.id)
          expect([{ i, v: 0 }, doc.content]).toContainEqual(state.content)
        }
      } finally {
        expect(await daemon.stop()).toBe(0)
      }
    } finally {
      await dir.remove()
    }
  }, 120_000)
})
