import { describe, it, expect, beforeAll } from 'vitest'
import { LINK_LIMITS, linksOf } from '@kiln/query'
import { fixedIds } from './fixtures.js'

let ids: { docs: string[], commits: string[] }
beforeAll(async () => { ids = await fixedIds() })

describe('linksOf', () => {
  it('finds DocIDs and CommitIDs (as their DocID) at any depth, bare or after ceramic://, sorted and once each', () => {
    const content = {
      a: ids.docs[2],
      list: [`ceramic://${ids.docs[0]!}`, { deep: [ids.commits[0]] }, ids.docs[2]],
      [ids.docs[3]!]: 'keys are not links',
      other: ['k', 'hello', 42, null, true]
    }
    expect(linksOf(content)).toEqual([ids.docs[0], ids.docs[2]].sort())
    expect(linksOf(ids.docs[1])).toEqual([ids.docs[1]])
  })

  it('ignores other spellings: /ceramic/ paths and ?commit= queries', () => {
    expect(linksOf([`/ceramic/${ids.docs[0]!}`, `${ids.docs[0]!}?commit=0`])).toEqual([])
  })

  it('stops at its depth and size bounds, so hostile content costs a bounded walk', () => {
    let deep: unknown = ids.docs[0]
    for (let i = 0; i < LINK_LIMITS.maxDepth; i++) deep = [deep]
    expect(linksOf(deep)).toEqual([ids.docs[0]])
    expect(linksOf([deep])).toEqual([])
    const wide = [...Array.from({ length: LINK_LIMITS.maxNodes }, () => 'x'), ids.docs[1]]
    expect(linksOf(wide)).toEqual([])
    // Past maxCandidates id-like strings, no more are decoded: a real DocID after them is not read.
    const decoys = Array.from({ length: LINK_LIMITS.maxCandidates }, () => `k${'z'.repeat(LINK_LIMITS.maxIdLength - 1)}`)
    expect(linksOf([...decoys.slice(1), ids.docs[1]])).toEqual([ids.docs[1]])
    expect(linksOf([...decoys, ids.docs[1]])).toEqual([])
    // Longer strings are not tried at all.
    expect(linksOf([`k${'z'.repeat(LINK_LIMITS.maxIdLength)}`, ids.docs[1]])).toEqual([ids.docs[1]])
  })
})
