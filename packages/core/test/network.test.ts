import { decodeRecord, encodeJWS, encodeRecord, type SignedBlocks } from '@kiln/codec'
import { createNode, MAX_FETCHED_COMMITS, MAX_SYNCS_IN_FLIGHT, memoryStorage, type DocSnapshot, type KilnNode } from '@kiln/core'
import { CommitID, DocID } from '@kiln/docid'
import { AbortError, AnchorStatus, InvalidAnchorProofError, type AnchorFactory, type AnchorProofVerifier, type Logger, type Network, type TipAnnouncement } from '@kiln/interface'
import { memoryNetworkHub, networkTestComponents, type MemoryNetworkHub, type TestNetworkComponents } from '@kiln/interface-tests/network'
import { keyDidSigner } from '@kiln/signing'
import { CID } from 'multiformats/cid'
import { manualAnchor } from './fixtures/manual-anchor.js'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cidOf, register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(21) })
const mallory = keyDidSigner({ seed: new Uint8Array(32).fill(22) })

/** A debug log entry a node wrote. */
interface LogRecord { obj: Record<string, unknown>, msg?: string }

/** A logger that keeps what is logged at debug and lets a test wait for an entry. */
function recordingLogger (): Logger & { waitFor: (match: (record: LogRecord) => boolean) => Promise<LogRecord>, records: LogRecord[] } {
  const records: LogRecord[] = []
  const waiting: Array<{ match: (record: LogRecord) => boolean, resolve: (record: LogRecord) => void }> = []
  const debug = (obj: unknown, msg?: string): void => {
    const record = { obj: obj as Record<string, unknown>, msg }
    records.push(record)
    for (const w of [...waiting]) if (w.match(record)) { waiting.splice(waiting.indexOf(w), 1); w.resolve(record) }
  }
  const ignore = (): void => {}
  return {
    debug,
    info: ignore,
    warn: ignore,
    error: ignore,
    records,
    waitFor: async (match) => {
      const seen = records.find(match)
      if (seen !== undefined) return seen
      return await new Promise((resolve) => { waiting.push({ match, resolve }) })
    }
  }
}

/** A peer that is not a node: its own blockstore and tips, for serving what a node would never build. */
async function rawPeer (hub: MemoryNetworkHub): Promise<{ network: Network, components: TestNetworkComponents, serve: (...commits: SignedBlocks[]) => Promise<void> }> {
  const components = networkTestComponents()
  const network = hub.network({ peerId: 'mallory' })(components)
  await network.start?.()
  const serve = async (...commits: SignedBlocks[]): Promise<void> => {
    for (const c of commits) {
      await components.blocks.put(c.envelope.cid, c.envelope.bytes)
      await components.blocks.put(c.payload.cid, c.payload.bytes)
    }
  }
  return { network, components, serve }
}

const followed = (tip: CID) => (r: LogRecord): boolean => r.msg === 'followed a tip announcement from a peer' && r.obj.tip === tip.toString()
const dropped = (tip: CID) => (r: LogRecord): boolean => r.msg === 'dropped a tip announcement from a peer' && r.obj.tip === tip.toString()

/** A verifier of chain `test:1` that walks the Merkle path from the proof's root, reading each node through `getBlock`. */
const merkleVerifier: AnchorProofVerifier = {
  namespace: 'test',
  async verify ({ proof, path, prev }, getBlock, options) {
    let at = proof.root
    for (const step of path.split('/').filter((s) => s !== '')) {
      const node = await decodeRecord<unknown[]>(await getBlock(at, options), at)
      const next = CID.asCID(node[Number(step)])
      if (next === null) throw new InvalidAnchorProofError(`no child ${step} under ${at.toString()}`)
      at = next
    }
    if (!at.equals(prev)) throw new InvalidAnchorProofError(`the path leads to ${at.toString()}, not ${String(prev)}`)
    return { timestamp: 1_700_000_000 }
  }
}

/** The next state a watcher yields. */
async function nextState (watcher: AsyncIterableIterator<DocSnapshot>): Promise<DocSnapshot> {
  const { value, done } = await watcher.next()
  if (done === true) throw new Error('the watcher ended')
  return value
}

describe('nodes on a network', () => {
  let hub: MemoryNetworkHub
  let nodes: KilnNode[]
  let logs: Array<ReturnType<typeof recordingLogger>>
  let a: KilnNode
  let b: KilnNode

  async function addNode (anchors?: AnchorFactory[]): Promise<KilnNode> {
    const logger = recordingLogger()
    const node = await createNode({ doctypes: [register()], storage: memoryStorage(), network: hub.network(), logger, syncTimeoutMs: 1_000, anchors })
    nodes.push(node)
    logs.push(logger)
    return node
  }

  beforeEach(async () => {
    hub = memoryNetworkHub()
    nodes = []
    logs = []
    a = await addNode()
    b = await addNode()
  })

  afterEach(async () => {
    for (const node of nodes) await node.stop()
  })

  it('loads by DocID a document created on another node that it never heard of', async () => {
    const { id, state } = await a.createDocument(REGISTER_CODE, (await registerGenesis(alice, { title: 'from A' })).commit)
    const updated = await a.applyCommit(id, (await registerUpdate(alice, state, { title: 'from A, updated' })).commit)
    const loaded = await b.load(id)
    expect(loaded.state).toEqual(updated.state)
    // B now holds it and answers loads without the network.
    expect((await b.load(id.toString())).state.log.length).toBe(2)
  })

  it('fetches a document it does not hold yet when a watcher waits for it, as soon as a peer announces it', async () => {
    const genesis = await registerGenesis(alice, { title: 'watched before it existed' })
    const id = new DocID(REGISTER_CODE, cidOf(genesis))
    const watcher = b.watch(id)
    const created = await a.createDocument(REGISTER_CODE, genesis.commit)
    expect(created.id.toString()).toBe(id.toString())
    const seen = await nextState(watcher)
    expect(seen.state).toEqual(created.state)
    await watcher.return?.()
    expect((await b.load(id)).state).toEqual(created.state)
  })

  it('ignores an announcement of a document it neither holds, watches nor loads', async () => {
    const { id } = await a.createDocument(REGISTER_CODE, (await registerGenesis(alice, { title: 'nobody asked' })).commit)
    await hub.settled()
    await expect(b.readBlock(id.cid)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
  })

  it('loads a CommitID of a document it does not hold at that commit', async () => {
    const { id, state } = await a.createDocument(REGISTER_CODE, (await registerGenesis(alice, { v: 0 })).commit)
    const first = await registerUpdate(alice, state, { v: 1 })
    const one = await a.applyCommit(id, first.commit)
    await a.applyCommit(id, (await registerUpdate(alice, one.state, { v: 2 })).commit)
    const atFirst = await b.load(new CommitID(id.type, id.cid, cidOf(first)))
    expect(atFirst.state.content).toEqual({ v: 1 })
    expect(atFirst.state.log.length).toBe(2)
  })

  it('rejects a load of a document no peer has with DocumentNotFoundError once its sync timeout passed', async () => {
    const unknown = new DocID(REGISTER_CODE, cidOf(await registerGenesis(alice, { nobody: 'has it' })))
    await expect(b.load(unknown, { syncTimeoutMs: 100 })).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
    // Peers that never answer: the load still ends, at the timeout.
    hub.deliver = (message) => message.kind === 'query' ? undefined : message
    await expect(b.load(unknown, { syncTimeoutMs: 100 })).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
  })

  it('applies an update announced by a peer, and its watchers see the new state; no re-announcement', async () => {
    const { id, state } = await a.createDocument(REGISTER_CODE, (await registerGenesis(alice, { n: 0 })).commit)
    await b.load(id)
    const announcers: string[] = []
    hub.deliver = (message) => { if (message.kind === 'tip') announcers.push(message.from); return message }
    const watcher = b.watch(id)
    const update = await registerUpdate(alice, state, { n: 1 })
    const onA = await a.applyCommit(id, update.commit)
    const seen = await nextState(watcher)
    expect(seen.state).toEqual(onA.state)
    expect((await b.load(id)).state).toEqual(onA.state)
    await watcher.return?.()
    // B applied a peer's commit and did not announce it (it would have, in the same tick as telling its watchers).
    await hub.settled()
    expect(announcers).toEqual(['peer-1'])
  })

  it('sends an update made on a node that got the document from a peer back to that peer', async () => {
    const { id } = await a.createDocument(REGISTER_CODE, (await registerGenesis(alice, { from: 'A' })).commit)
    const onB = await b.load(id)
    const watcher = a.watch(id)
    const fromB = await b.applyCommit(id, (await registerUpdate(alice, onB.state, { from: 'B' })).commit)
    expect((await nextState(watcher)).state).toEqual(fromB.state)
    await watcher.return?.()
  })

  it('refuses a forged update a peer announces, keeps its state and stays up', async () => {
    const { id, state } = await a.createDocument(REGISTER_CODE, (await registerGenesis(alice, { amount: 1 })).commit)
    const before = await b.load(id)
    const peer = await rawPeer(hub)
    const honest = await registerUpdate(alice, state, { amount: 2 })
    const forged = await registerUpdate(alice, state, { amount: 1000 })
    // The forged payload under the honest signature.
    const envelope = await encodeJWS({ ...forged.commit.jws, signatures: honest.commit.jws.signatures })
    await peer.serve({ ...forged, envelope })
    const byMallory = await registerUpdate(mallory, state, { amount: 1001 })
    await peer.serve(byMallory)
    await peer.network.publishTip(id.toString(), envelope.cid)
    await peer.network.publishTip(id.toString(), cidOf(byMallory))
    const refusedForged = await logs[1]!.waitFor(dropped(envelope.cid))
    const refusedMallory = await logs[1]!.waitFor(dropped(cidOf(byMallory)))
    expect(refusedForged.obj).toMatchObject({ from: 'mallory', reason: 'InvalidSignatureError' })
    expect(refusedMallory.obj).toMatchObject({ from: 'mallory', reason: 'UnauthorizedSignerError' })
    expect((await b.load(id)).state).toEqual(before.state)
    await expect(b.readBlock(forged.payload.cid)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
    // Still running: an honest update goes through.
    const watcher = b.watch(id)
    await a.applyCommit(id, honest.commit)
    expect((await nextState(watcher)).state.content).toEqual({ amount: 2 })
    await watcher.return?.()
  })

  it('drops an announcement whose missing log is longer than the cap, changing nothing', async () => {
    const genesis = await registerGenesis(alice, { long: true })
    const { id, state } = await b.createDocument(REGISTER_CODE, genesis.commit, { publish: false })
    const peer = await rawPeer(hub)
    let prev = cidOf(genesis)
    for (let i = 0; i <= MAX_FETCHED_COMMITS; i++) {
      const update = await registerUpdate(alice, state, { i }, prev)
      await peer.serve(update)
      prev = cidOf(update)
    }
    await peer.network.publishTip(id.toString(), prev)
    const refused = await logs[1]!.waitFor(dropped(prev))
    expect(refused.obj).toMatchObject({ from: 'mallory', reason: 'LimitExceededError' })
    expect((await b.load(id)).state).toEqual(state)
  })

  it('converges on one tip when two nodes write conflicting updates at once', async () => {
    const c = await addNode()
    const { id, state } = await a.createDocument(REGISTER_CODE, (await registerGenesis(alice, { side: 'none' })).commit)
    await b.load(id)
    await c.load(id)
    const onA = await registerUpdate(alice, state, { side: 'A' })
    const onB = await registerUpdate(alice, state, { side: 'B' })
    await Promise.all([a.applyCommit(id, onA.commit), b.applyCommit(id, onB.commit)])
    // Each node follows the other's announcement (the loser's commit is kept off the log); c follows both.
    await logs[0]!.waitFor(followed(cidOf(onB)))
    await logs[1]!.waitFor(followed(cidOf(onA)))
    await logs[2]!.waitFor(followed(cidOf(onA)))
    await logs[2]!.waitFor(followed(cidOf(onB)))
    const [stateA, stateB, stateC] = await Promise.all([a.load(id), b.load(id), c.load(id)])
    expect(stateB.state).toEqual(stateA.state)
    expect(stateC.state).toEqual(stateA.state)
    expect([cidOf(onA).toString(), cidOf(onB).toString()]).toContain(stateA.state.log[1]!.cid.toString())
  })

  it('fetches an anchor commit\'s proof and the Merkle nodes on its path from the peer that anchored', async () => {
    const anchoring = manualAnchor()
    const anchorer = await addNode([() => ({ service: anchoring.factory({}).service, verifier: merkleVerifier })])
    const follower = await addNode([() => ({ verifier: merkleVerifier })])
    const { id } = await anchorer.createDocument(REGISTER_CODE, (await registerGenesis(alice, { anchored: 'soon' })).commit)
    await follower.load(id)
    const request = anchoring.requests[0]!
    const other = (await encodeRecord({ other: 'leaf' })).cid
    const node = await encodeRecord([request.tip, other])
    const root = await encodeRecord([other, node.cid])
    const proof = await encodeRecord({ chainId: 'test:1', root: root.cid, txHash: request.tip, txType: 'test' })
    const commit = await encodeRecord({ id: request.genesis, prev: request.tip, proof: proof.cid, path: '1/0' })
    const watcher = follower.watch(id)
    anchoring.emit({ docId: request.docId, tip: request.tip, status: AnchorStatus.ANCHORED, anchor: { commit, blocks: [proof, root, node] } })
    const seen = await nextState(watcher)
    await watcher.return?.()
    expect(seen.state.anchorStatus).toBe(AnchorStatus.ANCHORED)
    expect(seen.state.log.map((e) => e.cid.toString())).toEqual([id.cid.toString(), commit.cid.toString()])
    for (const block of [proof, root, node]) expect(await follower.readBlock(block.cid)).toEqual(block.bytes)
  })

  it('fetches a tip announced twice once', async () => {
    const { id, state } = await a.createDocument(REGISTER_CODE, (await registerGenesis(alice, { twice: 0 })).commit)
    await b.load(id)
    const peer = await rawPeer(hub)
    const update = await registerUpdate(alice, state, { twice: 1 })
    await peer.serve(update)
    const fetches: string[] = []
    hub.deliver = (message) => {
      if (message.kind === 'block' && message.to === 'peer-2') fetches.push(message.cid.toString())
      return message
    }
    const watcher = b.watch(id)
    await peer.network.publishTip(id.toString(), cidOf(update))
    await peer.network.publishTip(id.toString(), cidOf(update))
    expect((await nextState(watcher)).state.content).toEqual({ twice: 1 })
    await watcher.return?.()
    await hub.settled()
    await logs[1]!.waitFor((r) => followed(cidOf(update))(r) && logs[1]!.records.filter(followed(cidOf(update))).length === 2)
    expect(fetches.sort()).toEqual([cidOf(update).toString(), update.payload.cid.toString()].sort())
  })

  it('follows at most MAX_SYNCS_IN_FLIGHT documents at once, one announcement each, the latest waiting; past it drops as busy', async () => {
    // A node whose network never delivers a block, holding more documents than the cap, and a peer announcing them all.
    let listener: ((announcement: TipAnnouncement) => void) | undefined
    const logger = recordingLogger()
    const flooded = await createNode({
      doctypes: [register()],
      storage: memoryStorage(),
      logger,
      network: () => ({
        publishTip: async () => {},
        queryTips: async () => [],
        onTip: (l) => { listener = l; return () => { listener = undefined } },
        getBlock: async (_cid, options) => await new Promise<Uint8Array>((_resolve, reject) => {
          options?.signal?.addEventListener('abort', () => { reject(new AbortError('gave up')) }, { once: true })
        })
      })
    })
    const ids: DocID[] = []
    for (let i = 0; i < MAX_SYNCS_IN_FLIGHT + 10; i++) ids.push((await flooded.createDocument(REGISTER_CODE, (await registerGenesis(alice, { doc: i })).commit, { publish: false })).id)
    const tipOf = async (i: number): Promise<CID> => (await registerGenesis(alice, { tip: i })).envelope.cid
    // Three announcements of the first document: one followed, one waiting, one replaced by the latest.
    for (let i = 0; i < 3; i++) listener!({ docId: ids[0]!.toString(), tip: await tipOf(i), from: 'flooder' })
    for (const id of ids.slice(1)) listener!({ docId: id.toString(), tip: await tipOf(-1), from: 'flooder' })
    const busy = (r: LogRecord): boolean => r.msg === 'dropped a tip announcement from a peer' && r.obj.reason === 'busy'
    await logger.waitFor(busy)
    expect(logger.records.filter(busy).map((r) => r.obj.docId)).toEqual(ids.slice(MAX_SYNCS_IN_FLIGHT).map(String))
    await flooded.stop()
  })

  it('stops cleanly while it is fetching from peers that never answer', async () => {
    const { id, state } = await a.createDocument(REGISTER_CODE, (await registerGenesis(alice, { stuck: 0 })).commit)
    // A node whose network gets no block until the signal aborts.
    let asked: () => void = () => {}
    const askedForBlock = new Promise<void>((resolve) => { asked = resolve })
    const logger = recordingLogger()
    const stuck = await createNode({
      doctypes: [register()],
      storage: memoryStorage(),
      logger,
      network: (components) => {
        const inner = hub.network()(components)
        return {
          start: async () => { await inner.start?.() },
          stop: async () => { await inner.stop?.() },
          publishTip: async (docId, tip, options) => { await inner.publishTip(docId, tip, options) },
          queryTips: async (docId, options) => await inner.queryTips(docId, options),
          onTip: (listener) => inner.onTip(listener),
          getBlock: async (_cid, options) => await new Promise<Uint8Array>((_resolve, reject) => {
            asked()
            options?.signal?.addEventListener('abort', () => { reject(new AbortError('gave up')) }, { once: true })
          })
        }
      }
    })
    await stuck.createDocument(REGISTER_CODE, (await a.loadLog(id))[0]!.value, { publish: false })
    const update = await registerUpdate(alice, state, { stuck: 1 })
    await a.applyCommit(id, update.commit)
    await askedForBlock
    await stuck.stop()
    const refused = await logger.waitFor(dropped(cidOf(update)))
    expect(refused.obj.reason).toBe('AbortError')
  })
})
