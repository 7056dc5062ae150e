import { describe, expect, it } from 'vitest'
import {
  decodeSyncMessage, encodeSyncMessage, memorySyncKeyStore, syncChannelPair, syncFamilyRange, syncKeySpace, syncNetworkRange, syncReconcile,
  type SyncKeyStore, type SyncLimits, type SyncOutcome, type SyncRange, type SyncRangeItem
} from '../src/index.js'
import { hexOf, keyOf, keysOf } from './sync-fixtures.js'

/** Runs both sides of a session over an in-memory pair. */
async function sync (
  a: SyncKeyStore,
  b: SyncKeyStore,
  { interestsA = [syncKeySpace()], interestsB = [syncKeySpace()], limits }: { interestsA?: SyncRange[], interestsB?: SyncRange[], limits?: Partial<SyncLimits> } = {}
): Promise<[SyncOutcome, SyncOutcome]> {
  const [ca, cb] = syncChannelPair()
  return await Promise.all([
    syncReconcile({ role: 'initiator', network: 'test', store: a, interests: interestsA, channel: ca, limits }),
    syncReconcile({ role: 'responder', network: 'test', store: b, interests: interestsB, channel: cb, limits })
  ])
}

const hexes = (keys: Uint8Array[]): string[] => keys.map(hexOf).sort()

describe('sync sessions', () => {
  it('reconcile two equal stores in one round', async () => {
    const keys = keysOf(1000)
    const [a, b] = await sync(memorySyncKeyStore(keys), memorySyncKeyStore(keys))
    expect(a.rounds).toBe(1)
    expect(b.rounds).toBe(1)
    expect(a.missing).toEqual([])
    expect(b.missing).toEqual([])
  })

  it('keep every message within the item cap when the stores share nothing, deferring what does not fit, and find it all', async () => {
    const keys = keysOf(6_000)
    const [a, b] = await sync(memorySyncKeyStore(keys.filter((_, i) => i % 2 === 0)), memorySyncKeyStore(keys.filter((_, i) => i % 2 === 1)))
    expect(hexes(a.missing)).toEqual(hexes(keys.filter((_, i) => i % 2 === 1)))
    expect(hexes(b.missing)).toEqual(hexes(keys.filter((_, i) => i % 2 === 0)))
  })

  it('find exactly the keys each side lacks when two stores differ by a few', async () => {
    const keys = keysOf(500)
    const onlyA = [keys[3]!, keys[250]!, keys[499]!]
    const onlyB = [keys[0]!, keys[251]!]
    const common = keys.filter((k) => !onlyA.includes(k) && !onlyB.includes(k))
    const [a, b] = await sync(memorySyncKeyStore([...common, ...onlyA]), memorySyncKeyStore([...common, ...onlyB]))
    expect(hexes(a.missing)).toEqual(hexes(onlyB))
    expect(hexes(b.missing)).toEqual(hexes(onlyA))
    // and each side learns what the other lacks
    expect(hexes(a.peerMissing)).toEqual(hexes(onlyA))
    expect(hexes(b.peerMissing)).toEqual(hexes(onlyB))
  })

  it('find a store\'s every key for an empty peer, and nothing for either when both are empty', async () => {
    const keys = keysOf(40)
    const [a, b] = await sync(memorySyncKeyStore(), memorySyncKeyStore(keys))
    expect(hexes(a.missing)).toEqual(hexes(keys))
    expect(b.missing).toEqual([])
    const [c, d] = await sync(memorySyncKeyStore(), memorySyncKeyStore())
    expect([c.rounds, c.missing, d.missing]).toEqual([1, [], []])
  })

  it('find the 10 keys missing from 9,990 of 10,000 in a handful of rounds', async () => {
    const keys = keysOf(10_000)
    const gone = new Set([17, 999, 1000, 2500, 4321, 5000, 6001, 7777, 8888, 9999])
    const [a, b] = await sync(memorySyncKeyStore(keys), memorySyncKeyStore(keys.filter((_, i) => !gone.has(i))))
    expect(hexes(b.missing)).toEqual(hexes([...gone].map((i) => keys[i]!)))
    expect(a.missing).toEqual([])
    expect(hexes(a.peerMissing)).toEqual(hexes(b.missing))
    expect(a.rounds).toBeLessThanOrEqual(20)
  })

  it('exchange nothing when the interests are disjoint', async () => {
    const a = memorySyncKeyStore(keysOf(50, { family: 'x' }))
    const b = memorySyncKeyStore(keysOf(60, { family: 'y' }))
    const [oa, ob] = await sync(a, b, { interestsA: [syncFamilyRange('test', 'x')], interestsB: [syncFamilyRange('test', 'y')] })
    expect(oa.shared).toEqual([])
    expect([oa.rounds, ob.rounds]).toEqual([0, 0])
    expect([oa.missing, ob.missing]).toEqual([[], []])
  })

  it('reconcile only the shared interests', async () => {
    const x = keysOf(30, { family: 'x' })
    const y = keysOf(30, { family: 'y' })
    const [a, b] = await sync(memorySyncKeyStore(x.slice(0, 20)), memorySyncKeyStore([...x, ...y]), {
      interestsA: [syncFamilyRange('test', 'x')],
      interestsB: [syncNetworkRange('test')]
    })
    expect(hexes(a.missing)).toEqual(hexes(x.slice(20)))
    expect(b.missing).toEqual([])
  })

  it('refuses a peer on another network', async () => {
    const [ca, cb] = syncChannelPair()
    const results = await Promise.allSettled([
      syncReconcile({ role: 'initiator', network: 'one', store: memorySyncKeyStore(), interests: [syncKeySpace()], channel: ca }),
      syncReconcile({ role: 'responder', network: 'two', store: memorySyncKeyStore(), interests: [syncKeySpace()], channel: cb })
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(results.map((r) => (r as PromiseRejectedResult).reason.name)).toEqual(['CodecError', 'CodecError'])
  })

  it('refuses a peer of another major version', async () => {
    const [ours, theirs] = syncChannelPair()
    const session = syncReconcile({ role: 'responder', network: 'test', store: memorySyncKeyStore(), interests: [syncKeySpace()], channel: ours })
    await theirs.send(encodeSyncMessage({ type: 'hello', version: [2, 0], network: 'test', interests: [syncKeySpace()] }))
    await expect(session).rejects.toMatchObject({ name: 'CodecError' })
    const reply = await theirs.receive()[Symbol.asyncIterator]().next()
    expect(decodeSyncMessage(reply.value as Uint8Array)).toMatchObject({ type: 'error' })
  })

  it('refuses with LimitExceededError a peer that keeps sending splits past the round cap', async () => {
    const [ours, theirs] = syncChannelPair()
    const session = syncReconcile({ role: 'responder', network: 'test', store: memorySyncKeyStore(keysOf(100)), interests: [syncKeySpace()], channel: ours, limits: { maxRounds: 10 } })
    // a peer that answers every range with a summary that never matches, forever
    const peer = (async (): Promise<string[]> => {
      const seen: string[] = []
      await theirs.send(encodeSyncMessage({ type: 'hello', version: [1, 0], network: 'test', interests: [syncKeySpace()] }))
      let items: SyncRangeItem[] = [{ ...syncKeySpace(), count: 1_000_000, hash: new Uint8Array(32).fill(7) }]
      await theirs.send(encodeSyncMessage({ type: 'ranges', items }))
      for await (const frame of theirs.receive()) {
        const message = decodeSyncMessage(frame)
        seen.push(message.type)
        if (message.type === 'hello') continue
        if (message.type !== 'ranges') break
        items = message.items.map((it) => ({ start: it.start, end: it.end, count: 1_000_000, hash: new Uint8Array(32).fill(7) }))
        await theirs.send(encodeSyncMessage({ type: 'ranges', items }))
      }
      return seen
    })()
    await expect(session).rejects.toMatchObject({ name: 'LimitExceededError' })
    const seen = await peer
    expect(seen.at(-1)).toBe('error')
    expect(seen.filter((t) => t === 'ranges').length).toBeLessThanOrEqual(5)
  })

  it('refuses with LimitExceededError a peer that lists more keys than a session allows', async () => {
    const keys = keysOf(300)
    const results = await sync(memorySyncKeyStore(), memorySyncKeyStore(keys), { limits: { maxKeys: 100 } }).catch((err: Error) => err)
    expect(results).toMatchObject({ name: 'LimitExceededError' })
  })

  it('refuses a peer that names a range outside the shared interests', async () => {
    const [ours, theirs] = syncChannelPair()
    const session = syncReconcile({ role: 'responder', network: 'test', store: memorySyncKeyStore(), interests: [syncFamilyRange('test', 'x')], channel: ours })
    await theirs.send(encodeSyncMessage({ type: 'hello', version: [1, 0], network: 'test', interests: [syncFamilyRange('test', 'x')] }))
    await theirs.send(encodeSyncMessage({ type: 'ranges', items: [{ ...syncNetworkRange('test'), keys: [keyOf(1, 1, { family: 'y' })] }] }))
    await expect(session).rejects.toMatchObject({ name: 'CodecError' })
  })
})

