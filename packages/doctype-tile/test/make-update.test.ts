import { makeGenesis, makeUpdate, type TileContent } from '@kiln/doctype-tile'
import type { DocState } from '@kiln/interface'
import jsonpatch from 'fast-json-patch'
import { describe, expect, it } from 'vitest'
import { createTile, ctx, expectKilnError, handlerOf, nextState, signerOf, verified } from './fixtures/tile.js'

const alice = signerOf(1)
const handler = handlerOf()

const steps: TileContent[] = [
  { title: 'a', list: [1, 2, 3], nested: { deep: { x: [{ y: 1 }, { y: 2 }] } } },
  { title: 'b', list: [3, 2], nested: { deep: { x: [{ y: 2 }] }, added: { k: [] } } },
  { list: [], nested: { deep: {} }, 'key/with~chars': { '': 0 } },
  { list: [[1, [2, [3]]], { a: null }], nested: [1, 'two', { three: 3 }], 'key/with~chars': false },
  { only: 'one' },
  {}
]

describe('makeUpdate', () => {
  it('builds patches that turn each content into the next, through the handler, for nested objects and arrays', async () => {
    let { state } = await createTile(handler, await makeGenesis(steps[0]!, {}, alice), alice.did)
    for (const next of steps.slice(1)) {
      const update = await makeUpdate(state, next, alice)
      // applying the signed patch to the old content gives the new content, with the library alone and with the handler
      expect(jsonpatch.applyPatch(structuredClone(state.content), structuredClone(update.record.data)).newDocument).toEqual(next)
      const commit = await verified(update, 'update', alice.did)
      const result = await handler.apply(state, commit, ctx)
      expect(result.content).toEqual(next)
      state = nextState(state, result, commit)
    }
    expect(state.log).toHaveLength(steps.length)
  })

  it('links the update to the genesis and the tip, with header {} when the metadata stays', async () => {
    const { state: first } = await createTile(handler, await makeGenesis({ a: 1 }, {}, alice), alice.did)
    const one = await makeUpdate(first, { a: 2 }, alice)
    const commit = await verified(one, 'update', alice.did)
    const second: DocState<TileContent> = nextState(first, await handler.apply(first, commit, ctx), commit)
    const two = await makeUpdate(second, { a: 3 }, alice)
    expect(two.record.id.equals(first.log[0]!.cid)).toBe(true)
    expect(two.record.prev.equals(commit.cid)).toBe(true)
    expect(two.record.header).toEqual({})
    expect(two.record.data).toEqual([{ op: 'replace', path: '/a', value: 3 }])
    expect(Object.keys(two.record).sort()).toEqual(['data', 'header', 'id', 'prev'])
  })

  it('keeps the content when given null, for metadata-only updates', async () => {
    const { state } = await createTile(handler, await makeGenesis({ a: 1 }, {}, alice), alice.did)
    const update = await makeUpdate(state, null, alice, { tags: ['new'] })
    expect(update.record.data).toEqual([])
    expect(update.record.header).toEqual({ tags: ['new'] })
  })

  it('refuses new content that no node would accept', async () => {
    const { state } = await createTile(handler, await makeGenesis({ a: 1 }, {}, alice), alice.did)
    await expectKilnError(makeUpdate(state, { a: undefined }, alice), 'DoctypeRuleError', /undefined/)
    await expectKilnError(makeUpdate(state, [1] as unknown as TileContent, alice), 'DoctypeRuleError', /JSON object/)
    await expectKilnError(makeUpdate({ ...state, type: 1 }, { a: 2 }, alice), 'InvalidCommitError', /not a tile/)
    await expectKilnError(makeUpdate({ ...state, log: [] }, { a: 2 }, alice), 'InvalidCommitError', /empty log/)
    await expectKilnError(makeUpdate(state, null, alice, { schema: 'nope' }), 'InvalidCommitError', /CommitID/)
  })
})
