import { describe, expect, it } from 'vitest'
import { combineSyncSummaries, compareSyncKeys, memorySyncKeyStore, summariseSyncKeys, syncKeySpace, syncSummariesEqual } from '../src/index.js'
import { keysOf } from './sync-fixtures.js'

const keys = keysOf(200)

describe('sync range summaries', () => {
  it('do not depend on the order of the keys', () => {
    const a = summariseSyncKeys(keys)
    const b = summariseSyncKeys([...keys].reverse())
    const c = summariseSyncKeys([...keys].sort(compareSyncKeys))
    expect(a.count).toBe(200)
    expect(syncSummariesEqual(a, b)).toBe(true)
    expect(syncSummariesEqual(a, c)).toBe(true)
  })

  it('of adjacent ranges combine into the summary of the whole', () => {
    const store = memorySyncKeyStore(keys)
    const whole = store.summary(syncKeySpace())
    for (const parts of [2, 3, 7]) {
      const ranges = store.split(syncKeySpace(), parts)
      expect(ranges).toHaveLength(parts)
      const combined = ranges.map((r) => store.summary(r)).reduce(combineSyncSummaries)
      expect(syncSummariesEqual(combined, whole)).toBe(true)
    }
    expect(syncSummariesEqual(whole, summariseSyncKeys(keys))).toBe(true)
  })

  it('differ for different sets, even of the same size', () => {
    const a = summariseSyncKeys(keys.slice(0, 100))
    expect(syncSummariesEqual(a, summariseSyncKeys(keys.slice(0, 99)))).toBe(false)
    expect(syncSummariesEqual(a, summariseSyncKeys([...keys.slice(0, 99), keys[150]!]))).toBe(false)
    expect(syncSummariesEqual(summariseSyncKeys([]), { count: 0, hash: new Uint8Array(32) })).toBe(true)
  })

  it('wrap modulo 2^256 with carries across words', () => {
    // two hashes whose sum overflows every word: 0xff…ff + 0x00…01 = 0
    const ones = { count: 1, hash: new Uint8Array(32).fill(0xff) }
    const one = { count: 1, hash: Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? 1 : 0)) }
    expect(combineSyncSummaries(ones, one)).toEqual({ count: 2, hash: new Uint8Array(32) })
  })

  it('split parts are cut at keys and each holds about the same number of keys', () => {
    const store = memorySyncKeyStore(keys)
    const parts = store.split(syncKeySpace(), 4)
    expect(parts.map((r) => store.summary(r).count)).toEqual([50, 50, 50, 50])
    for (const part of parts.slice(1)) expect(store.has(part.start)).toBe(true)
    expect(store.split(syncKeySpace(), 1)).toEqual([syncKeySpace()])
    expect(memorySyncKeyStore([keys[0]!]).split(syncKeySpace(), 4)).toEqual([syncKeySpace()])
  })
})
