import { encodeJWS, encodeRecord, signRecord, type SignedBlocks } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate, tile } from '@kiln/doctype-tile'
import type { Block, DocState, SyncSource } from '@kiln/interface'
import {
  decodeSyncMessage, encodeSyncMessage, libp2pNetwork, memorySyncKeyStore, streamSyncChannel, SYNC_BLOCKS_PROTOCOL, SYNC_PROTOCOL, SYNC_PROTOCOL_VERSION,
  syncKey, syncNetworkRange, syncReconcile, type Libp2pNetwork, type Libp2pNetworkInit, type SyncChannel
} from '@kiln/network-libp2p'
import { keyDidSigner } from '@kiln/signing'
import type { CID } from 'multiformats/cid'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { mapBlockstore } from './fixtures/map-blockstore.js'

// A Kiln node (memory storage, real libp2p on 127.0.0.1) and a hostile sync peer that is no Kiln node: a bare libp2p
// network answering the node's catch-up session with keys of its choosing, then the blocks stream by hand with forged
// commits, nothing, another document's blocks, oversized values or half a frame. The node refuses each, stores
// nothing of it, counts it against the peer, drops the peer, and keeps syncing with honest ones.

const NETWORK = 'hostile-sync'
const alice = keyDidSigner({ seed: new Uint8Array(32).fill(61) })
const mallory = keyDidSigner({ seed: new Uint8Array(32).fill(62) })
const loopback = (address: string): boolean => address.startsWith('/ip4/127.0.0.1/')
const cleanup: Array<() => Promise<void>> = []

afterEach(async () => { for (const stop of cleanup.splice(0).reverse()) await stop() })

interface TestKilnNode {
  node: KilnNode
  network: Libp2pNetwork
  /** The node's catch-up side, as its network sees it. */
  source: SyncSource
  /** Why the node refused `peer`, in order (its network's debug log). */
  refusals: (peer: string) => string[]
  /** How many sessions the node ran with `peer` to the end (its network's info log). */
  sessions: (peer: string) => number
}

/** A Kiln node on memory storage and libp2p on 127.0.0.1, whose log is kept for the test to read. */
async function kilnNode (init: Partial<Libp2pNetworkInit> = {}): Promise<TestKilnNode> {
  const lines: Array<{ obj: Record<string, unknown>, msg: string | undefined }> = []
  const log = (obj: unknown, msg?: string): void => { lines.push({ obj: obj as Record<string, unknown>, msg }) }
  let network!: Libp2pNetwork
  let source: SyncSource | undefined
  const factory = libp2pNetwork({ listen: ['/ip4/127.0.0.1/tcp/0'], network: NETWORK, keepaliveMs: 0, dialFilter: loopback, ...init })
  const node = await createNode({
    doctypes: [tile()], storage: memoryStorage(), logger: { debug: log, info: log, warn: log, error: log },
    network: (components) => {
      source = components.sync
      return (network = factory(components))
    }
  })
  cleanup.push(async () => { await node.stop() })
  if (source === undefined) throw new Error('the node gave its network no sync source')
  return {
    node,
    network,
    source,
    refusals: (peer) => lines.filter((l) => l.msg === 'refused a message from a peer' && l.obj.peer === peer).map((l) => String(l.obj.reason)),
    sessions: (peer) => lines.filter((l) => l.msg === 'synced with a peer' && l.obj.peer === peer).length
  }
}

/** A libp2p stream, as the sync channel takes it. */
type Stream = Parameters<typeof streamSyncChannel>[0]

/** Sends a frame's length prefix and half its bytes, and nothing more: a peer that stalls mid-frame. */
function sendHalfFrame (stream: Stream, frame: Uint8Array): void {
  const prefix = new Uint8Array(4)
  new DataView(prefix.buffer).setUint32(0, frame.length)
  stream.send(prefix)
  stream.send(frame.subarray(0, frame.length >> 1))
}

/** What the hostile peer does with each `want` the node sends on a blocks stream. */
type Answer = (wanted: Uint8Array[], channel: SyncChannel, stream: Stream) => Promise<void>

interface Hostile { network: Libp2pNetwork, peerId: string, wanted: Uint8Array[][] }

/** What the hostile peer does with a sync session the node starts (by default: answers it from a store of its keys). */
type Session = (stream: Stream, keys: Uint8Array[]) => Promise<void>

const honestSession: Session = async (stream, keys) => {
  await syncReconcile({ role: 'responder', network: NETWORK, store: memorySyncKeyStore(keys), interests: [syncNetworkRange(NETWORK)], channel: streamSyncChannel(stream) })
  await stream.close()
}

/**
 * A bare libp2p peer that answers the node's sync sessions from a key store holding `keys` (read again at each
 * session), answers each `want` on the blocks stream with `answer`, and dials `target`, whose catch-up starts a session
 * with it at once.
 */
async function hostilePeer (target: TestKilnNode, keys: Uint8Array[], answer: Answer, session: Session = honestSession): Promise<Hostile> {
  const network = libp2pNetwork({ listen: ['/ip4/127.0.0.1/tcp/0'], network: NETWORK, keepaliveMs: 0, dialFilter: loopback })({ blocks: mapBlockstore() })
  await network.start()
  cleanup.push(async () => { await network.stop() })
  const wanted: Uint8Array[][] = []
  await network.libp2p.handle(SYNC_PROTOCOL, async (stream) => {
    try {
      await session(stream, keys)
    } catch (err) {
      stream.abort(err as Error)
    }
  })
  await network.libp2p.handle(SYNC_BLOCKS_PROTOCOL, async (stream) => {
    const channel = streamSyncChannel(stream)
    try {
      for await (const frame of channel.receive()) {
        const message = decodeSyncMessage(frame)
        if (message.type !== 'want') break
        wanted.push(message.keys)
        await answer(message.keys, channel, stream)
      }
      await stream.close()
    } catch (err) {
      // The node cut the stream off.
      stream.abort(err as Error)
    }
  })
  await network.libp2p.dial(target.network.libp2p.getMultiaddrs()[0]!)
  return { network, peerId: network.libp2p.peerId.toString(), wanted }
}

/** A plain libp2p peer with an empty key store: a session it starts learns every key the node offers. */
async function keysOffered (target: TestKilnNode): Promise<string[]> {
  const observer = libp2pNetwork({
    listen: ['/ip4/127.0.0.1/tcp/0'], network: NETWORK, keepaliveMs: 0, dialFilter: loopback,
    sync: { store: memorySyncKeyStore([]), interests: [syncNetworkRange(NETWORK)], schedule: false }
  })({ blocks: mapBlockstore() })
  await observer.start()
  cleanup.push(async () => { await observer.stop() })
  await observer.libp2p.dial(target.network.libp2p.getMultiaddrs()[0]!)
  const outcome = await observer.syncWith(target.network.libp2p.peerId.toString())
  return outcome.missing.map(hexOf).sort()
}

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** The sync key of commit `height` of the tile whose genesis is `genesis` (a tile without family). */
function keyOf (genesis: CID, height: number, commit: CID): Uint8Array {
  return syncKey({ network: NETWORK, family: '', genesis, height, commit })
}

/** The sync keys of every commit of `state`'s log. */
function keysOfState (state: DocState): Uint8Array[] {
  return state.log.map((entry, height) => keyOf(state.log[0]!.cid, height, entry.cid))
}

/** The blocks of a signed commit, as a `blocks` entry carries them. */
const blocksOf = (signed: Pick<SignedBlocks, 'envelope' | 'payload'>): Block[] => [signed.envelope, signed.payload]

/** `signed` with its signature's first character changed: a different envelope CID whose signature cannot verify. */
async function flipSignature (signed: SignedBlocks): Promise<Pick<SignedBlocks, 'envelope' | 'payload'>> {
  const [first, ...rest] = signed.commit.jws.signatures
  const signature = (first!.signature.startsWith('A') ? 'B' : 'A') + first!.signature.slice(1)
  return { envelope: await encodeJWS({ ...signed.commit.jws, signatures: [{ ...first!, signature }, ...rest] }), payload: signed.payload }
}

/** Serves `entries` (by key) for the keys wanted, in one `blocks` message, then `done`. */
function serving (entries: Map<string, { doc: string, blocks: Block[] }>): Answer {
  return async (wanted, channel) => {
    const out = wanted.flatMap((key) => {
      const entry = entries.get(hexOf(key))
      return entry === undefined ? [] : [{ key, doc: entry.doc, blocks: entry.blocks.map((b) => ({ cid: b.cid, bytes: b.bytes })) }]
    })
    if (out.length > 0) await channel.send(encodeSyncMessage({ type: 'blocks', entries: out }))
    await channel.send(encodeSyncMessage({ type: 'done' }))
  }
}

async function expectNotStored (node: KilnNode, cids: CID[]): Promise<void> {
  for (const cid of cids) await expect(node.readBlock(cid)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
}

/** Waits until the node has refused the peer at least once and holds no connection to it; then it is banned. */
async function expectDropped (target: TestKilnNode, hostile: Hostile): Promise<void> {
  await vi.waitFor(() => {
    expect(target.refusals(hostile.peerId)).not.toEqual([])
    expect(target.network.info().peers.map((p) => p.peerId)).not.toContain(hostile.peerId)
  }, { timeout: 10_000, interval: 20 })
  // Banned: the node will not even dial it.
  const dialed = await target.network.libp2p.dial(hostile.network.libp2p.getMultiaddrs()[0]!).then(() => 'connected', (err: Error) => err.name)
  expect(dialed).not.toBe('connected')
}

describe('a Kiln node and a hostile sync peer', () => {
  it('refuses forged updates and a genesis with an invalid DAG-JWS, stores nothing of them, keeps its tips, offers no key of them, and bans the peer', async () => {
    // Sessions follow each other quickly, and a refusal bans.
    const target = await kilnNode({ ban: { invalidMessages: 1 }, syncSchedule: { intervalMs: 50 } })
    const one = await target.node.createDocument('tile', (await makeGenesis({ doc: 1, n: 0 }, {}, alice)).commit)
    const two = await target.node.createDocument('tile', (await makeGenesis({ doc: 2, n: 0 }, {}, alice)).commit)
    const before = [(await target.node.load(one.id)).state, (await target.node.load(two.id)).state]

    // An update of the first document signed by a stranger; an update of the second by its controller whose signature
    // was then changed; the genesis of a third document, by the controller, its signature changed.
    const tip = one.state.log[0]!.cid
    const stranger = await signRecord({ id: one.id.cid, prev: tip, header: {}, data: [{ op: 'replace', path: '/n', value: 666 }] }, mallory)
    const flippedUpdate = await flipSignature(await makeUpdate(two.state, { doc: 2, n: 1 }, alice))
    const flippedGenesis = await flipSignature(await makeGenesis({ doc: 3, n: 0 }, {}, alice))
    const third = new DocID('tile', flippedGenesis.envelope.cid)
    const forged = [
      { key: keyOf(one.id.cid, 1, stranger.envelope.cid), doc: one.id.toString(), blocks: blocksOf(stranger) },
      { key: keyOf(two.id.cid, 1, flippedUpdate.envelope.cid), doc: two.id.toString(), blocks: blocksOf(flippedUpdate) },
      { key: keyOf(third.cid, 0, third.cid), doc: third.toString(), blocks: blocksOf(flippedGenesis) }
    ]
    const honestKeys = [...keysOfState(one.state), ...keysOfState(two.state)]
    const hostile = await hostilePeer(target, [...honestKeys, ...forged.map((f) => f.key)], serving(new Map(forged.map((f) => [hexOf(f.key), f]))))

    await expectDropped(target, hostile)
    // The node wanted exactly the forged keys, got their blocks, refused the three documents and counted that once
    // against the peer, which dropped it.
    expect(hostile.wanted.map((wanted) => wanted.map(hexOf).sort())).toEqual([forged.map((f) => hexOf(f.key)).sort()])
    expect(target.refusals(hostile.peerId)).toEqual(["sent 3 documents' commits the node refused"])
    // Nothing of them is stored, the tips are what they were, and the third document does not exist here.
    await expectNotStored(target.node, forged.flatMap((f) => f.blocks.map((b) => b.cid)))
    expect([(await target.node.load(one.id)).state, (await target.node.load(two.id)).state]).toEqual(before)
    await expect(target.node.load(third, { syncTimeoutMs: 0 })).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
    expect(await keysOffered(target)).toEqual(honestKeys.map(hexOf).sort())
    // Each is refused by the pipeline with a named error when handed to the node's catch-up side directly.
    await expect(target.source.apply(one.id.toString(), stranger.envelope.cid, blocksOf(stranger))).rejects.toMatchObject({ name: 'UnauthorizedSignerError' })
    await expect(target.source.apply(two.id.toString(), flippedUpdate.envelope.cid, blocksOf(flippedUpdate))).rejects.toMatchObject({ name: 'InvalidSignatureError' })
    await expect(target.source.apply(third.toString(), third.cid, blocksOf(flippedGenesis))).rejects.toMatchObject({ name: 'InvalidSignatureError' })
  })

  it('does not want again, in later sessions, the keys whose commits it refused', async () => {
    // A patient peer: far from banned by one refusal, it keeps listing a forged update at every session.
    const target = await kilnNode({ ban: { invalidMessages: 100 }, syncSchedule: { intervalMs: 50 } })
    const one = await target.node.createDocument('tile', (await makeGenesis({ doc: 1, n: 0 }, {}, alice)).commit)
    const stranger = await signRecord({ id: one.id.cid, prev: one.state.log[0]!.cid, header: {}, data: [{ op: 'replace', path: '/n', value: 666 }] }, mallory)
    const forged = { key: keyOf(one.id.cid, 1, stranger.envelope.cid), doc: one.id.toString(), blocks: blocksOf(stranger) }
    const hostile = await hostilePeer(target, [...keysOfState(one.state), forged.key], serving(new Map([[hexOf(forged.key), forged]])))
    await vi.waitFor(() => { expect(target.sessions(hostile.peerId)).toBeGreaterThanOrEqual(4) }, { timeout: 10_000, interval: 20 })
    // Wanted once, refused once; the sessions after it found the key missing still and left it alone.
    expect(hostile.wanted.map((wanted) => wanted.map(hexOf))).toEqual([[hexOf(forged.key)]])
    expect(target.refusals(hostile.peerId)).toEqual(["sent 1 documents' commits the node refused"])
    expect((await target.node.load(one.id)).state).toEqual(one.state)
  })

  it('refuses a peer that lists keys and then answers done without their blocks, or with another document named', async () => {
    const target = await kilnNode({ ban: { invalidMessages: 1 } })
    const own = await target.node.createDocument('tile', (await makeGenesis({ own: true }, {}, alice)).commit)
    const listed = await makeGenesis({ listed: 1 }, {}, alice)
    const listedId = new DocID('tile', listed.envelope.cid)
    const key = keyOf(listedId.cid, 0, listedId.cid)

    // Lists the genesis of a real document, then sends no blocks at all.
    const empty = await hostilePeer(target, [...keysOfState(own.state), key], serving(new Map()))
    await expectDropped(target, empty)
    expect(empty.wanted.flat().map(hexOf)).toEqual([hexOf(key)])
    expect(target.refusals(empty.peerId)).toEqual(['listed 1 keys it did not send the blocks of'])

    // Lists it too, and sends its blocks under the DocID of another document.
    const other = await makeGenesis({ other: 1 }, {}, alice)
    const otherId = new DocID('tile', other.envelope.cid)
    const misnamed = await hostilePeer(target, [...keysOfState(own.state), key], serving(new Map([[hexOf(key), { doc: otherId.toString(), blocks: blocksOf(listed) }]])))
    await expectDropped(target, misnamed)
    expect(target.refusals(misnamed.peerId)).toEqual([`sync blocks: The peer named ${otherId.toString()} for a key of another document`])

    await expectNotStored(target.node, [listed.envelope.cid, listed.payload.cid])
    await expect(target.node.load(listedId, { syncTimeoutMs: 0 })).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
    expect(await keysOffered(target)).toEqual(keysOfState(own.state).map(hexOf))
  })

  it('refuses a block over 256 KiB and a blocks message of 1,001 entries with named errors, stores nothing, and still syncs with an honest node', async () => {
    const target = await kilnNode({ ban: { invalidMessages: 1 } })
    const own = await target.node.createDocument('tile', (await makeGenesis({ own: true }, {}, alice)).commit)

    // A "genesis" of 300 KiB: its CID is right, its size is not.
    const huge = await encodeRecord({ header: { controllers: [alice.did] }, data: { pad: 'x'.repeat(300 * 1024) } })
    const hugeId = new DocID('tile', huge.cid)
    const hugeKey = keyOf(huge.cid, 0, huge.cid)
    const big = await hostilePeer(target, [...keysOfState(own.state), hugeKey], serving(new Map([[hexOf(hugeKey), { doc: hugeId.toString(), blocks: [huge] }]])))
    await expectDropped(target, big)
    expect(big.wanted.flat().map(hexOf)).toEqual([hexOf(hugeKey)])
    expect(target.refusals(big.peerId)).toEqual(["sent 1 documents' commits the node refused"])
    await expect(target.source.apply(hugeId.toString(), huge.cid, [huge])).rejects.toMatchObject({ name: 'LimitExceededError' })

    // A blocks message of 1,001 small entries, within 1 MiB: plain dag-cbor, since the sync encoder refuses it.
    const small = await makeGenesis({ small: 1 }, {}, alice)
    const smallId = new DocID('tile', small.envelope.cid)
    const smallKey = keyOf(smallId.cid, 0, smallId.cid)
    const entry = { key: smallKey, doc: smallId.toString(), blocks: blocksOf(small).map((b) => ({ cid: b.cid, bytes: b.bytes })) }
    const flood = (await encodeRecord({ type: 'blocks', entries: Array.from({ length: 1_001 }, () => entry) })).bytes
    expect(() => decodeSyncMessage(flood)).toThrow(expect.objectContaining({ name: 'LimitExceededError' }))
    const many = await hostilePeer(target, [...keysOfState(own.state), smallKey], async (_wanted, channel) => {
      await channel.send(flood)
      await channel.send(encodeSyncMessage({ type: 'done' }))
    })
    await expectDropped(target, many)
    expect(target.refusals(many.peerId)).toHaveLength(1)
    expect(target.refusals(many.peerId)[0]).toMatch(/^sync blocks: A sync message with .* over the limit of 1000$/)

    await expectNotStored(target.node, [huge.cid, small.envelope.cid, small.payload.cid])
    expect(await keysOffered(target)).toEqual(keysOfState(own.state).map(hexOf))

    // Healthy: an honest node that connects now gets the node's document, and the node gets the honest node's.
    const honest = await kilnNode()
    const theirs = await honest.node.createDocument('tile', (await makeGenesis({ theirs: true }, {}, alice)).commit)
    await honest.network.libp2p.dial(target.network.libp2p.getMultiaddrs()[0]!)
    // Each has the other's genesis in its own store (a load of a document it did not hold would ask the network).
    await vi.waitFor(async () => {
      await target.node.readBlock(theirs.state.log[0]!.cid)
      await honest.node.readBlock(own.state.log[0]!.cid)
    }, { timeout: 10_000, interval: 50 })
    expect((await target.node.load(theirs.id)).state).toEqual(theirs.state)
    expect((await honest.node.load(own.id)).state).toEqual(own.state)
    expect(target.refusals(honest.network.libp2p.peerId.toString())).toEqual([])
  })

  it('aborts a blocks stream stalled in the middle of a frame after syncInactivityMs, keeps what was applied before, and bans the peer', async () => {
    const target = await kilnNode({ ban: { invalidMessages: 1 }, syncInactivityMs: 300, syncSchedule: { intervalMs: 50 } })
    const own = await target.node.createDocument('tile', (await makeGenesis({ own: true }, {}, alice)).commit)
    const first = await makeGenesis({ first: 1 }, {}, alice)
    const firstId = new DocID('tile', first.envelope.cid)
    const firstKey = keyOf(firstId.cid, 0, firstId.cid)
    const second = await makeGenesis({ second: 1 }, {}, alice)
    const secondId = new DocID('tile', second.envelope.cid)
    const secondKey = keyOf(secondId.cid, 0, secondId.cid)

    // The first session is honest: the first document arrives whole. The peer then lists the second document too, and
    // when the node wants it, sends a length prefix and half the frame, and nothing more.
    const keys = [...keysOfState(own.state), firstKey]
    const honestly = serving(new Map([[hexOf(firstKey), { doc: firstId.toString(), blocks: blocksOf(first) }]]))
    let stalled = false
    const staller = await hostilePeer(target, keys, async (wanted, channel, stream) => {
      if (!wanted.some((key) => hexOf(key) === hexOf(secondKey))) {
        keys.push(secondKey)
        await honestly(wanted, channel, stream)
        return
      }
      const frame = encodeSyncMessage({ type: 'blocks', entries: [{ key: secondKey, doc: secondId.toString(), blocks: blocksOf(second) }] })
      sendHalfFrame(stream, frame)
      stalled = true
    })
    await expectDropped(target, staller)
    expect(stalled).toBe(true)
    expect(target.refusals(staller.peerId)).toEqual(['sync blocks: The peer sent nothing on the sync stream for 300 ms'])
    // What the first session applied stays; nothing of the second document is here.
    expect((await target.node.load(firstId)).state.log.map((e) => e.cid.toString())).toEqual([firstId.cid.toString()])
    await expectNotStored(target.node, [second.envelope.cid, second.payload.cid])
    expect(await keysOffered(target)).toEqual([...keysOfState(own.state), firstKey].map(hexOf).sort())
  })

  it('applies the commits that arrived whole in a fetch before its blocks stream stalled mid-batch', async () => {
    const target = await kilnNode({ ban: { invalidMessages: 1 }, syncInactivityMs: 300 })
    const first = await makeGenesis({ first: 1 }, {}, alice)
    const firstId = new DocID('tile', first.envelope.cid)
    const firstKey = keyOf(firstId.cid, 0, firstId.cid)
    const second = await makeGenesis({ second: 1 }, {}, alice)
    const secondId = new DocID('tile', second.envelope.cid)
    const secondKey = keyOf(secondId.cid, 0, secondId.cid)
    // One fetch wants both: the first arrives in a whole message, the second's message is cut in the middle.
    const staller = await hostilePeer(target, [firstKey, secondKey], async (_wanted, channel, stream) => {
      await channel.send(encodeSyncMessage({ type: 'blocks', entries: [{ key: firstKey, doc: firstId.toString(), blocks: blocksOf(first) }] }))
      const frame = encodeSyncMessage({ type: 'blocks', entries: [{ key: secondKey, doc: secondId.toString(), blocks: blocksOf(second) }] })
      sendHalfFrame(stream, frame)
    })
    await expectDropped(target, staller)
    expect((await target.node.load(firstId)).state.log.map((e) => e.cid.toString())).toEqual([firstId.cid.toString()])
    await expectNotStored(target.node, [second.envelope.cid, second.payload.cid])
  })

  it('aborts a session the node started when the peer stops answering after hello, and bans the peer', async () => {
    const target = await kilnNode({ ban: { invalidMessages: 1 }, syncInactivityMs: 300 })
    await target.node.createDocument('tile', (await makeGenesis({ own: true }, {}, alice)).commit)
    let heard = false
    const mute = await hostilePeer(target, [], serving(new Map()), async (stream) => {
      // Reads the node's hello, then says nothing and waits for the node to give up.
      const channel = streamSyncChannel(stream)
      for await (const frame of channel.receive()) {
        heard ||= decodeSyncMessage(frame).type === 'hello'
      }
    })
    await expectDropped(target, mute)
    expect(heard).toBe(true)
    expect(target.refusals(mute.peerId)).toEqual(['sync session: The peer sent nothing on the sync stream for 300 ms'])
  })

  it('refuses a peer whose answers to a session the node started never let a range settle, at maxRounds, and bans it', async () => {
    const target = await kilnNode({ ban: { invalidMessages: 1 } })
    await target.node.createDocument('tile', (await makeGenesis({ own: true }, {}, alice)).commit)
    const range = syncNetworkRange(NETWORK)
    let answered = 0
    const splitter = await hostilePeer(target, [], serving(new Map()), async (stream) => {
      const channel = streamSyncChannel(stream)
      // Answers hello with hello, and everything after with the whole range under a hash that never matches.
      for await (const frame of channel.receive()) {
        const message = decodeSyncMessage(frame)
        answered++
        await channel.send(encodeSyncMessage(message.type === 'hello'
          ? { type: 'hello', version: [...SYNC_PROTOCOL_VERSION], network: NETWORK, interests: [range] }
          : { type: 'ranges', items: [{ start: range.start, end: range.end, count: 1_000 + answered, hash: new Uint8Array(32).fill(answered % 255 + 1) }] }))
      }
    })
    await expectDropped(target, splitter)
    // hello, then at most maxRounds (64) ranges messages both ways together.
    expect(answered).toBeLessThanOrEqual(1 + 64)
    expect(target.refusals(splitter.peerId)).toHaveLength(1)
    expect(target.refusals(splitter.peerId)[0]).toMatch(/^sync session: Sync with the peer stopped: .* over the limit of 64$/)
  })
})
