import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { httpClient, type KilnHttpClient } from '@kiln/http-client'
import type { DocState } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import type { DocID } from '@kiln/docid'
import { describe, expect, it } from 'vitest'
import { startDaemon, type DaemonProcess } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xd2) })
const WRITERS = 32
const ROUNDS = 5
const SEED = 0x6b696c6e

interface Writer {
  id: DocID
  /** CIDs of every update the daemon answered 2xx. */
  acknowledged: string[]
}

/** Keeps updating one document until the daemon goes away; rebuilds on the tip a 409 names. */
async function write (client: KilnHttpClient, writer: Writer, onAcknowledged: () => void): Promise<void> {
  let state: DocState
  try {
    state = (await client.load(writer.id)).state
  } catch {
    return
  }
  for (;;) {
    const update = await makeUpdate(state, { n: writer.acknowledged.length, padding: 'x'.repeat(100) }, alice)
    try {
      state = (await client.applyCommit(writer.id, update.commit, { anchor: false })).state
      writer.acknowledged.push(update.envelope.cid.toString())
      onAcknowledged()
    } catch (err) {
      if ((err as Error).name !== 'ConflictingCommitError') return // the daemon is gone: this write was not promised
      try { state = (await client.load(writer.id)).state } catch { return }
    }
  }
}

/** `count` integers in [min, max] from a small linear congruential generator: the same seed gives the same cuts. */
function seededCuts (seed: number, count: number, min: number, max: number): number[] {
  let x = seed >>> 0
  return Array.from({ length: count }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    return min + (x % (max - min + 1))
  })
}

describe('a daemon killed with SIGKILL at random moments, round after round', () => {
  it('keeps every write it answered 2xx, and every document loads', async () => {
    const dir = await dataDir()
    // Where each round is cut: after this many acknowledged writes (seeded, so a failure can be replayed).
    const cuts = seededCuts(SEED, ROUNDS, 10, 150)
    let daemon: DaemonProcess | undefined
    try {
      daemon = await startDaemon(['--data-dir', dir.path, '--anchor', 'none'])
      let client = httpClient({ url: daemon.url })
      const writers: Writer[] = []
      for (let i = 0; i < WRITERS; i++) {
        const created = await client.createDocument('tile', (await makeGenesis({ writer: i }, {}, alice)).commit, { anchor: false })
        writers.push({ id: created.id, acknowledged: [] })
      }
      for (const [round, cut] of cuts.entries()) {
        const current = daemon
        let count = 0
        let killing: Promise<void> | undefined
        const onAcknowledged = (): void => { if (++count === cut) killing = current.kill() }
        await Promise.all(writers.map(async (writer) => await write(client, writer, onAcknowledged)))
        await (killing ?? current.kill())
        expect(count, `round ${round} acknowledged writes`).toBeGreaterThanOrEqual(cut)

        daemon = await startDaemon(['--data-dir', dir.path, '--anchor', 'none'])
        client = httpClient({ url: daemon.url })
        for (const writer of writers) {
          const { state } = await client.load(writer.id)
          const log = new Set(state.log.map((e) => e.cid.toString()))
          for (const cid of writer.acknowledged) expect(log.has(cid), `round ${round}: acknowledged ${cid} of ${writer.id.toString()}`).toBe(true)
        }
      }
      expect(writers.reduce((n, w) => n + w.acknowledged.length, 0)).toBeGreaterThanOrEqual(cuts.reduce((a, b) => a + b, 0))
    } finally {
      if (daemon !== undefined) expect(await daemon.stop()).toBe(0)
      await dir.remove()
    }
  }, 240_000)
})
