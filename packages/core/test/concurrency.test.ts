import { createNode, type KilnNode } from '@kiln/core'
import { AnchorStatus, type DocState } from '@kiln/interface'
import type { DocID } from '@kiln/docid'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { anchorOf, manualAnchor } from './fixtures/manual-anchor.js'
import { observedStorage } from './fixtures/observed-storage.js'
import { cidOf, register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x41) })
const nodes: KilnNode[] = []
afterEach(async () => { for (const node of nodes.splice(0)) await node.stop() })

/** A writer that keeps updating its document, rebuilding on the tip named by each refusal, until `count` are in. */
async function writer (node: KilnNode, id: DocID, label: string, count: number): Promise<string[]> {
  const acknowledged: string[] = []
  let state = (await node.load(id)).state
  while (acknowledged.length < count) {
    const update = await registerUpdate(alice, state, { label, n: acknowledged.length })
    try {
      state = (await node.applyCommit(id, update.commit)).state
      acknowledged.push(cidOf(update).toString())
    } catch (err) {
      if ((err as Error).name !== 'ConflictingCommitError') throw err
      state = (await node.load(id)).state
    }
  }
  return acknowledged
}

describe('a node under concurrent writes', () => {
  it('keeps every acknowledged write of many writers to one document, while anchors land mid-write', async () => {
    const chain = manualAnchor()
    const node = await createNode({ doctypes: [register()], storage: observedStorage().factory, anchors: [chain.factory] })
    nodes.push(node)
    const { id } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    let anchoring = true
    // The chain answers every request as soon as it arrives: anchors race the writers' next updates.
    const anchorer = (async () => {
      let answered = 0
      while (anchoring || answered < chain.requests.length) {
        if (answered < chain.requests.length) chain.emit(await anchorOf(chain.requests[answered++]!))
        else await new Promise<void>((resolve) => { setImmediate(resolve) }) // timing: yields to the writers
      }
    })()
    const written = await Promise.all(['a', 'b', 'c', 'd'].map(async (label) => await writer(node, id, label, 10)))
    anchoring = false
    await anchorer
    const log = (await node.load(id)).state.log.map((e) => e.cid.toString())
    for (const cid of written.flat()) expect(log).toContain(cid)
  })

  it('writes to many documents at once, each with its own order intact', async () => {
    const node = await createNode({ doctypes: [register()], storage: observedStorage().factory })
    nodes.push(node)
    const ids = await Promise.all(Array.from({ length: 12 }, async (_, i) => (await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { i })).commit)).id))
    const written = await Promise.all(ids.map(async (id, i) => await writer(node, id, `doc${i}`, 8)))
    for (const [i, id] of ids.entries()) {
      const { state } = await node.load(id)
      expect(state.log.slice(1).map((e) => e.cid.toString())).toEqual(written[i])
      expect(state.content).toEqual({ label: `doc${i}`, n: 7 })
    }
  })

  it('never evicts a pinned document, nor brings back one gc removed, with pin, unpin and gc interleaved', async () => {
    const node = await createNode({ doctypes: [register()], storage: observedStorage().factory })
    nodes.push(node)
    const docs = await Promise.all(Array.from({ length: 20 }, async (_, i) => await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { i })).commit, { pin: false })))
    const pinned = docs.filter((_, i) => i % 2 === 0)
    const [evicted] = await Promise.all([
      node.gc(),
      ...pinned.map(async ({ id }) => await node.pin(id).catch((err: Error) => { expect(err.name).toBe('DocumentNotFoundError') })),
      ...docs.map(async ({ id }) => await node.load(id).catch(() => undefined))
    ])
    const survivors: DocState[] = []
    for (const { id } of docs) {
      const loaded = await node.load(id).catch((err: Error) => { expect(err.name).toBe('DocumentNotFoundError'); return undefined })
      if (loaded !== undefined) survivors.push(loaded.state)
      // A pinned document is never evicted; an unpinned survivor is one gc saw pinned (it raced a pin).
      if (await node.isPinned(id)) expect(loaded).toBeDefined()
      else expect(loaded).toBeUndefined()
    }
    expect(survivors.length + evicted).toBe(20)
  })

  it('stops during writes: every acknowledged write survives a restart, every other one was refused by name', async () => {
    const observed = observedStorage()
    const node = await createNode({ doctypes: [register()], storage: observed.factory })
    const docs = await Promise.all(Array.from({ length: 10 }, async (_, i) => await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { i })).commit)))
    const updates = await Promise.all(docs.map(async ({ state }, i) => await registerUpdate(alice, state, { i, after: true })))
    const writes = docs.map(async ({ id }, i) => await node.applyCommit(id, updates[i]!.commit))
    await vi.waitFor(() => { expect(observed.commits.length).toBeGreaterThan(1) })
    const stopping = node.stop()
    const late = node.applyCommit(docs[0]!.id, updates[0]!.commit)
    await expect(late).rejects.toMatchObject({ name: 'NodeStoppedError' })
    const results = await Promise.allSettled(writes)
    await stopping
    const again = await createNode({ doctypes: [register()], storage: observed.factory })
    nodes.push(again)
    for (const [i, result] of results.entries()) {
      const { state } = await again.load(docs[i]!.id)
      if (result.status === 'fulfilled') expect(state.content).toEqual({ i, after: true })
      else expect(result.reason).toMatchObject({ name: 'NodeStoppedError' })
    }
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true)
  })

  it('resumes a pending anchor request with the tip of the document as it is under its lock', async () => {
    const observed = observedStorage()
    const first = manualAnchor()
    const node = await createNode({ doctypes: [register()], storage: observed.factory, anchors: [first.factory] })
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const updated = await node.applyCommit(id, (await registerUpdate(alice, state, { v: 1 })).commit)
    await node.stop()
    const second = manualAnchor()
    const again = await createNode({ doctypes: [register()], storage: observed.factory, anchors: [second.factory] })
    nodes.push(again)
    await vi.waitFor(() => { expect(second.requests).toHaveLength(1) })
    expect(second.requests[0]!.tip.equals(updated.state.log[1]!.cid)).toBe(true)
    expect((await again.load(id)).state.anchorStatus).toBe(AnchorStatus.PENDING)
  })
})
