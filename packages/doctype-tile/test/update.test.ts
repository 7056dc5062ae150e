import { signRecord } from '@kiln/codec'
import { CommitID, DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate, type TileContent } from '@kiln/doctype-tile'
import type { DocState, VerifiedCommit } from '@kiln/interface'
import { beforeAll, describe, expect, it } from 'vitest'
import { contextWith, createTile, ctx, expectKilnError, handlerOf, nextState, signerOf, verified } from './fixtures/tile.js'

const alice = signerOf(1)
const bob = signerOf(2)
const handler = handlerOf()

/** A signed update with any data and header, as a hand-written client might send. */
async function rawUpdate (state: DocState<TileContent>, data: unknown, header: unknown = {}, signer = alice): Promise<VerifiedCommit> {
  const record = { id: state.log[0]!.cid, prev: state.log[state.log.length - 1]!.cid, header, data }
  return await verified(await signRecord(record, signer), 'update', signer.did)
}

describe('tile updates', () => {
  let state: DocState<TileContent>

  beforeAll(async () => {
    state = (await createTile(handler, await makeGenesis({ title: 'hi', list: [1, 2], nested: { a: { b: 1 } } }, { family: 'notes', tags: ['t'] }, alice), alice.did)).state
  })

  it('requires the current controllers to sign', async () => {
    const update = await makeUpdate(state, { title: 'x' }, alice)
    expect(handler.signers(state, update.record)).toEqual([alice.did])
  })

  it('applies the JSON-Patch to the content and keeps the metadata under header {}', async () => {
    const commit = await rawUpdate(state, [
      { op: 'replace', path: '/title', value: 'hello' },
      { op: 'add', path: '/list/-', value: { deep: [true] } },
      { op: 'remove', path: '/nested/a/b' },
      { op: 'copy', from: '/list/0', path: '/first' },
      { op: 'move', from: '/nested', path: '/moved' },
      { op: 'test', path: '/first', value: 1 }
    ])
    const result = await handler.apply(state, commit, ctx)
    expect(result.content).toEqual({ title: 'hello', list: [1, 2, { deep: [true] }], moved: { a: {} }, first: 1 })
    expect(result.metadata).toEqual(state.metadata)
  })

  it('keeps the metadata when the header is absent', async () => {
    const record = { id: state.log[0]!.cid, prev: state.log[0]!.cid, data: [] }
    const result = await handler.apply(state, await verified(await signRecord(record, alice), 'update', alice.did), ctx)
    expect(result).toEqual({ content: state.content, metadata: state.metadata })
  })

  it('hands the document to a new controller, who then signs the next update', async () => {
    const handover = await verified(await makeUpdate(state, null, alice, { controllers: [bob.did] }), 'update', alice.did)
    const result = await handler.apply(state, handover, ctx)
    expect(result.metadata.controllers).toEqual([bob.did])
    expect(result.content).toEqual(state.content)
    const after = nextState(state, result, handover)
    expect(handler.signers(after, {})).toEqual([bob.did])
    await expectKilnError(makeUpdate(after, { title: 'mine' }, alice), 'UnauthorizedSignerError', alice.did)
    const next = await verified(await makeUpdate(after, { title: 'bob' }, bob), 'update', bob.did)
    expect((await handler.apply(after, next, ctx)).content).toEqual({ title: 'bob' })
  })

  it('rejects an update signed by a non-controller, or not signed at all', async () => {
    const commit = await rawUpdate(state, [], {}, bob)
    await expectKilnError(handler.apply(state, commit, ctx), 'UnauthorizedSignerError', bob.did)
    await expectKilnError(handler.apply(state, { ...commit, signer: undefined }, ctx), 'UnauthorizedSignerError', /not signed/)
  })

  it('changes schema, family and tags', async () => {
    const schema = new CommitID('tile', state.log[0]!.cid, 0).toString()
    const commit = await verified(await makeUpdate(state, null, alice, { schema, family: 'other', tags: ['u', 'v'] }), 'update', alice.did)
    const result = await handler.apply(state, commit, contextWith({ [schema]: { type: 0, content: { type: 'object' } } }))
    expect(result.metadata).toEqual({ ...state.metadata, schema, family: 'other', tags: ['u', 'v'] })
  })

  it('rejects malformed update headers with InvalidCommitError', async () => {
    for (const header of [[], { controllers: 'x' }, { controllers: [''] }, { family: 1 }, { tags: [1] }, { schema: 'nope' }]) {
      await expectKilnError(handler.apply(state, await rawUpdate(state, [], header), ctx), 'InvalidCommitError')
    }
  })

  it('rejects an update header field nested deeper than content may be, naming the field', async () => {
    let deep: unknown = {}
    for (let i = 0; i < 1100; i++) deep = { d: deep }
    const err = await expectKilnError(handler.apply(state, await rawUpdate(state, [], { model: deep }), ctx), 'InvalidCommitError', 'Invalid tile update: `header.model` nests deeper than 1000 levels')
    expect(err).toMatchObject({ details: { commit: 'update', field: 'model' } })
  })

  it('rejects an update to several controllers or none', async () => {
    for (const controllers of [[], [alice.did, bob.did]]) {
      await expectKilnError(handler.apply(state, await rawUpdate(state, [], { controllers }), ctx), 'DoctypeRuleError', /exactly one controller/)
    }
  })

  it('rejects a change of unique or forbidControllerChange, and accepts them repeated unchanged', async () => {
    await expectKilnError(handler.apply(state, await rawUpdate(state, [], { unique: 'other' }), ctx), 'DoctypeRuleError', /unique/)
    await expectKilnError(handler.apply(state, await rawUpdate(state, [], { forbidControllerChange: true }), ctx), 'DoctypeRuleError', /forbidControllerChange/)
    const same = await handler.apply(state, await rawUpdate(state, [], { unique: state.metadata.unique, controllers: [alice.did], family: 'notes' }), ctx)
    expect(same.metadata).toEqual(state.metadata)
  })

  it('rejects malformed update records with InvalidCommitError', async () => {
    const good = await rawUpdate(state, [])
    const payload = good.payload as Record<string, unknown>
    for (const bad of [null, { ...payload, id: 'x' }, { ...payload, prev: undefined }, { id: payload.id, prev: payload.prev }]) {
      await expectKilnError(handler.apply(state, { ...good, payload: bad }, ctx), 'InvalidCommitError')
    }
    await expectKilnError(handler.apply(state, { ...good, kind: 'genesis' }, ctx), 'InvalidCommitError')
  })
})

describe('forbidControllerChange', () => {
  it('rejects a controller change, names the document, and lets updates that repeat the controller through', async () => {
    const { state, commit: genesis } = await createTile(handler, await makeGenesis({ a: 1 }, { forbidControllerChange: true }, alice), alice.did)
    const change = await rawUpdate(state, [], { controllers: [bob.did] })
    const err = await expectKilnError(handler.apply(state, change, ctx), 'DoctypeRuleError', /forbidControllerChange/)
    expect(err.message).toContain(new DocID('tile', genesis.cid).toString())
    expect(err.message).toContain(bob.did)
    // Ceramic's TileDocument.patch() repeats the whole metadata in the header: that is not a change
    const repeat = await rawUpdate(state, [{ op: 'replace', path: '/a', value: 2 }], { controllers: [alice.did] })
    expect((await handler.apply(state, repeat, ctx)).content).toEqual({ a: 2 })
    await expectKilnError(makeUpdate(state, null, alice, { controllers: [bob.did] }), 'DoctypeRuleError', /forbidControllerChange/)
  })
})

describe('failing patches', () => {
  let state: DocState<TileContent>

  beforeAll(async () => {
    state = (await createTile(handler, await makeGenesis({ a: 1, list: [1], obj: { k: 'v' } }, {}, alice), alice.did)).state
  })

  const cases: Array<[string, unknown, number | undefined, RegExp]> = [
    ['a failing test operation', [{ op: 'add', path: '/b', value: 2 }, { op: 'test', path: '/a', value: 2 }], 1, /operation 1 .*Test operation failed/],
    ['a remove of a missing path', [{ op: 'remove', path: '/missing' }], 0, /operation 0 .*does not exist/],
    ['a replace of a missing path', [{ op: 'test', path: '/a', value: 1 }, { op: 'replace', path: '/x/y', value: 1 }], 1, /operation 1/],
    ['an unknown op', [{ op: 'add', path: '/b', value: 1 }, { op: 'merge', path: '/a', value: 1 }], 1, /operation 1 .*`op` must be one of/],
    ['an op without path', [{ op: 'remove' }], 0, /operation 0 .*`path`/],
    ['a path without leading slash', [{ op: 'add', path: 'a', value: 1 }], 0, /operation 0 .*JSON pointer/],
    ['an add without value', [{ op: 'add', path: '/b' }], 0, /operation 0 .*`value` is missing/],
    ['a move without from', [{ op: 'move', path: '/b' }], 0, /operation 0 .*`from`/],
    ['a copy from a missing path', [{ op: 'copy', from: '/nope', path: '/b' }], 0, /operation 0/],
    ['an operation that is not an object', [{ op: 'add', path: '/b', value: 1 }, 'remove /a'], 1, /operation 1 .*must be an object/],
    ['an array index that is not a number', [{ op: 'add', path: '/list/x', value: 1 }], 0, /operation 0/],
    ['an array index past the end', [{ op: 'add', path: '/list/5', value: 1 }], 0, /operation 0/],
    ['a move into its own child', [{ op: 'move', from: '/obj', path: '/obj/inner' }], 0, /operation 0/],
    ['a prototype path', [{ op: 'add', path: '/__proto__/polluted', value: 1 }], 0, /operation 0/],
    ['a value that is not plain JSON', [{ op: 'add', path: '/b', value: new Uint8Array([1]) }], 0, /operation 0 .*bytes/],
    ['data that is an object', { op: 'add', path: '/b', value: 1 }, undefined, /JSON-Patch array/],
    ['data that is a string', 'replace everything', undefined, /JSON-Patch array/],
    ['data that is null', null, undefined, /JSON-Patch array/]
  ]

  it.each(cases)('rejects %s with DoctypeRuleError naming the operation', async (_name, data, index, message) => {
    const err = await expectKilnError(handler.apply(state, await rawUpdate(state, data), ctx), 'DoctypeRuleError', message)
    expect((err as unknown as { details: Record<string, unknown> }).details.index).toBe(index)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('rejects a patch that leaves content that is not an object', async () => {
    await expectKilnError(handler.apply(state, await rawUpdate(state, [{ op: 'replace', path: '', value: [1, 2] }]), ctx), 'DoctypeRuleError', /JSON object, got an array/)
    await expectKilnError(handler.apply(state, await rawUpdate(state, [{ op: 'remove', path: '' }]), ctx), 'DoctypeRuleError', /JSON object, got null/)
  })

  it('accepts a patch that replaces the whole content with another object', async () => {
    const result = await handler.apply(state, await rawUpdate(state, [{ op: 'replace', path: '', value: { fresh: true } }]), ctx)
    expect(result.content).toEqual({ fresh: true })
  })
})
