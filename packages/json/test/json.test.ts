import { checkJsonSize, checkPlainJson, cloneJson, kindOfJson, MAX_JSON_DEPTH } from '@kiln/json'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { thrown } from './fixtures/json.js'

const cid = CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')

describe('checkPlainJson', () => {
  it('accepts null, booleans, finite numbers, strings, arrays and plain objects, however nested', () => {
    expect(() => checkPlainJson({ a: [1, 'two', true, null, { b: -0.5 }], c: Object.create(null) }, 'the value')).not.toThrow()
  })

  it.each([
    ['undefined', { a: undefined }, '/a', 'undefined'],
    ['a non-finite number', [1, Infinity], '/1', 'the non-finite number Infinity'],
    ['a bigint', { n: 1n }, '/n', 'the bigint 1'],
    ['bytes', { b: new Uint8Array(2) }, '/b', 'bytes (a Uint8Array)'],
    ['a CID', { link: cid }, '/link', `a CID (${cid.toString()})`],
    ['a class instance', { when: new Date(0) }, '/when', 'an instance of Date'],
    ['a function', { f: () => 1 }, '/f', 'a function'],
    ['a hole of a sparse array', { list: [1, , 3] }, '/list/1', 'undefined'], // eslint-disable-line no-sparse-arrays
    ['an escaped key', { 'a/b~c': undefined }, '/a~1b~0c', 'undefined']
  ])('rejects %s with DoctypeRuleError naming the JSON pointer', (_, value, path, found) => {
    const err = thrown(() => checkPlainJson(value, 'tile content'))
    expect(err.name).toBe('DoctypeRuleError')
    expect(err.message).toBe(`tile content must be plain JSON, but at ${path} it holds ${found}`)
    expect(err.details).toEqual({ path, found })
  })

  it('rejects an own __proto__ key, which would change the prototype of a copy', () => {
    const err = thrown(() => checkPlainJson(JSON.parse('{"x":{"__proto__":{"polluted":true}}}'), 'data'))
    expect(err.message).toBe('data must be plain JSON, but at /x/__proto__ it holds the key "__proto__"')
  })

  it(`rejects nesting deeper than ${MAX_JSON_DEPTH} levels`, () => {
    let deep: unknown = 0
    for (let i = 0; i <= MAX_JSON_DEPTH; i++) deep = [deep]
    expect(thrown(() => checkPlainJson(deep, 'data')).message).toContain(`nesting deeper than ${MAX_JSON_DEPTH} levels`)
  })

  it('names the root "(the root)"', () => {
    expect(thrown(() => checkPlainJson(undefined, 'data')).message).toBe('data must be plain JSON, but at (the root) it holds undefined')
  })
})

describe('cloneJson, kindOfJson and checkJsonSize', () => {
  it('copies deeply: the copy shares no object with the original', () => {
    const original = { a: { b: [1, { c: 2 }] } }
    const copy = cloneJson(original)
    expect(copy).toEqual(original)
    copy.a.b.push(3)
    expect(original.a.b).toHaveLength(2)
  })

  it('names the kind of a value for messages', () => {
    expect([null, [], {}, 'x', 1, true].map(kindOfJson)).toEqual(['null', 'an array', 'an object', 'a string', 'a number', 'a boolean'])
  })

  it('measures the UTF-8 bytes of the JSON encoding, and rejects one byte over the limit', () => {
    const value = { s: 'é' } // {"s":"é"} is 10 bytes: é takes two
    expect(() => checkJsonSize(value, 10, 'content')).not.toThrow()
    const err = thrown(() => checkJsonSize(value, 9, 'content'))
    expect(err.name).toBe('DoctypeRuleError')
    expect(err.message).toBe('content is 10 bytes as JSON, more than the limit of 9 bytes')
    expect(err.details).toEqual({ size: 10, limit: 9 })
  })
})
