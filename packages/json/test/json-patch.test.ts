import { applyJsonPatch, diffJson, MAX_PATCH_OPERATIONS } from '@kiln/json'
import { DoctypeRuleError } from '@kiln/interface'
import { describe, expect, it } from 'vitest'
import { thrown } from './fixtures/json.js'

describe('applyJsonPatch', () => {
  it('applies every RFC 6902 operation to a copy, leaving the content and the patch untouched', () => {
    const content = { a: 1, list: [1, 2], obj: { x: 'y' } }
    const patch = [
      { op: 'test', path: '/a', value: 1 },
      { op: 'replace', path: '/a', value: 2 },
      { op: 'add', path: '/list/-', value: { n: 3 } },
      { op: 'remove', path: '/list/0' },
      { op: 'move', from: '/obj/x', path: '/moved' },
      { op: 'copy', from: '/list', path: '/copied' }
    ]
    const before = structuredClone({ content, patch })
    const result = applyJsonPatch(content, patch, { what: 'update data' }) as { list: unknown[], copied: unknown[] }
    expect(result).toEqual({ a: 2, list: [2, { n: 3 }], obj: {}, moved: 'y', copied: [2, { n: 3 }] })
    expect({ content, patch }).toEqual(before)
    expect(result.copied[1]).not.toBe(result.list[1])
    expect(result.list[1]).not.toBe(patch[2]!.value)
  })

  it('rejects data that is not an array, naming what it is', () => {
    const err = thrown(() => applyJsonPatch({}, { op: 'add' }, { what: 'tile update data' }))
    expect(err.name).toBe('DoctypeRuleError')
    expect(err.message).toBe('tile update data must be a JSON-Patch array of operations, got an object')
  })

  it.each([
    ['an unknown op', { op: 'merge', path: '/a' }, '`op` must be one of'],
    ['a path that is not a pointer', { op: 'remove', path: 'a' }, '`path` must be a JSON pointer'],
    ['a copy without from', { op: 'copy', path: '/a' }, '`from` must be a JSON pointer'],
    ['an add without value', { op: 'add', path: '/a' }, '`value` is missing'],
    ['a value that is not plain JSON', { op: 'add', path: '/a', value: new Uint8Array(1) }, 'its value must be plain JSON'],
    ['a failing test', { op: 'test', path: '/a', value: 2 }, 'cannot be applied'],
    ['a missing path', { op: 'remove', path: '/nope' }, 'cannot be applied']
  ])('rejects %s before anything is applied, with the index of the operation', (_, bad, reason) => {
    const content = { a: 1 }
    const err = thrown(() => applyJsonPatch(content, [{ op: 'replace', path: '/a', value: 5 }, bad], { what: 'data' }))
    expect(err.name).toBe('DoctypeRuleError')
    expect(err.message).toMatch(/^JSON-Patch operation 1 /)
    expect(err.message).toContain(reason)
    expect(err.details.index).toBe(1)
    expect(content).toEqual({ a: 1 })
  })

  // found by the json.patch fuzz suite: fast-json-patch followed inherited members and moved a document into itself
  it.each([
    ['a move of the root into a child (the document would contain itself)', {}, [{ op: 'move', path: '/a', from: '' }], 'a location cannot be moved into one of its children'],
    ['a move into a child', { a: { b: 1 } }, [{ op: 'move', path: '/a/b/c', from: '/a' }], 'a location cannot be moved into one of its children'],
    ['a copy of an inherited member (a function)', {}, [{ op: 'copy', path: '', from: '/constructor' }], '`from` names "constructor", which is not a member of the document'],
    ['a replace of an inherited member', { a: {} }, [{ op: 'replace', path: '/a/toString', value: 1 }], '`path` names "toString", which is not a member of the document'],
    ['a path through an inherited member', { a: {} }, [{ op: 'add', path: '/a/constructor/name', value: 1 }], '`path` names "constructor", which is not a member of the document'],
    ['a test of an inherited member', {}, [{ op: 'test', path: '/valueOf', value: {} }], '`path` names "valueOf", which is not a member of the document']
  ])('refuses %s with DoctypeRuleError', (_, content, patch, reason) => {
    const err = thrown(() => applyJsonPatch(content, patch, { what: 'data' }))
    expect(err.name).toBe('DoctypeRuleError')
    expect(err.message).toMatch(/^JSON-Patch operation 0 /)
    expect(err.message).toContain(reason)
  })

  it('adds, moves and copies to members named like inherited ones, which then are the document\'s own', () => {
    const patch = [
      { op: 'add', path: '/constructor', value: 1 },
      { op: 'copy', from: '/constructor', path: '/toString' },
      { op: 'move', from: '/toString', path: '/valueOf' },
      { op: 'replace', path: '/constructor', value: 2 },
      { op: 'move', from: '/a', path: '/a' }
    ]
    expect(applyJsonPatch({ a: 0 }, patch, { what: 'data' })).toEqual({ a: 0, constructor: 2, valueOf: 1 })
  })

  it('calls afterCopy once 64 Ki characters have been copied and after the last copy, and stops the patch with its error', () => {
    const copies: unknown[] = []
    const limit = (document: unknown): void => {
      copies.push(document)
      if (JSON.stringify(document).length > 100_000) throw new DoctypeRuleError('too large')
    }
    // each copy of the root doubles it: 20 000 + 40 000 + 80 000 characters copied pass 64 Ki at operation 2 (the
    // document, 80 000, is still allowed); the next copy alone passes it again, and the 160 000 are refused
    const doubling = Array.from({ length: 64 }, (_, i) => ({ op: 'copy', from: '', path: `/c${i}` }))
    const err = thrown(() => applyJsonPatch({ a: 'x'.repeat(10_000) }, doubling, { what: 'data', afterCopy: limit }))
    expect(err.message).toMatch(/^JSON-Patch operation 3 .*too large/)
    expect(copies).toHaveLength(2)
    // small copies: the document is read once, after the last operation
    copies.length = 0
    const small = [0, 1, 2].map(() => ({ op: 'copy', from: '/a', path: '/b' }))
    expect(applyJsonPatch({ a: 1 }, small, { what: 'data', afterCopy: limit })).toEqual({ a: 1, b: 1 })
    expect(copies).toHaveLength(1)
  })

  it('refuses a patch of more than 10 000 operations with LimitExceededError, before applying any', () => {
    const patch = Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/a', value: 1 }))
    const err = thrown(() => applyJsonPatch({ a: 1 }, patch, { what: 'tile update data' }))
    expect(err.name).toBe('LimitExceededError')
    expect(err.message).toBe('tile update data has 10001 JSON-Patch operations, more than the limit of 10000')
    expect(err.details).toEqual({ operations: 10_001, limit: MAX_PATCH_OPERATIONS })
    expect(applyJsonPatch({ a: 1 }, patch.slice(1), { what: 'data' })).toEqual({ a: 1 })
  })

  it('applies 10 000 one-character copies into a 256 KiB document without reading it after each', () => {
    let reads = 0
    const content = { big: 'x'.repeat(256 * 1024), list: [] as number[], one: 1 }
    const patch = Array.from({ length: MAX_PATCH_OPERATIONS }, () => ({ op: 'copy', from: '/one', path: '/list/-' }))
    const result = applyJsonPatch(content, patch, { what: 'data', afterCopy: () => { reads++ } }) as { list: number[] }
    expect(result.list).toHaveLength(MAX_PATCH_OPERATIONS)
    expect(reads).toBe(1)
  })
})

describe('diffJson', () => {
  it('makes the patch that applyJsonPatch turns the first value into the second with', () => {
    const from = { a: 1, b: [1, 2], c: { d: 'e' } }
    const to = { a: 2, b: [1], c: { d: 'e', f: null } }
    const patch = diffJson(from, to)
    expect(applyJsonPatch(from, patch, { what: 'data' })).toEqual(to)
    expect(diffJson(to, to)).toEqual([])
  })

  it('refuses a value that is not plain JSON, naming the pointer, instead of leaving it out of the patch', () => {
    // found by the json.patch fuzz suite: fast-json-patch gave [] for a target with an own __proto__ key
    const to = JSON.parse('{" ":"7f@%","__proto__":null}') as object
    const err = thrown(() => diffJson({ ' ': '7f@%' }, to))
    expect(err.name).toBe('DoctypeRuleError')
    expect(err.message).toBe('the value to diff to must be plain JSON, but at /__proto__ it holds the key "__proto__"')
    expect(thrown(() => diffJson({ when: new Date(0) }, {})).message).toBe('the value to diff from must be plain JSON, but at /when it holds an instance of Date')
  })
})
