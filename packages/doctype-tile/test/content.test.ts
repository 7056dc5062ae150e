import { encodeRecord } from '@kiln/codec'
import { DEFAULT_MAX_CONTENT_BYTES, makeGenesis, tile, type TileContent } from '@kiln/doctype-tile'
import type { DocState, VerifiedCommit } from '@kiln/interface'
import type { CID } from 'multiformats/cid'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTile, ctx, expectKilnError, handlerOf, signerOf } from './fixtures/tile.js'

const alice = signerOf(1)

/** A genesis as the core would hand it over, built by hand so that it can hold what dag-cbor cannot encode. */
async function genesisWith (data: unknown): Promise<VerifiedCommit> {
  const { cid } = await encodeRecord({ marker: 'genesis' })
  return { cid, kind: 'genesis', payload: { header: { controllers: [alice.did] }, data }, signer: alice.did }
}

class Point { x = 1 }

describe('tile content rules', () => {
  const handler = handlerOf()
  let cid: CID

  beforeAll(async () => {
    cid = (await encodeRecord({ a: 1 })).cid
  })

  const cases: Array<[string, () => unknown, RegExp]> = [
    ['undefined', () => ({ a: { b: undefined } }), /at \/a\/b it holds undefined/],
    ['a hole in an array', () => ({ list: [1, , 3] }), /at \/list\/1 it holds undefined/], // eslint-disable-line no-sparse-arrays
    ['bytes', () => ({ blob: new Uint8Array([1, 2]) }), /at \/blob it holds bytes/],
    ['a Buffer', () => ({ blob: Buffer.from('hi') }), /at \/blob it holds bytes/],
    ['NaN', () => ({ n: Number.NaN }), /non-finite number NaN/],
    ['Infinity', () => ({ list: [Number.NEGATIVE_INFINITY] }), /non-finite number -Infinity/],
    ['a CID', () => ({ link: cid }), /at \/link it holds a CID/],
    ['a class instance', () => ({ p: new Point() }), /instance of Point/],
    ['a Date', () => ({ when: new Date(0) }), /instance of Date/],
    ['a bigint', () => ({ big: 10n }), /bigint 10/],
    ['a function', () => ({ f: () => 1 }), /a function/],
    ['a __proto__ key', () => JSON.parse('{"a":{"__proto__":{"polluted":true}}}') as unknown, /"__proto__"/],
    ['an array', () => [1, 2], /must be a JSON object, got an array/],
    ['a string', () => 'text', /must be a JSON object, got a string/],
    ['null', () => null, /must be a JSON object, got null/]
  ]

  it.each(cases)('rejects genesis content holding %s with DoctypeRuleError', async (_name, content, message) => {
    await expectKilnError(handler.apply(null, await genesisWith(content()), ctx), 'DoctypeRuleError', message)
  })

  it('rejects content nested too deep instead of overflowing the stack', async () => {
    let deep: unknown = {}
    for (let i = 0; i < 5000; i++) deep = { d: deep }
    await expectKilnError(handler.apply(null, await genesisWith(deep), ctx), 'DoctypeRuleError', /nesting deeper than 1000/)
  })

  it('accepts every kind of plain JSON value inside the object', async () => {
    const content = { s: 'é😀', n: -0.5, i: 42, t: true, f: false, z: null, list: [[], {}, [1, 'two']], o: Object.create(null) as object }
    expect((await handler.apply(null, await genesisWith(content), ctx)).content).toEqual(content)
  })

  it('rejects content over the size limit, naming the size and the limit', async () => {
    expect(DEFAULT_MAX_CONTENT_BYTES).toBe(262144)
    const big = { text: 'x'.repeat(DEFAULT_MAX_CONTENT_BYTES) }
    const err = await expectKilnError(handler.apply(null, await genesisWith(big), ctx), 'DoctypeRuleError', /262155 bytes as JSON, more than the limit of 262144 bytes/)
    expect((err as unknown as { details: unknown }).details).toEqual({ size: 262155, limit: 262144 })
    const fits = { text: 'x'.repeat(DEFAULT_MAX_CONTENT_BYTES - 11) }
    expect((await handler.apply(null, await genesisWith(fits), ctx)).content).toEqual(fits)
  })

  it('counts the size in UTF-8 bytes and takes the limit from maxContentBytes', async () => {
    const small = tile({ maxContentBytes: 20 })({})
    expect((await small.apply(null, await genesisWith({ a: 'é'.repeat(6) }), ctx)).content).toEqual({ a: 'é'.repeat(6) })
    await expectKilnError(small.apply(null, await genesisWith({ a: 'é'.repeat(7) }), ctx), 'DoctypeRuleError', /22 bytes .* limit of 20 bytes/)
  })

  it('refuses a maxContentBytes that is not a positive integer', () => {
    for (const maxContentBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => tile({ maxContentBytes })).toThrow(RangeError)
    }
  })

  describe('in updates', () => {
    let state: DocState<TileContent>
    const small = tile({ maxContentBytes: 100 })({})

    beforeAll(async () => {
      state = (await createTile(small, await makeGenesis({ a: 'x' }, {}, alice), alice.did)).state
    })

    const update = async (data: unknown): Promise<VerifiedCommit> => {
      const { cid } = await encodeRecord({ marker: 'update' })
      return { cid, kind: 'update', payload: { id: state.log[0]!.cid, prev: state.log[0]!.cid, header: {}, data }, signer: alice.did }
    }

    it('rejects a patch value holding undefined, NaN or bytes, naming the operation', async () => {
      await expectKilnError(small.apply(state, await update([{ op: 'add', path: '/b', value: { u: undefined } }]), ctx), 'DoctypeRuleError', /operation 0 .*\/u it holds undefined/)
      await expectKilnError(small.apply(state, await update([{ op: 'test', path: '/a', value: 'x' }, { op: 'replace', path: '/a', value: Number.NaN }]), ctx), 'DoctypeRuleError', /operation 1 .*NaN/)
      await expectKilnError(small.apply(state, await update([{ op: 'add', path: '/b', value: new Uint8Array(1) }]), ctx), 'DoctypeRuleError', /operation 0 .*bytes/)
    })

    it('rejects an update that grows the content over the limit', async () => {
      await expectKilnError(small.apply(state, await update([{ op: 'add', path: '/b', value: 'y'.repeat(100) }]), ctx), 'DoctypeRuleError', /more than the limit of 100 bytes/)
    })

    it('stops a patch whose copies double the content once 64 Ki characters have been copied, long before 2^64', async () => {
      const data = Array.from({ length: 64 }, (_, i) => ({ op: 'copy', from: '', path: `/c${i}` }))
      const err = await expectKilnError(small.apply(state, await update(data), ctx), 'DoctypeRuleError', /operation 11 .*more than the limit of 100 bytes/)
      expect((err as unknown as { details: { index: number } }).details.index).toBe(11)
    })
  })
})
