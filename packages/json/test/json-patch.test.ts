import { applyJsonPatch, diffJson } from '@kiln/json'
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

  it('calls afterCopy after each copy and stops the patch with its error', () => {
    const copies: unknown[] = []
    const limit = (document: unknown): void => {
      copies.push(document)
      if (JSON.stringify(document).length > 40) throw new DoctypeRuleError('too large')
    }
    const patch = [0, 1, 2].map(() => ({ op: 'copy', from: '', path: '/again' }))
    const err = thrown(() => applyJsonPatch({ a: 'xxxxx' }, patch, { what: 'data', afterCopy: limit }))
    expect(err.message).toMatch(/^JSON-Patch operation 1 .*too large/)
    expect(copies).toHaveLength(2)
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
})
