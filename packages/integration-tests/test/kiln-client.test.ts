import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { httpClient } from '@kiln/http-client'
import { AnchorStatus } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDaemon, type DaemonProcess } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xe1) })

describe('@kiln/http-client against a Kiln daemon', () => {
  let daemon: DaemonProcess
  let remove: () => Promise<void>

  beforeAll(async () => {
    const dir = await dataDir()
    remove = dir.remove
    daemon = await startDaemon(['--data-dir', dir.path, '--anchor-interval', '300'])
  })
  afterAll(async () => {
    expect(await daemon?.stop()).toBe(0)
    await remove?.()
  })

  it('creates, updates, loads from a second client and at the genesis, lists commits and sees the anchor pushed', async () => {
    const writer = httpClient({ url: daemon.url })
    // No anchor request for the genesis: the update, written next, is the tip that gets anchored (see ceramic-client).
    const created = await writer.createDocument('tile', (await makeGenesis({ title: 'draft' }, {}, alice)).commit, { anchor: false })
    const updated = await writer.applyCommit(created.id, (await makeUpdate(created.state, { title: 'final', tags: ['x'] }, alice)).commit)
    expect(updated.state.content).toEqual({ title: 'final', tags: ['x'] })

    const reader = httpClient({ url: daemon.url })
    expect((await reader.load(created.id)).state.content).toEqual({ title: 'final', tags: ['x'] })
    expect((await reader.load(created.id.atCommit(0))).state.content).toEqual({ title: 'draft' })
    const log = await reader.loadLog(created.id)
    // The anchor may land at any moment: the log is the updated one, possibly followed by its anchor commit.
    expect(log.slice(0, 2).map((item) => item.cid.toString())).toEqual(updated.state.log.map((e) => e.cid.toString()))
    expect(log.length).toBeLessThanOrEqual(3)

    const controller = new AbortController()
    let anchored
    for await (const { state } of reader.watch(created.id, { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(15_000)]) })) {
      if (state.anchorStatus === AnchorStatus.ANCHORED) { anchored = state; controller.abort() }
    }
    expect(anchored?.anchorProof?.chainId).toBe('inmemory:12345')
    expect(await reader.chains()).toEqual(['inmemory:12345'])
  })
})
