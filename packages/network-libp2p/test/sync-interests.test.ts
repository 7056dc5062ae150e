import * as dagCbor from '@ipld/dag-cbor'
import { describe, expect, it } from 'vitest'
import { encodeRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import type { SyncSource } from '@kiln/interface'
import {
  decodeSyncMessage, encodeSyncMessage, filteredSyncKeyStore, genesisFactsOfBlocks, serveSyncBlocks, memorySyncKeyStore, syncChannelPair, SyncDocumentIndex, syncFilterMatches,
  syncNetworkRange, syncReconcile, type SyncFilter, type SyncKeyStore, type SyncRange
} from '../src/index.js'
import { cidOf, hexOf, keyOf } from './sync-fixtures.js'

// Interests by schema, controller and DocID: a filter in the hello, evaluated by both sides on each document's genesis.

const hello = (filter?: unknown, version = [1, 1]): Uint8Array =>
  dagCbor.encode({ type: 'hello', version, network: 'test', interests: [], ...(filter === undefined ? {} : { filter }) })

describe('the hello filter', () => {
  it('decodes a 1.0 hello without a filter, and a 1.1 hello with one to exactly its bytes', () => {
    expect(decodeSyncMessage(hello(undefined, [1, 0]))).toEqual({ type: 'hello', version: [1, 0], network: 'test', interests: [] })
    const filter = { controllers: ['did:key:a'], docs: ['k2', 'k3'], schemas: ['s'] }
    const bytes = hello(filter)
    const message = decodeSyncMessage(bytes)
    expect(message).toEqual({ type: 'hello', version: [1, 1], network: 'test', interests: [], filter })
    expect(Buffer.from(encodeSyncMessage(message)).equals(Buffer.from(bytes))).toBe(true)
  })

  it('refuses more than 1,000 entries over its lists with LimitExceededError', () => {
    const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`)
    expect(decodeSyncMessage(hello({ schemas: names('s', 500), docs: names('d', 500) })).type).toBe('hello')
    expect(() => decodeSyncMessage(hello({ schemas: names('s', 500), docs: names('d', 501) }))).toThrow(expect.objectContaining({ name: 'LimitExceededError' }))
  })

  it.each([
    ['a string over 256 bytes', { schemas: ['x'.repeat(257)] }],
    ['a list out of order', { controllers: ['b', 'a'] }],
    ['a duplicate', { docs: ['a', 'a'] }],
    ['no list at all', {}],
    ['a field of another name', { families: ['a'] }],
    ['an entry that is not a string', { schemas: [1] }],
    ['a list that is not one', { schemas: 'a' }]
  ])('refuses a filter with %s as a CodecError', (_what, filter) => {
    expect(() => decodeSyncMessage(hello(filter))).toThrow(expect.objectContaining({ name: 'CodecError' }))
  })

  it('takes a string of exactly 256 bytes', () => {
    expect(decodeSyncMessage(hello({ schemas: ['é'.repeat(128)] })).type).toBe('hello')
  })

  it('is not sent unsorted: the encoder holds this node to the same rules', () => {
    expect(() => encodeSyncMessage({ type: 'hello', version: [1, 1], network: 'test', interests: [], filter: { schemas: ['b', 'a'] } })).toThrow(expect.objectContaining({ name: 'CodecError' }))
  })
})

describe('matching a document', () => {
  const facts = { docId: 'kdoc', schema: 'kschema', controller: 'did:key:alice' }
  it('wants everything without a filter, and a document any of the lists names', () => {
    expect(syncFilterMatches(undefined, facts)).toBe(true)
    expect(syncFilterMatches({ schemas: ['kschema'] }, facts)).toBe(true)
    expect(syncFilterMatches({ controllers: ['did:key:alice'] }, facts)).toBe(true)
    expect(syncFilterMatches({ docs: ['kdoc'] }, facts)).toBe(true)
    expect(syncFilterMatches({ schemas: ['other'], docs: ['kdoc'] }, facts)).toBe(true)
  })
  it('wants nothing no list names, nothing with an empty list, and no document it knows nothing of', () => {
    expect(syncFilterMatches({ schemas: ['other'], controllers: ['did:key:bob'] }, facts)).toBe(false)
    expect(syncFilterMatches({ docs: [] }, facts)).toBe(false)
    expect(syncFilterMatches({ schemas: ['kschema'] }, { docId: 'kdoc' })).toBe(false)
    expect(syncFilterMatches({ schemas: ['kschema'] }, undefined)).toBe(false)
  })
})

/** Six documents of 3 commits each: documents 0–2 of schema `s1`, 3–5 of `s2`; even ones by alice, odd ones by bob. */
function world (): { keys: Uint8Array[], index: SyncDocumentIndex, docOf: (key: Uint8Array) => number } {
  const index = new SyncDocumentIndex()
  const keys: Uint8Array[] = []
  const byKey = new Map<string, number>()
  for (let doc = 0; doc < 6; doc++) {
    index.note({ docId: `doc${doc}`, family: 'f', genesis: cidOf(`genesis ${doc}`), height: 0, commit: cidOf(`commit ${doc}/0`), schema: doc < 3 ? 's1' : 's2', controller: doc % 2 === 0 ? 'alice' : 'bob' })
    for (let height = 0; height < 3; height++) {
      const key = keyOf(doc, height)
      keys.push(key)
      byKey.set(hexOf(key), doc)
    }
  }
  return { keys, index, docOf: (key) => byKey.get(hexOf(key))! }
}

describe('a session with filters', () => {
  const { keys, index, docOf } = world()
  const range = syncNetworkRange('test')
  /** What a node with `filter` passes to the session: its own filter, and its set filtered by both sides'. */
  const side = (store: SyncKeyStore, filter?: SyncFilter) => ({
    store,
    ...(filter === undefined ? {} : { filter }),
    storeFor: ({ filter: theirs, shared }: { filter?: SyncFilter, shared: SyncRange[] }) =>
      filter === undefined && theirs === undefined
        ? store
        : filteredSyncKeyStore(store, shared, (key) => syncFilterMatches(filter, index.factsOfKey(key)) && syncFilterMatches(theirs, index.factsOfKey(key)))
  })
  const run = async (initiator: ReturnType<typeof side>, responder: ReturnType<typeof side>) => {
    const [ca, cb] = syncChannelPair()
    const [mine, theirs] = await Promise.all([
      syncReconcile({ role: 'initiator', network: 'test', interests: [range], channel: ca, ...initiator }),
      syncReconcile({ role: 'responder', network: 'test', interests: [range], channel: cb, ...responder })
    ])
    return { missing: [...new Set(mine.missing.map(docOf))].sort(), peerMissing: [...new Set(theirs.missing.map(docOf))].sort() }
  }

  it("finds missing only the documents of the initiator's schema", async () => {
    const found = await run(side(memorySyncKeyStore(), { schemas: ['s1'] }), side(memorySyncKeyStore(keys)))
    expect(found.missing).toEqual([0, 1, 2])
  })

  it("finds missing only what both sides' filters want: the intersection", async () => {
    // The initiator wants alice's documents, the responder serves schema s2: only document 4 is both.
    const found = await run(side(memorySyncKeyStore(), { controllers: ['alice'] }), side(memorySyncKeyStore(keys), { schemas: ['s2'] }))
    expect(found.missing).toEqual([4])
  })

  it('keeps the filter-free store untouched when neither side has a filter', async () => {
    const store = memorySyncKeyStore(keys.slice(0, 9))
    const found = await run(side(memorySyncKeyStore()), side(store))
    expect(found.missing).toEqual([0, 1, 2])
    expect(store.size()).toBe(9)
  })

  it('builds a per-session set of the keys in the ranges whose documents pass', () => {
    const store = memorySyncKeyStore(keys)
    const filtered = filteredSyncKeyStore(store, [range], (key) => docOf(key) % 2 === 1)
    expect(filtered.keys(range).map(hexOf)).toEqual(keys.filter((key) => docOf(key) % 2 === 1).map(hexOf).sort())
    expect(filteredSyncKeyStore(store, [{ start: keys[0]!, end: keys[0]! }], () => true).size()).toBe(0)
  })
})

describe('serving and fetching under a filter', () => {
  const { keys, index, docOf } = world()
  const range = syncNetworkRange('test')

  it('serves no key whose document is outside the filter, even one the peer wants', async () => {
    const [client, server] = syncChannelPair()
    const source = { blocksOf: async () => [{ cid: cidOf('block'), bytes: Uint8Array.of(1) }] } as unknown as SyncSource
    const serving = serveSyncBlocks(server, memorySyncKeyStore(keys), index, source, [range], { serves: (key) => syncFilterMatches({ schemas: ['s2'] }, index.factsOfKey(key)) })
    await client.send(encodeSyncMessage({ type: 'want', keys: [...keys].sort((a, b) => Buffer.compare(a, b)) }))
    const served: number[] = []
    for await (const frame of client.receive()) {
      const message = decodeSyncMessage(frame)
      if (message.type === 'done') break
      if (message.type === 'blocks') served.push(...message.entries.map((e) => docOf(e.key)))
    }
    await client.send(encodeSyncMessage({ type: 'done' }))
    expect(await serving).toBe(9)
    expect([...new Set(served)].sort()).toEqual([3, 4, 5])
  })

  it("reads a new document's genesis facts from the blocks a peer sent, and none without its genesis", async () => {
    const genesis = await encodeRecord({ header: { controllers: ['did:key:alice', 'did:key:bob'], schema: 'kschema' } })
    const docId = new DocID(0, genesis.cid).toString()
    expect(await genesisFactsOfBlocks(docId, [{ cid: cidOf('other'), bytes: Uint8Array.of(1) }, genesis])).toEqual({ docId, schema: 'kschema', controller: 'did:key:alice' })
    expect(await genesisFactsOfBlocks(docId, [{ cid: cidOf('other'), bytes: Uint8Array.of(1) }])).toBeUndefined()
    // bytes that do not hash to the genesis CID tell nothing
    expect(await genesisFactsOfBlocks(docId, [{ cid: genesis.cid, bytes: (await encodeRecord({ header: { controllers: ['did:key:mallory'] } })).bytes }])).toBeUndefined()
  })
})
