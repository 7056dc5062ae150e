import { applyJsonPatch, checkJsonSize, checkPlainJson, diffJson, MAX_PATCH_OPERATIONS } from '@kiln/json'
import { fc, fuzzInputs, fuzzTest, mutatedJson } from '@kiln/interface-tests/fuzz'
import { describe, expect } from 'vitest'

// JSON-Patch documents as the tile doctype applies them: a document (the state's content, plain JSON) and an
// update's `data`, with the content limit checked after copies. Inputs are real diffs of two JSON values, those
// diffs mutated, and random operations on paths drawn from a small alphabet so that they often resolve.

/** The content limit of these runs: small, so that copies reach it. */
const LIMIT = 8 * 1024

interface PatchInput {
  document: unknown
  patch: unknown
  /** What the patch must give: set only for an unmutated diff of `document` and another value. */
  expected?: unknown
}

/** Keys that make paths resolve often, and that need escaping in a pointer (`/`, `~`). */
const key = fc.constantFrom('a', 'b', 'c', 'list', '0', '1', '-', '', '~', '/', 'a/b', 'x~1', ' ', 'é')

/** JSON values whose objects use those keys. */
const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -0, 1, 1.5, -7, 2 ** 53, 1e21, '', 'x', 'long'.repeat(20)),
    fc.string({ maxLength: 6 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true })
  )
})).value

/** A document: mostly an object, as a tile's content is. */
const document = fc.oneof({ arbitrary: fc.dictionary(key, json, { maxKeys: 5, noNullPrototype: true }), weight: 4 }, { arbitrary: json, weight: 1 })

/** A JSON pointer of up to four segments, escaped or not, some naming what is not there. */
const segment = fc.oneof(
  key.map((k) => k.replaceAll('~', '~0').replaceAll('/', '~1')),
  fc.constantFrom('2', '00', '01', '-1', '1e0', '9007199254740993', '__proto__', 'constructor', 'prototype', 'length', '~', '~2', 'a~'),
  fc.string({ maxLength: 3 })
)
const pointer = fc.oneof(
  { arbitrary: fc.array(segment, { maxLength: 4 }).map((segments) => segments.map((s) => `/${s}`).join('')), weight: 6 },
  { arbitrary: fc.constantFrom('', '/', 'a', '#/a', '//'), weight: 1 }
)

/** One operation, well formed or not. */
const operation = fc.record(
  {
    op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', '_get', 'merge', ''),
    path: fc.oneof({ arbitrary: pointer, weight: 9 }, { arbitrary: json, weight: 1 }),
    from: fc.oneof({ arbitrary: pointer, weight: 9 }, { arbitrary: json, weight: 1 }),
    value: json
  },
  { requiredKeys: ['op', 'path'] }
)

/** Copies that double the document: the limit must stop them. */
const doubling = fc.integer({ min: 1, max: 30 }).map((n) => ({
  document: { a: 'x'.repeat(200), list: [1, 2, 3] },
  patch: Array.from({ length: n }, (_, i) => i % 3 === 2 ? { op: 'copy', from: '/list', path: '/list/-' } : { op: 'copy', from: '', path: `/c${i}` })
}))

function isPlainJson (value: unknown): boolean {
  try {
    checkPlainJson(value, 'value')
    return true
  } catch {
    return false
  }
}

/** A real diff: `document` and a second value, near it (a mutation of it) or not; both plain JSON, as diffJson needs. */
const valid: fc.Arbitrary<PatchInput> = document
  .filter((d): d is object => typeof d === 'object' && d !== null)
  .chain((from) => fc.tuple(fc.constant(from), fc.oneof(mutatedJson(fc.constant(from)), document)))
  .filter(([from, to]) => typeof to === 'object' && to !== null && Array.isArray(from) === Array.isArray(to) && isPlainJson(to))
  .map(([from, to]) => ({ document: from, patch: diffJson(from, to as object), expected: to }))

/** A valid input with edits anywhere in it (the document, the patch, the shape of the input), with no expectation. */
function mutated (inputs: fc.Arbitrary<PatchInput>): fc.Arbitrary<PatchInput> {
  return mutatedJson(inputs.map(({ document, patch }) => ({ document, patch }))).map((input) => {
    const { document, patch } = (typeof input === 'object' && input !== null ? input : {}) as Partial<PatchInput>
    return { document, patch }
  })
}

/** One operation more than a patch may have. */
const tooLong = fc.constant({ document: {}, patch: Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '', value: {} })) })

const random: fc.Arbitrary<PatchInput> = fc.oneof(
  { arbitrary: fc.record({ document, patch: fc.array(operation, { maxLength: 6 }) }), weight: 10 },
  { arbitrary: fc.record({ document, patch: json }), weight: 3 },
  { arbitrary: doubling, weight: 3 },
  { arbitrary: tooLong, weight: 1 }
)

/** Freezes every object and array of `value`, so that writing into the input throws. */
function deepFreeze (value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return
  Object.freeze(value)
  for (const child of Object.values(value)) deepFreeze(child)
}

/** Every object and array of `value`. */
function nodesOf (value: unknown, into = new Set<object>()): Set<object> {
  if (typeof value === 'object' && value !== null && !into.has(value)) {
    into.add(value)
    for (const child of Object.values(value)) nodesOf(child, into)
  }
  return into
}

/**
 * `value` as Kiln's data model sees it: `-0` is `0` there (dag-cbor writes it as the integer 0, JSON as `0`), and
 * fast-json-patch's diff, which copies values through JSON, gives `0` for it.
 */
function dataModel (value: unknown): unknown {
  if (Object.is(value, -0)) return 0
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(dataModel)
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dataModel(v)]))
}

function bytes (value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8')
}

/** Applies the patch as the tile doctype does: the document is a state's content, so plain JSON. */
function apply ({ document, patch }: PatchInput): unknown {
  checkPlainJson(document, 'the document')
  return applyJsonPatch(document, patch, { what: 'tile update data', afterCopy: (d) => { checkJsonSize(d, LIMIT, 'tile content') } })
}

describe('JSON-Patch documents', () => {
  fuzzTest<PatchInput>({
    name: 'json.patch',
    inputs: fuzzInputs(valid, mutated, random).map((input) => {
      deepFreeze(input)
      return input
    }),
    run: apply,
    errors: ['DoctypeRuleError', 'LimitExceededError'],
    inputMs: 250,
    accepted: (input, result) => {
      // plain JSON, sharing nothing with the document or the patch (both frozen: a write into them would have thrown)
      checkPlainJson(result, 'the result')
      const inputs = nodesOf(input.document, nodesOf(input.patch))
      for (const node of nodesOf(result)) expect(inputs.has(node)).toBe(false)
      // within the limit, but for what the patch itself adds after its last copy
      expect(bytes(result)).toBeLessThanOrEqual(Math.max(LIMIT, bytes(input.document)) + bytes(input.patch))
      // the same every time
      expect(apply(input)).toEqual(result)
      if ('expected' in input) expect(dataModel(result)).toEqual(dataModel(input.expected))
    }
  })
})
