import { createNode, type KilnNode } from '@kiln/core'
import { AnchorStatus, LogEntryType, type DocState } from '@kiln/interface'
import { createVerifier, keyDidSigner } from '@kiln/signing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { anchorOf, manualAnchor } from './fixtures/manual-anchor.js'
import { observedStorage, type ObservedStorage } from './fixtures/observed-storage.js'
import { cidOf, register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x31) })

const nodes: KilnNode[] = []
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.stop()
})

async function nodeOn (observed: ObservedStorage, extra: Partial<Parameters<typeof createNode>[0]> = {}): Promise<KilnNode> {
  const node = await createNode({ doctypes: [register()], storage: observed.factory, ...extra })
  nodes.push(node)
  return node
}

/** Applies `count` updates in turn; returns the last state. */
async function grow (node: KilnNode, id: Parameters<KilnNode['applyCommit']>[0], state: DocState, count: number): Promise<DocState> {
  for (let i = 0; i < count; i++) state = (await node.applyCommit(id, (await registerUpdate(alice, state, { n: state.log.length })).commit)).state
  return state
}

describe('a local commit that loses the conflict rule', () => {
  it('is refused with ConflictingCommitError naming the winning tip, and applies once rebuilt on that tip', async () => {
    const observed = observedStorage()
    const chain = manualAnchor()
    const node = await nodeOn(observed, { anchors: [chain.factory] })
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { v: 0 })).commit)
    // A client builds an update on tip T while the anchor of T lands first.
    const stale = await registerUpdate(alice, state, { v: 1 })
    await vi.waitFor(() => { expect(chain.requests).toHaveLength(1) })
    const anchored = new Promise<void>((resolve) => { const off = node.onAnchorEvent(() => { off(); resolve() }) })
    chain.emit(await anchorOf(chain.requests[0]!))
    await anchored
    const winner = (await node.load(id)).state
    expect(winner.log.map((e) => e.type)).toEqual([LogEntryType.GENESIS, LogEntryType.ANCHOR])

    const writtenBefore = observed.storage.writeStats().bytesWritten
    const err = await node.applyCommit(id, stale.commit).then(() => undefined, (e: unknown) => e)
    expect(err).toMatchObject({ name: 'ConflictingCommitError', details: { docId: id.toString(), commit: cidOf(stale).toString(), tip: winner.log[1]!.cid.toString() } })
    expect(observed.storage.writeStats().bytesWritten).toBe(writtenBefore)
    expect((await node.load(id)).state).toEqual(winner)

    const rebuilt = await registerUpdate(alice, winner, { v: 1 })
    const applied = await node.applyCommit(id, rebuilt.commit)
    expect(applied.state.content).toEqual({ v: 1 })
    expect((await node.load(id)).state.log.map((e) => e.cid.toString())).toContain(cidOf(rebuilt).toString())
  })

  it('is refused when another local commit on the same tip was applied first, and only that one is in the document', async () => {
    const node = await nodeOn(observedStorage())
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const rivals = await Promise.all(Array.from({ length: 16 }, async (_, i) => await registerUpdate(alice, state, { rival: i })))
    const results = await Promise.allSettled(rivals.map(async (r) => await node.applyCommit(id, r.commit)))
    const accepted = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []))
    expect(accepted).toHaveLength(1)
    expect(refused).toHaveLength(15)
    for (const reason of refused) expect(reason.name).toBe('ConflictingCommitError')
    const final = (await node.load(id)).state
    expect(final.content).toEqual({ rival: accepted[0] })
    expect(final.log).toHaveLength(2)
  })
})

describe('group commit', () => {
  it('writes concurrent commits to many documents in one synced batch, and acknowledges none before it is written', async () => {
    const observed = observedStorage()
    // Verified on this thread, so all twenty reach the writer while the first batch is held, whatever the machine's load.
    const node = await nodeOn(observed, { verifier: createVerifier() })
    const geneses = await Promise.all(Array.from({ length: 20 }, async (_, i) => await registerGenesis(alice, { i })))
    const release = observed.hold()
    let acknowledged = 0
    const writes = geneses.map(async (g) => { const r = await node.createDocument(REGISTER_CODE, g.commit); acknowledged++; return r })
    // The first batch is held; the others queue behind it.
    await vi.waitFor(() => { expect(observed.commits.length).toBeGreaterThan(0) })
    expect(acknowledged).toBe(0)
    release()
    await Promise.all(writes)
    expect(acknowledged).toBe(20)
    expect(observed.commits.length).toBeLessThanOrEqual(2)
    expect(observed.commits.every((c) => c.sync)).toBe(true)
  })

  it('does not sync with relaxed durability', async () => {
    const observed = observedStorage()
    const node = await nodeOn(observed, { durability: 'relaxed' })
    await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    expect(observed.commits.length).toBeGreaterThan(0)
    expect(observed.commits.some((c) => c.sync)).toBe(false)
  })

  it('refuses an unknown durability by name', async () => {
    await expect(createNode({ doctypes: [register()], storage: observedStorage().factory, durability: 'sometimes' as never }))
      .rejects.toThrow(/strict' or 'relaxed/)
  })

  it('acknowledges nothing of a batch whose write failed: every write in it rejects, and nothing changes', async () => {
    const observed = observedStorage()
    const node = await nodeOn(observed)
    const docs = await Promise.all(Array.from({ length: 8 }, async (_, i) => await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { i })).commit)))
    const updates = await Promise.all(docs.map(async ({ state }, i) => await registerUpdate(alice, state, { i, updated: true })))
    // What each document's watcher hears.
    const heard = docs.map(() => [] as unknown[])
    const controller = new AbortController()
    const watching = docs.map(async ({ id }, i) => { for await (const s of node.watch(id, { signal: controller.signal })) heard[i]!.push(s.state.content) })
    try {
      const release = observed.hold()
      observed.failNext(1)
      const results = Promise.allSettled(docs.map(async ({ id }, i) => await node.applyCommit(id, updates[i]!.commit)))
      await vi.waitFor(() => { expect(observed.commits.length).toBeGreaterThan(0) })
      release()
      const settled = await results
      const failed = settled.filter((r) => r.status === 'rejected')
      expect(failed.length).toBeGreaterThan(0)
      for (const r of failed) expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'StorageError' })
      for (const [i, r] of settled.entries()) {
        const { state } = await node.load(docs[i]!.id)
        // Applied, cached and told exactly when acknowledged.
        expect(state.content).toEqual(r.status === 'fulfilled' ? { i, updated: true } : { i })
        expect(heard[i]).toEqual(r.status === 'fulfilled' ? [{ i, updated: true }] : [])
      }
    } finally {
      controller.abort()
      await Promise.all(watching)
    }
  })
})

describe('write cost and loads at a commit', () => {
  it('writes the same number of bytes for an update at log length 10 and at log length 1,034', async () => {
    const observed = observedStorage()
    const node = await nodeOn(observed)
    const created = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const id = created.id
    let state = created.state
    const bytesOfNext = async (): Promise<number> => {
      const before = observed.storage.writeStats().bytesWritten
      state = (await node.applyCommit(id, (await registerUpdate(alice, state, { n: 1 })).commit)).state
      return observed.storage.writeStats().bytesWritten - before
    }
    // Positions with the same remainder modulo the checkpoint interval (32), so both or neither write a checkpoint.
    state = await grow(node, id, state, 8)
    expect(state.log).toHaveLength(9)
    const early = await bytesOfNext()
    state = await grow(node, id, state, 1023)
    expect(state.log).toHaveLength(1033)
    const late = await bytesOfNext()
    expect(late).toBe(early)
  })

  it('loads the state at an old commit by replaying from the nearest checkpoint, not from the genesis', async () => {
    const observed = observedStorage()
    const node = await nodeOn(observed)
    const created = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const id = created.id
    let state = created.state
    state = await grow(node, id, state, 300)
    const target = state.log[250]!.cid
    const reads = observed.blockReads()
    const at = (await node.load(id.atCommit(target))).state
    expect(at.content).toEqual({ n: 250 })
    expect(at.log).toHaveLength(251)
    expect(at.log[250]!.cid.equals(target)).toBe(true)
    // 250 is 26 past the checkpoint at 224: two blocks (envelope and payload) per replayed commit.
    expect(observed.blockReads() - reads).toBeLessThanOrEqual(2 * 26)
  })

  it('keeps a losing branch from elsewhere off the log, loadable at its CommitID', async () => {
    const node = await nodeOn(observedStorage())
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const main = await grow(node, id, state, 40)
    const side = await registerUpdate(alice, state, { side: true })
    // Refused as a local write ...
    await expect(node.applyCommit(id, side.commit)).rejects.toMatchObject({ name: 'ConflictingCommitError' })
    // ... kept off the log when it arrives as an import.
    const { encodeCar, encodeRecord } = await import('@kiln/codec')
    const { EXPORT_FORMAT } = await import('@kiln/core')
    const manifest = await encodeRecord({ format: EXPORT_FORMAT, documents: [{ docId: id.toString(), type: id.type, log: [main.log[0]!.cid, cidOf(side)], anchors: {} }] })
    const genesisBlocks = await node.loadLog(id)
    expect(genesisBlocks.length).toBe(41)
    const blocks = [manifest, side.envelope, side.payload]
    for (const cid of [main.log[0]!.cid]) {
      const envelope = await node.readBlock(cid)
      blocks.push({ cid, bytes: envelope })
      const { decodeJWS } = await import('@kiln/codec')
      const jws = await decodeJWS(envelope, cid)
      blocks.push({ cid: jws.link, bytes: await node.readBlock(jws.link) })
    }
    await node.importDocument(await encodeCar([manifest.cid], blocks))
    expect((await node.load(id)).state.log).toHaveLength(41)
    expect((await node.load(id.atCommit(cidOf(side)))).state.content).toEqual({ side: true })
  })
})

describe('watchers and listeners', () => {
  it('give a watcher that fell behind the latest state, not a queue of every one it missed', async () => {
    const node = await nodeOn(observedStorage())
    const created = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const id = created.id
    let state = created.state
    const watcher = node.watch(id)
    state = await grow(node, id, state, 50)
    const first = await watcher.next()
    expect((first.value as { state: DocState }).state.log).toHaveLength(51)
    const next = watcher.next()
    await grow(node, id, state, 1)
    expect(((await next).value as { state: DocState }).state.log).toHaveLength(52)
    await watcher.return?.()
  })

  it('removes an anchor event listener', async () => {
    const chain = manualAnchor()
    const node = await nodeOn(observedStorage(), { anchors: [chain.factory] })
    const { id } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    let removedCalls = 0
    const off = node.onAnchorEvent(() => { removedCalls++ })
    off()
    const handled = new Promise<void>((resolve) => { node.onAnchorEvent(() => { resolve() }) })
    await vi.waitFor(() => { expect(chain.requests).toHaveLength(1) })
    chain.emit(await anchorOf(chain.requests[0]!))
    await handled
    expect(removedCalls).toBe(0)
    expect((await node.load(id)).state.anchorStatus).toBe(AnchorStatus.ANCHORED)
  })
})

describe('the cache', () => {
  it('holds no more log entries than cacheLogEntries: a long document is read from storage again', async () => {
    const observed = observedStorage()
    const node = await nodeOn(observed, { cacheLogEntries: 50 })
    const created = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const long = await grow(node, created.id, created.state, 60)
    let reads = 0
    const getHead = observed.storage.getHead.bind(observed.storage)
    observed.storage.getHead = async (...args) => { reads++; return await getHead(...args) }
    expect((await node.load(created.id)).state).toEqual(long)
    expect((await node.load(created.id)).state).toEqual(long)
    expect(reads).toBe(2)
  })
})
