import { describe, expect, it } from 'vitest'
import { compareSyncKeys, inSyncRange, parseSyncKey, syncDocumentRange, syncFamilyRange, syncKey, syncNetworkRange, SYNC_KEY_PREFIX_BYTES } from '../src/index.js'
import { cidOf, keyOf } from './sync-fixtures.js'

const sorted = (keys: Uint8Array[]): Uint8Array[] => [...keys].sort(compareSyncKeys)

describe('sync keys', () => {
  it('round-trip: a key parses back to its height and commit, with the hashed prefix fields', () => {
    const genesis = cidOf('g')
    const commit = cidOf('c')
    const key = syncKey({ network: 'main', family: 'notes', genesis, height: 7, commit })
    expect(key.length).toBe(SYNC_KEY_PREFIX_BYTES + commit.bytes.length)
    const parsed = parseSyncKey(key)
    expect(parsed.version).toBe(1)
    expect(parsed.height).toBe(7)
    expect(parsed.commit.equals(commit)).toBe(true)
    expect(parsed.network).toHaveLength(8)
    expect(parsed.family).toHaveLength(8)
    expect(parsed.document).toHaveLength(32)
    expect(syncKey({ network: 'main', family: 'notes', genesis, height: 7, commit })).toEqual(key)
  })

  it('sorts the commits of one document by height, genesis first', () => {
    const keys = [3, 0, 2, 1, 300, 70000].map((h) => keyOf(1, h))
    expect(sorted(keys).map((k) => parseSyncKey(k).height)).toEqual([0, 1, 2, 3, 300, 70000])
  })

  it('groups keys by network, then family, then document', () => {
    const keys = [
      ...[1, 2].flatMap((doc) => [0, 1].map((h) => keyOf(doc, h, { network: 'a', family: 'x' }))),
      ...[1, 2].flatMap((doc) => [0, 1].map((h) => keyOf(doc, h, { network: 'a', family: 'y' }))),
      ...[1, 2].flatMap((doc) => [0, 1].map((h) => keyOf(doc, h, { network: 'b', family: 'x' })))
    ]
    const order = sorted(keys)
    // every range is contiguous in the sorted order and holds exactly its keys
    const contiguous = (range: { start: Uint8Array, end: Uint8Array }, expected: number): void => {
      const at = order.map((k) => inSyncRange(range, k))
      const first = at.indexOf(true)
      expect(at.filter(Boolean)).toHaveLength(expected)
      expect(at.slice(first, first + expected).every(Boolean)).toBe(true)
    }
    contiguous(syncNetworkRange('a'), 8)
    contiguous(syncNetworkRange('b'), 4)
    contiguous(syncFamilyRange('a', 'x'), 4)
    contiguous(syncFamilyRange('a', 'y'), 4)
    contiguous(syncDocumentRange('a', 'x', cidOf('genesis 1')), 2)
    contiguous(syncDocumentRange('b', 'x', cidOf('genesis 2')), 2)
    expect(order.filter((k) => inSyncRange(syncFamilyRange('b', 'y'), k))).toHaveLength(0)
  })

  it('nests ranges: a document range lies inside its family range, which lies inside its network range', () => {
    const n = syncNetworkRange('a')
    const f = syncFamilyRange('a', 'x')
    const d = syncDocumentRange('a', 'x', cidOf('g'))
    expect(compareSyncKeys(n.start, f.start)).toBeLessThanOrEqual(0)
    expect(compareSyncKeys(f.end, n.end)).toBeLessThanOrEqual(0)
    expect(compareSyncKeys(f.start, d.start)).toBeLessThanOrEqual(0)
    expect(compareSyncKeys(d.end, f.end)).toBeLessThanOrEqual(0)
  })

  it('refuses malformed keys with CodecError', () => {
    const key = keyOf(1, 1)
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      key.slice(0, SYNC_KEY_PREFIX_BYTES),
      key.slice(0, key.length - 1),
      Uint8Array.from([...key, 0]),
      Uint8Array.from([2, ...key.slice(1)]),
      Uint8Array.from([...key.slice(0, SYNC_KEY_PREFIX_BYTES), 0xff, 0xff]),
      new Uint8Array(300).fill(1)
    ]
    for (const bytes of bad) expect(() => parseSyncKey(bytes), Buffer.from(bytes).toString('hex')).toThrow(expect.objectContaining({ name: 'CodecError' }))
  })

  it('refuses a height outside u32 with CodecError', () => {
    for (const height of [-1, 1.5, 2 ** 32]) {
      expect(() => syncKey({ network: 'n', genesis: cidOf('g'), height, commit: cidOf('c') })).toThrow(expect.objectContaining({ name: 'CodecError' }))
    }
  })
})
