import { makeGenesis, makeUpdate, type TileContent } from '@kiln/doctype-tile'
import type { DocState, VerifiedCommit } from '@kiln/interface'
import { describe, expect, it } from 'vitest'
import { createTile, ctx, deepFreeze, expectKilnError, handlerOf, signerOf, verified } from './fixtures/tile.js'

const alice = signerOf(1)
const bob = signerOf(2)
const handler = handlerOf()

/** Collects every object and array reachable from a value. */
function objectsOf (value: unknown, found = new Set<object>()): Set<object> {
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    found.add(value)
    for (const item of Object.values(value)) objectsOf(item, found)
  }
  return found
}

/** A JSON picture of a value (CIDs as `{"/": …}`), to compare before and after. */
function snapshot (value: unknown): unknown {
  return JSON.parse(JSON.stringify(value))
}

/** A deep-frozen copy of a state: content and metadata copied, the log's CIDs the same objects (frozen too). */
function frozenCopy (state: DocState<TileContent>): DocState<TileContent> {
  return deepFreeze({ ...state, content: structuredClone(state.content), metadata: structuredClone(state.metadata), log: state.log.map((entry) => ({ ...entry })) })
}

describe('purity', () => {
  it('applies an update to a deep-frozen state and commit, returning new objects and leaving the inputs unchanged', async () => {
    const { state: fresh } = await createTile(handler, await makeGenesis({ list: [{ a: 1 }, [2]], nested: { deep: { x: 'y' } } }, { tags: ['t'] }, alice), alice.did)
    const state: DocState<TileContent> = frozenCopy(fresh)
    const before = snapshot(state)
    const commit: VerifiedCommit = await verified(await makeUpdate(fresh, { list: [{ a: 2 }, [2, 3]], nested: { deep: { x: 'y', more: { z: [] } } }, moved: { a: 1 } }, alice, { controllers: [bob.did] }), 'update', alice.did)
    // a patch whose later operations write into values that earlier ones inserted, and a move of an inserted value
    const payload = deepFreeze({
      ...(commit.payload as Record<string, unknown>),
      data: [
        ...(commit.payload as { data: unknown[] }).data,
        { op: 'add', path: '/inserted', value: { inner: [] } },
        { op: 'add', path: '/inserted/inner/-', value: 1 },
        { op: 'move', from: '/inserted', path: '/moved2' }
      ]
    })
    const payloadBefore = snapshot(payload)
    const result = await handler.apply(state, { ...commit, payload }, ctx)
    expect(result.content).toEqual({ list: [{ a: 2 }, [2, 3]], nested: { deep: { x: 'y', more: { z: [] } } }, moved: { a: 1 }, moved2: { inner: [1] } })
    expect(result.metadata.controllers).toEqual([bob.did])
    expect(snapshot(state)).toEqual(before)
    expect(snapshot(payload)).toEqual(payloadBefore)
    // nothing in the result is shared with the inputs, so a caller may change it freely
    const inputs = new Set([...objectsOf(state), ...objectsOf(payload)])
    for (const object of objectsOf(result)) expect(inputs.has(object)).toBe(false)
    expect(Object.isFrozen(result.content)).toBe(false)
  })

  it('applies a genesis without sharing objects with the payload', async () => {
    const genesis = await makeGenesis({ list: [{ a: 1 }] }, { tags: ['t'] }, alice)
    const commit = await verified(genesis, 'genesis', alice.did)
    const payload = deepFreeze(commit.payload)
    const result = await handler.apply(null, { ...commit, payload }, ctx)
    const inputs = objectsOf(payload)
    for (const object of objectsOf(result)) expect(inputs.has(object)).toBe(false)
    // header fields Kiln does not know are carried into the metadata as copies too
    const extra = deepFreeze({ header: { controllers: [alice.did], extension: { nested: [1, { two: 2 }] } } })
    const unsigned = await handler.apply(null, { cid: commit.cid, kind: 'genesis', payload: extra }, ctx)
    expect(unsigned.metadata).toEqual(extra.header)
    for (const object of objectsOf(unsigned)) expect(objectsOf(extra).has(object)).toBe(false)
  })

  it('leaves a deep-frozen state unchanged when an update is rejected halfway through its patch', async () => {
    const { state: fresh } = await createTile(handler, await makeGenesis({ a: { b: 1 } }, {}, alice), alice.did)
    const state = frozenCopy(fresh)
    const before = snapshot(state)
    const update = await makeUpdate(fresh, { a: { b: 2, c: 3 } }, alice)
    const commit = await verified(update, 'update', alice.did)
    const payload = { ...(commit.payload as Record<string, unknown>), data: [...update.record.data, { op: 'remove', path: '/missing' }] }
    await expectKilnError(handler.apply(state, { ...commit, payload }, ctx), 'DoctypeRuleError', /operation 2/)
    expect(snapshot(state)).toEqual(before)
  })
})
