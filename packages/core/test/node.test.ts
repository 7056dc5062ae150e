import { encodeRecord, signRecord } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { CommitID, DocID } from '@kiln/docid'
import { AnchorStatus, type DoctypeFactory, type Storage } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cidOf, register, registerGenesis, registerUpdate, REGISTER_CODE, tampered } from './fixtures/register.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(1) })
const bob = keyDidSigner({ seed: new Uint8Array(32).fill(2) })

/** A storage factory that keeps the instance, so tests can look at what was written. */
function observedStorage (): { factory: ReturnType<typeof memoryStorage>, storage: () => Storage } {
  const inner = memoryStorage()
  let instance: Storage | undefined
  return { factory: (c) => (instance = inner(c)), storage: () => instance! }
}

/** Everything a storage holds for a document: head, log, and what it has written so far. */
async function snapshotOf (storage: Storage, docId: string): Promise<unknown> {
  const docs: string[] = []
  for await (const d of storage.listDocuments()) docs.push(d)
  return { docs: docs.sort(), head: await storage.getHead(docId), log: await storage.readLog(docId), written: storage.writeStats().bytesWritten }
}

describe('a node', () => {
  let node: KilnNode
  let storage: () => Storage

  beforeEach(async () => {
    const observed = observedStorage()
    storage = observed.storage
    node = await createNode({ doctypes: [register()], storage: observed.factory })
  })
  afterEach(async () => { await node.stop() })

  it('creates a document whose DocID is its type and genesis CID', async () => {
    const genesis = await registerGenesis(alice, { name: 'Alice' })
    const { id, state } = await node.createDocument('register', genesis.commit)
    expect(id.type).toBe(REGISTER_CODE)
    expect(id.cid.equals(cidOf(genesis))).toBe(true)
    // The node's registry is its own: nothing is added to @kiln/docid's process-wide table of names.
    expect(() => id.typeName).toThrow()
    expect(state.content).toEqual({ name: 'Alice' })
    expect(state.metadata.controllers).toEqual([alice.did])
    expect(state.log.map((e) => e.cid.toString())).toEqual([cidOf(genesis).toString()])
    expect(await node.isPinned(id)).toBe(true)
  })

  it('returns the existing document when the same genesis is created twice', async () => {
    const genesis = await registerGenesis(alice, { a: 1 })
    const first = await node.createDocument(REGISTER_CODE, genesis.commit)
    const second = await node.createDocument(REGISTER_CODE, genesis.commit)
    expect(second.id.equals(first.id)).toBe(true)
    expect(second.state).toEqual(first.state)
  })

  it('applies updates, loads the latest state and the state at every commit', async () => {
    const genesis = await registerGenesis(alice, { v: 0 })
    const { id } = await node.createDocument(REGISTER_CODE, genesis.commit)
    const states = [(await node.load(id)).state]
    for (let v = 1; v <= 3; v++) {
      const update = await registerUpdate(alice, states[states.length - 1]!, { v })
      states.push((await node.applyCommit(id, update.commit)).state)
    }
    expect((await node.load(id)).state.content).toEqual({ v: 3 })
    for (const [i, state] of states.entries()) {
      const at = id.atCommit(state.log[state.log.length - 1]!.cid)
      expect((await node.load(at)).state).toEqual(state)
      expect((await node.load(at.toString())).state.content).toEqual({ v: i })
    }
    expect((await node.load(new CommitID(REGISTER_CODE, id.cid, 0))).state.content).toEqual({ v: 0 })
    const log = await node.loadLog(id)
    expect(log.map((l) => l.cid.toString())).toEqual(states[3]!.log.map((e) => e.cid.toString()))
    expect(log[1]!.value).toHaveProperty('jws')
  })

  it('lets a controller hand the document to another DID', async () => {
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const handover = await registerUpdate(alice, state, { owner: 'bob' }, undefined, { controllers: [bob.did] })
    const after = await node.applyCommit(id, handover.commit)
    expect(after.state.metadata.controllers).toEqual([bob.did])
    const byBob = await registerUpdate(bob, after.state, { owner: 'bob', ok: true })
    expect((await node.applyCommit(id, byBob.commit)).state.content).toEqual({ owner: 'bob', ok: true })
    const byAlice = await registerUpdate(alice, (await node.load(id)).state, { alice: 'again' })
    await expect(node.applyCommit(id, byAlice.commit)).rejects.toMatchObject({ name: 'UnauthorizedSignerError' })
  })

  describe('rejects bad commits and writes nothing', () => {
    async function expectRejected (docId: DocID, attempt: () => Promise<unknown>, name: string): Promise<void> {
      const before = await snapshotOf(storage(), docId.toString())
      await expect(attempt()).rejects.toMatchObject({ name })
      expect(await snapshotOf(storage(), docId.toString())).toEqual(before)
      const head = (before as { head?: { content: unknown } }).head
      if (head !== undefined) expect((await node.load(docId)).state.content).toEqual(head.content)
    }

    it('an update signed by a non-controller', async () => {
      const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
      const update = await registerUpdate(bob, state, { hacked: true })
      await expectRejected(id, async () => await node.applyCommit(id, update.commit), 'UnauthorizedSignerError')
      expect(await storage().blocks.has(cidOf(update))).toBe(false)
    })

    it('an update whose id is another document', async () => {
      const one = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { doc: 1 })).commit)
      const two = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { doc: 2 })).commit)
      const forTwo = await registerUpdate(alice, two.state, { doc: 'two, updated' })
      await expectRejected(one.id, async () => await node.applyCommit(one.id, forTwo.commit), 'ConflictingCommitError')
    })

    it('a tampered payload', async () => {
      const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
      const honest = await registerUpdate(alice, state, { amount: 1 })
      const other = await registerUpdate(alice, state, { amount: 1000 })
      await expectRejected(id, async () => await node.applyCommit(id, tampered(honest, other.commit)), 'CodecError')
    })

    it('a payload re-signed with a signature of another payload', async () => {
      const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
      const honest = await registerUpdate(alice, state, { amount: 1 })
      const forged = await registerUpdate(alice, state, { amount: 1000 })
      const swapped = { jws: { ...forged.commit.jws, signatures: honest.commit.jws.signatures }, linkedBlock: forged.commit.linkedBlock }
      await expectRejected(id, async () => await node.applyCommit(id, swapped), 'InvalidSignatureError')
    })

    it('a commit for an unknown doctype code', async () => {
      const genesis = await registerGenesis(alice, {})
      await expect(node.createDocument(999, genesis.commit)).rejects.toMatchObject({ name: 'UnknownDoctypeError' })
      const unknown = new DocID(999, cidOf(genesis))
      await expect(node.applyCommit(unknown, genesis.commit)).rejects.toMatchObject({ name: 'UnknownDoctypeError' })
      expect(await storage().blocks.has(cidOf(genesis))).toBe(false)
      expect(await snapshotOf(storage(), unknown.toString())).toEqual({ docs: [], head: undefined, log: [], written: 0 })
    })

    it('an update the doctype refuses', async () => {
      const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
      const refused = await registerUpdate(alice, state, { reject: true })
      await expectRejected(id, async () => await node.applyCommit(id, refused.commit), 'DoctypeRuleError')
    })

    it('an update whose prev is not a commit of the document', async () => {
      const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
      const stranger = (await encodeRecord({ not: 'a commit here' })).cid
      const orphan = await registerUpdate(alice, state, { v: 1 }, stranger)
      await expectRejected(id, async () => await node.applyCommit(id, orphan.commit), 'ConflictingCommitError')
    })

    it('an unsigned update where a signature is required', async () => {
      const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
      const unsigned = { id: state.log[0]!.cid, prev: state.log[0]!.cid, data: { v: 1 } }
      await expectRejected(id, async () => await node.applyCommit(id, unsigned as never), 'UnauthorizedSignerError')
    })

    it('a genesis signed by someone who is not its controller', async () => {
      const forged = await signRecord({ header: { controllers: [alice.did] }, data: { by: 'bob' } }, bob)
      await expect(node.createDocument(REGISTER_CODE, forged.commit)).rejects.toMatchObject({ name: 'UnauthorizedSignerError' })
      expect(await storage().blocks.has(forged.envelope.cid)).toBe(false)
    })
  })

  it('accepts a replayed commit without change', async () => {
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const update = await registerUpdate(alice, state, { v: 1 })
    const first = await node.applyCommit(id, update.commit)
    const before = await snapshotOf(storage(), id.toString())
    const again = await node.applyCommit(id, update.commit)
    expect(again.state).toEqual(first.state)
    expect(await snapshotOf(storage(), id.toString())).toEqual(before)
  })

  it('applies a commit that arrived before its prev once the prev is there', async () => {
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const first = await registerUpdate(alice, state, { v: 1 })
    const second = await registerUpdate(alice, state, { v: 2 }, cidOf(first))
    await expect(node.applyCommit(id, second.commit)).rejects.toMatchObject({ name: 'ConflictingCommitError' })
    await node.applyCommit(id, first.commit)
    expect((await node.applyCommit(id, second.commit)).state.content).toEqual({ v: 2 })
  })

  it('tells watchers each new state once it is written', async () => {
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    const controller = new AbortController()
    const seen: unknown[] = []
    const done = (async () => {
      for await (const snapshot of node.watch(id, { signal: controller.signal })) {
        seen.push(snapshot.state.content)
        if (seen.length === 2) controller.abort()
      }
    })()
    const one = await registerUpdate(alice, state, { v: 1 })
    const s1 = await node.applyCommit(id, one.commit)
    await node.applyCommit(id, (await registerUpdate(alice, s1.state, { v: 2 })).commit)
    await done
    expect(seen).toEqual([{ v: 1 }, { v: 2 }])
  })

  it('pins, unpins and evicts unpinned documents', async () => {
    const kept = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { keep: true })).commit)
    const dropped = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { keep: false })).commit, { pin: false })
    expect((await node.listPins()).map(String)).toEqual([kept.id.toString()])
    await node.pin(dropped.id)
    expect(await node.isPinned(dropped.id)).toBe(true)
    await node.unpin(dropped.id)
    expect(await node.gc()).toBe(1)
    await expect(node.load(dropped.id)).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
    expect((await node.load(kept.id)).state.content).toEqual({ keep: true })
  })

  it('keeps no more states in its cache than configured', async () => {
    const observed = observedStorage()
    const small = await createNode({ doctypes: [register()], storage: observed.factory, cacheSize: 2 })
    try {
      const ids: DocID[] = []
      for (let i = 0; i < 5; i++) ids.push((await small.createDocument(REGISTER_CODE, (await registerGenesis(alice, { i })).commit)).id)
      let reads = 0
      const inner = observed.storage()
      const getHead = inner.getHead.bind(inner)
      inner.getHead = async (...args) => { reads++; return await getHead(...args) }
      for (const id of ids) await small.load(id)
      expect(reads).toBeGreaterThanOrEqual(3)
      for (const [i, id] of ids.entries()) expect((await small.load(id)).state.content).toEqual({ i })
    } finally {
      await small.stop()
    }
  })

  it('refuses two doctypes with one code', async () => {
    const clash: DoctypeFactory = () => ({ ...register()({}), name: 'other' })
    await expect(createNode({ doctypes: [register(), clash], storage: memoryStorage() })).rejects.toMatchObject({ name: 'DuplicateRegistrationError' })
  })

  it('reports an unknown document by name', async () => {
    const missing = new DocID(REGISTER_CODE, (await encodeRecord({ nothing: true })).cid)
    await expect(node.load(missing)).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
    await expect(node.load('not a doc id')).rejects.toMatchObject({ name: 'InvalidDocIDError' })
  })

  it('reports anchor status NOT_REQUESTED when it has no anchor service', async () => {
    const { state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, {})).commit)
    expect(state.anchorStatus).toBe(AnchorStatus.NOT_REQUESTED)
  })
})
