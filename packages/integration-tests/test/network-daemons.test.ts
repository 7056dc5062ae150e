import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { httpClient, type KilnHttpClient } from '@kiln/http-client'
import { AnchorStatus, type DocSnapshot } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { startDaemon, type DaemonProcess } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'

// Three `kiln daemon` processes on 127.0.0.1, B and C bootstrapped to A, driven through their HTTP APIs: documents
// found by DocID, updates and anchors seen live by SSE watchers on the other daemons, and one state everywhere.

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x71) })
const daemons: DaemonProcess[] = []
const removals: Array<() => Promise<void>> = []

afterAll(async () => {
  for (const daemon of daemons.reverse()) expect(await daemon.stop()).toBe(0)
  for (const remove of removals) await remove()
})

async function daemon (bootstrap?: DaemonProcess): Promise<{ process: DaemonProcess, client: KilnHttpClient }> {
  const dir = await dataDir()
  removals.push(dir.remove)
  const process = await startDaemon(['--data-dir', dir.path, '--anchor-interval', '200', '--network', 'three-daemons', '--p2p-listen', '/ip4/127.0.0.1/tcp/0',
    ...(bootstrap === undefined ? [] : ['--bootstrap', bootstrap.addresses![0]!])])
  daemons.push(process)
  return { process, client: httpClient({ url: process.url }) }
}

/** The first state a watcher yields that `match` accepts; the watcher stays open for the next call. */
async function seen (watcher: AsyncIterableIterator<DocSnapshot>, match: (snapshot: DocSnapshot) => boolean): Promise<DocSnapshot> {
  for (;;) {
    const { value, done } = await watcher.next()
    expect(done, 'the watcher ended before the state it waited for').not.toBe(true)
    if (match(value as DocSnapshot)) return value as DocSnapshot
  }
}

describe('three Kiln daemons on one network', () => {
  it('share documents, updates and anchors, found by DocID and seen live, and end with the same state', async () => {
    const a = await daemon()
    const b = await daemon(a.process)
    await vi.waitFor(async () => { expect((await a.client.node()).peers).toHaveLength(1) }, { timeout: 15_000, interval: 50 })

    // Created on A while C is not yet there: C will never have heard of it.
    const early = await a.client.createDocument('tile', (await makeGenesis({ title: 'before C' }, {}, alice)).commit, { anchor: false })
    const c = await daemon(a.process)
    await vi.waitFor(async () => {
      expect((await a.client.node()).peers).toHaveLength(2)
      expect((await c.client.node()).peers.length).toBeGreaterThan(0)
    }, { timeout: 15_000, interval: 50 })
    expect((await c.client.load(early.id)).state.content).toEqual({ title: 'before C' })

    // A document created on A: B and C find it by DocID, and their watchers see what A writes next, anchors included.
    const created = await a.client.createDocument('tile', (await makeGenesis({ title: 'shared', n: 0 }, {}, alice)).commit, { anchor: false })
    const onB = b.client.watch(created.id)
    const onC = c.client.watch(created.id)
    expect((await seen(onB, () => true)).state.content).toEqual({ title: 'shared', n: 0 })
    expect((await seen(onC, () => true)).state.content).toEqual({ title: 'shared', n: 0 })
    const updated = await a.client.applyCommit(created.id, (await makeUpdate(created.state, { title: 'shared', n: 1 }, alice)).commit, { anchor: true })
    for (const watcher of [onB, onC]) {
      expect((await seen(watcher, (s) => (s.state.content as { n: number }).n === 1)).state.content).toEqual({ title: 'shared', n: 1 })
      // The anchor commit made on A, with its proof, verifies on B and C: the mock chain is the network's.
      await seen(watcher, (s) => s.state.anchorStatus === AnchorStatus.ANCHORED)
    }

    // An update made on B, on the document it got from A, reaches A and C.
    const onA = a.client.watch(created.id)
    const fromB = await b.client.applyCommit(created.id, (await makeUpdate((await b.client.load(created.id)).state, { title: 'from B', n: 2 }, alice)).commit, { anchor: false })
    expect(fromB.state.log.length).toBe(updated.state.log.length + 2)
    await seen(onA, (s) => (s.state.content as { n: number }).n === 2)
    await seen(onC, (s) => (s.state.content as { n: number }).n === 2)
    for (const watcher of [onA, onB, onC]) await watcher.return?.()

    // All three answer with the same state JSON.
    const answers = await Promise.all([a, b, c].map(async ({ process }) => await (await fetch(`${process.url}/api/v0/streams/${created.id.toString()}`)).json()))
    expect(answers[1]).toEqual(answers[0])
    expect(answers[2]).toEqual(answers[0])
  })
})
