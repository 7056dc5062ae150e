import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { encodeRecord, verifyBlock } from '@kiln/codec'
import { BlockNotFoundError, type Blockstore, type Network, type NetworkComponents, type TipAnnouncement } from '@kiln/interface'
import type { CID } from 'multiformats/cid'
import { tileDocIdOf, tipOf } from './fixtures.js'

export { memoryNetworkHub, MEMORY_QUERY_TIMEOUT_MS } from './memory-network.js'
export type { MemoryNetworkHub, MemoryNetworkHubInit, MemoryNetworkInit, HubMessage, DeliverHook } from './memory-network.js'

/** Components the suite controls: an in-memory blockstore it fills, and the tips `tipOf` answers, by DocID. */
export interface TestNetworkComponents extends NetworkComponents {
  /** What `tipOf` answers: set a DocID's tip here to make this peer hold it. */
  tips: Map<string, CID>
}

/** One peer of the suite: a network instance and the components it was built with. */
export interface NetworkTestPeer {
  network: Network
  components: TestNetworkComponents
}

/** What the network suite's `setup` returns: three started networks that reach each other. */
export interface NetworkTestContext {
  /** At least three peers, started and connected (an announcement of one reaches the others once this resolves). */
  peers: [NetworkTestPeer, NetworkTestPeer, NetworkTestPeer, ...NetworkTestPeer[]]
  /** How long a query waits in the tests, in milliseconds; 500 by default. */
  queryTimeoutMs?: number
}

/** Options of {@link networkTests}. `setup` runs before every test; build each peer on {@link networkTestComponents}. */
export interface NetworkTestOptions {
  setup (): NetworkTestContext | Promise<NetworkTestContext>
  /** Runs after the suite has stopped every peer. */
  teardown? (context: NetworkTestContext): void | Promise<void>
}

/** Components for one peer of the suite: an empty in-memory blockstore and a `tipOf` answering from `tips`. */
export function networkTestComponents (): TestNetworkComponents {
  const blocks = new Map<string, Uint8Array>()
  const tips = new Map<string, CID>()
  const store: Blockstore = {
    get: async (cid) => {
      const bytes = blocks.get(cid.toString())
      if (bytes === undefined) throw new BlockNotFoundError(`Block ${cid.toString()} is not in this test blockstore`, { details: { cid: cid.toString() } })
      return bytes
    },
    put: async (cid, bytes) => { blocks.set(cid.toString(), bytes) },
    has: async (cid) => blocks.has(cid.toString())
  }
  return { blocks: store, tips, tipOf: async (docId) => tips.get(docId) }
}

let documents = 0
const run = Math.random().toString(36).slice(2)

/** A fresh DocID with a first tip. */
async function newDocument (): Promise<{ docId: string, genesis: CID, tip: CID }> {
  const genesis = (await encodeRecord({ header: { controllers: ['did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'] }, unique: `${run}-${documents++}` })).cid
  return { docId: tileDocIdOf(genesis), genesis, tip: await tipOf(genesis, 'first') }
}

/** The next announcement of `docId` a network's listeners hear. */
function nextAnnouncement (network: Network, docId: string): { heard: Promise<TipAnnouncement>, all: TipAnnouncement[], remove: () => void } {
  const all: TipAnnouncement[] = []
  let remove = (): void => {}
  const heard = new Promise<TipAnnouncement>((resolve) => {
    remove = network.onTip((announcement) => {
      if (announcement.docId !== docId) return
      all.push(announcement)
      resolve(announcement)
    })
  })
  return { heard, all, remove }
}

/** Defines the compliance tests every `Network` plugin must pass. */
export function networkTests (options: NetworkTestOptions): void {
  describe('Network compliance', () => {
    let context: NetworkTestContext
    let a: NetworkTestPeer
    let b: NetworkTestPeer
    let c: NetworkTestPeer

    beforeEach(async () => {
      context = await options.setup()
      ;[a, b, c] = context.peers
    })

    afterEach(async () => {
      for (const peer of context.peers) await peer.network.stop?.()
      await options.teardown?.(context)
    })

    it('delivers a published tip to the other peers, naming the publisher', async () => {
      const { docId, tip } = await newDocument()
      const onB = nextAnnouncement(b.network, docId)
      const onC = nextAnnouncement(c.network, docId)
      await a.network.publishTip(docId, tip)
      const [heardB, heardC] = await Promise.all([onB.heard, onC.heard])
      for (const heard of [heardB, heardC]) {
        expect(heard.docId).toBe(docId)
        expect(heard.tip.equals(tip)).toBe(true)
        expect(typeof heard.from).toBe('string')
      }
      expect(heardB.from).toBe(heardC.from)
      onB.remove()
      onC.remove()
    })

    it('calls a listener no more once its remover ran, while other listeners still hear', async () => {
      const { docId, tip } = await newDocument()
      const removed = nextAnnouncement(b.network, docId)
      removed.remove()
      const kept = nextAnnouncement(b.network, docId)
      await a.network.publishTip(docId, tip)
      await kept.heard
      expect(removed.all).toEqual([])
      kept.remove()
    })

    it('answers a query with the tip a peer holds', async () => {
      const { docId, tip } = await newDocument()
      b.components.tips.set(docId, tip)
      const tips = await a.network.queryTips(docId, { timeoutMs: context.queryTimeoutMs ?? 500 })
      expect(tips.map(String)).toEqual([tip.toString()])
    })

    it('answers a query with each distinct tip once, from several holders', async () => {
      const { docId, tip, genesis } = await newDocument()
      const other = await tipOf(genesis, 'second')
      b.components.tips.set(docId, tip)
      c.components.tips.set(docId, other)
      const tips = await a.network.queryTips(docId, { timeoutMs: context.queryTimeoutMs ?? 500 })
      expect(tips.map(String).sort()).toEqual([tip.toString(), other.toString()].sort())
      c.components.tips.set(docId, tip)
      const same = await a.network.queryTips(docId, { timeoutMs: context.queryTimeoutMs ?? 500 })
      expect(same.map(String)).toEqual([tip.toString()])
    })

    it('resolves a query nobody can answer with no tips once its timeout passed', async () => {
      const { docId } = await newDocument()
      await expect(a.network.queryTips(docId, { timeoutMs: context.queryTimeoutMs ?? 500 })).resolves.toEqual([])
    })

    it('gets a block another peer holds, with bytes that hash to its CID', async () => {
      const block = await encodeRecord({ served: `${run}-${documents++}` })
      await b.components.blocks.put(block.cid, block.bytes)
      const bytes = await a.network.getBlock(block.cid, { signal: AbortSignal.timeout(10_000) })
      expect(bytes).toEqual(block.bytes)
      await verifyBlock(block.cid, bytes)
    })

    it('rejects a get of a block nobody holds by its signal\'s deadline', async () => {
      const block = await encodeRecord({ unknown: `${run}-${documents++}` })
      const error = await a.network.getBlock(block.cid, { signal: AbortSignal.timeout(300) }).then(() => undefined, (err: Error) => err)
      expect(['BlockNotFoundError', 'AbortError']).toContain(error?.name)
    })

    it('calls no listener of a stopped peer, and starts and stops idempotently', async () => {
      const { docId, tip } = await newDocument()
      const onB = nextAnnouncement(b.network, docId)
      const onC = nextAnnouncement(c.network, docId)
      await b.network.stop?.()
      await b.network.stop?.()
      await a.network.publishTip(docId, tip)
      // c hearing the announcement shows it went out; b, stopped, must not have heard it.
      await onC.heard
      expect(onB.all).toEqual([])
      await a.network.start?.()
      await a.network.stop?.()
      await a.network.stop?.()
      onB.remove()
      onC.remove()
    })
  })
}
