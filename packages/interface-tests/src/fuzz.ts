import { AssertionError } from 'node:assert'
import { isKilnError } from '@kiln/interface'
import fc from 'fast-check'
import { it } from 'vitest'

// The fuzz harness every decoder and route of Kiln runs: fast-check, seeded, each suite a few lines.

/** Inputs each suite runs unless it or `KILN_FUZZ_RUNS` says otherwise. */
export const DEFAULT_FUZZ_RUNS = 10_000

/** The longest one input may take, in ms, unless a suite says otherwise: anything longer is reported as a hang. */
export const DEFAULT_FUZZ_INPUT_MS = 2_000

/** One decoder (or route) under fuzzing: what it is fed, how it is called, and what holds of its answers. */
export interface FuzzTarget<T> {
  /** The suite's name: printed with its seed and counts, and the default seed is derived from it. */
  name: string
  /** The inputs: generated and mutated (see {@link fuzzInputs}). */
  inputs: fc.Arbitrary<T>
  /** Feeds one input. Returns (any value) when the input is accepted, throws a named `KilnError` when it is refused. */
  run: (input: T) => unknown
  /**
   * An oracle for accepted inputs: throws when `result` shows that an invalid `input` was accepted (a round trip that
   * does not give the input back, a value outside its type's range, …).
   */
  accepted?: (input: T, result: unknown) => unknown
  /** The error names a refusal may carry; any `KilnError` when absent. */
  errors?: readonly string[]
  /** Counts writes (a storage's bytes or batches written): it must not change across a refused input. */
  writes?: () => number | Promise<number>
  /** How many inputs to run; `KILN_FUZZ_RUNS` overrides it. Default {@link DEFAULT_FUZZ_RUNS}. */
  runs?: number
  /** The longest one input may take, in ms. Default {@link DEFAULT_FUZZ_INPUT_MS}. */
  inputMs?: number
}

/** What a fuzz run saw: its seed, how many inputs, and how they were answered. */
export interface FuzzReport {
  name: string
  seed: number
  runs: number
  accepted: number
  /** Refusals by error name. */
  refused: Record<string, number>
}

/**
 * A failure the harness found in one input, named `FuzzFailure`: a test failure, as an assertion's is, so not a
 * `KilnError` (those are the errors Kiln answers users with).
 */
function fuzzFailure (message: string, options?: ErrorOptions): Error {
  const failure = new AssertionError({ message })
  failure.name = 'FuzzFailure'
  if (options?.cause !== undefined) failure.cause = options.cause
  return failure
}

/** A 32-bit FNV-1a hash of `text`: the default seed of a suite, so that CI runs the same inputs every time. */
function seedOf (text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash | 0
}

/**
 * The seed of suite `name`: `KILN_FUZZ_SEED` when set (a number, or `random` for a fresh one), else derived from the
 * name, so that a run is reproducible from what it prints.
 */
export function fuzzSeed (name: string): number {
  const env = process.env.KILN_FUZZ_SEED
  if (env === 'random') return (Math.random() * 0x7fffffff) | 0
  if (env !== undefined && env !== '') {
    const seed = Number(env)
    if (!Number.isSafeInteger(seed)) throw new RangeError(`KILN_FUZZ_SEED must be an integer or "random", got ${JSON.stringify(env)}`)
    return seed | 0
  }
  return seedOf(name)
}

function runsOf (target: FuzzTarget<unknown>): number {
  const env = process.env.KILN_FUZZ_RUNS
  if (env !== undefined && env !== '') {
    const runs = Number(env)
    if (!Number.isSafeInteger(runs) || runs <= 0) throw new RangeError(`KILN_FUZZ_RUNS must be a positive integer, got ${JSON.stringify(env)}`)
    return runs
  }
  return target.runs ?? DEFAULT_FUZZ_RUNS
}

function describe (value: unknown): string {
  try {
    return fc.stringify(value).slice(0, 500)
  } catch {
    return String(value).slice(0, 500)
  }
}

/**
 * Runs `target` over its inputs and holds it to Kiln's rules for decoders: no crash (only a named `KilnError` may be
 * thrown, with a name among `errors`), no hang (each input within `inputMs`), no invalid input accepted (`accepted`),
 * and no write on refusal (`writes`). Throws on the first failure, naming the seed that reproduces it.
 */
export async function fuzz<T> (target: FuzzTarget<T>): Promise<FuzzReport> {
  const seed = fuzzSeed(target.name)
  const runs = runsOf(target as FuzzTarget<unknown>)
  const inputMs = target.inputMs ?? DEFAULT_FUZZ_INPUT_MS
  const report: FuzzReport = { name: target.name, seed, runs: 0, accepted: 0, refused: {} }

  const property = fc.asyncProperty(target.inputs, async (input) => {
    const before = target.writes === undefined ? 0 : await target.writes()
    const started = performance.now()
    let result: unknown
    let refusal: unknown
    let refused = false
    try {
      result = await target.run(input)
    } catch (err) {
      refused = true
      refusal = err
    }
    const took = performance.now() - started
    if (took > inputMs) throw fuzzFailure(`took ${Math.round(took)} ms (more than ${inputMs} ms) on ${describe(input)}`)
    if (refused) {
      if (!isKilnError(refusal)) {
        throw fuzzFailure(`crashed with ${(refusal as Error)?.name ?? typeof refusal} (not a named KilnError): ${(refusal as Error)?.message ?? String(refusal)}`, { cause: refusal })
      }
      if (target.errors !== undefined && !target.errors.includes(refusal.name)) {
        throw fuzzFailure(`refused with ${refusal.name}, which is not among ${target.errors.join(', ')}: ${refusal.message}`, { cause: refusal })
      }
      if (target.writes !== undefined) {
        const after = await target.writes()
        if (after !== before) throw fuzzFailure(`wrote (${before} → ${after}) while refusing with ${refusal.name}: ${refusal.message}`)
      }
      report.refused[refusal.name] = (report.refused[refusal.name] ?? 0) + 1
      return
    }
    if (target.accepted !== undefined) await target.accepted(input, result)
    report.accepted++
  })

  // Counted in the property: when an input fails, fast-check replays smaller ones, but then the counts go unreported.
  let failure: unknown
  try {
    await fc.assert(property, { seed, numRuns: runs, timeout: inputMs, includeErrorInReport: true })
  } catch (err) {
    failure = err
  }
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure)
    throw fuzzFailure(`fuzz ${target.name} failed (seed ${seed}; rerun with KILN_FUZZ_SEED=${seed}):\n${message}`, { cause: failure })
  }
  report.runs = report.accepted + Object.values(report.refused).reduce((a, b) => a + b, 0)
  return report
}

/** `fuzz <name>: 10000 inputs (812 accepted; refused: 9188 CodecError), seed 12345`: the line each suite prints. */
export function describeFuzzReport (report: FuzzReport): string {
  const refused = Object.entries(report.refused).sort((a, b) => b[1] - a[1]).map(([name, n]) => `${n} ${name}`).join(', ')
  return `fuzz ${report.name}: ${report.runs} inputs (${report.accepted} accepted; refused: ${refused === '' ? 'none' : refused}), seed ${report.seed}`
}

/**
 * Defines a vitest test that fuzzes `target` and prints its report line; the test fails on the first failing input,
 * with the seed that reproduces it. `timeoutMs` bounds the whole suite (default 5 minutes).
 */
export function fuzzTest<T> (target: FuzzTarget<T>, timeoutMs = 300_000): void {
  it(`holds up under ${runsOf(target as FuzzTarget<unknown>)} fuzzed inputs: ${target.name}`, async () => {
    const report = await fuzz(target)
    console.log(describeFuzzReport(report))
  }, timeoutMs)
}

// Mutators: valid inputs with a few edits each, which reach deeper into a decoder than random bytes do.

/** One edit of a sequence: positions are taken modulo its length, so that any number fits any input. */
type Edit<U> =
  | { kind: 'set', at: number, value: U }
  | { kind: 'insert', at: number, values: U[] }
  | { kind: 'delete', at: number, length: number }
  | { kind: 'truncate', at: number }
  | { kind: 'repeat', at: number, length: number, times: number }

function editsOf<U> (unit: fc.Arbitrary<U>): fc.Arbitrary<Array<Edit<U>>> {
  const at = fc.nat()
  const edit: fc.Arbitrary<Edit<U>> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('set' as const), at, value: unit }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('insert' as const), at, values: fc.array(unit, { minLength: 1, maxLength: 8 }) }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 16 }) }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('truncate' as const), at }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('repeat' as const), at, length: fc.integer({ min: 1, max: 16 }), times: fc.integer({ min: 2, max: 8 }) }), weight: 1 }
  )
  return fc.array(edit, { minLength: 1, maxLength: 4 })
}

function applyEdits<U> (input: readonly U[], edits: ReadonlyArray<Edit<U>>): U[] {
  let out = [...input]
  for (const edit of edits) {
    const at = edit.at % (out.length + 1)
    switch (edit.kind) {
      case 'set': if (out.length > 0) out[at % out.length] = edit.value; break
      case 'insert': out.splice(at, 0, ...edit.values); break
      case 'delete': out.splice(at, edit.length); break
      case 'truncate': out = out.slice(0, at); break
      case 'repeat': {
        const slice = out.slice(at, at + edit.length)
        out.splice(at, 0, ...Array.from({ length: edit.times - 1 }, () => slice).flat())
        break
      }
    }
  }
  return out
}

/** Bytes that are mostly 0x00, 0xff and the CBOR and varint boundaries, where decoders go wrong. */
const interestingByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff, 0x18, 0x19, 0x1a, 0x1b, 0x9f, 0xbf, 0xd8, 0x2a))

/** `valid` with one to four byte edits: set, insert, delete, truncate or repeat. */
export function mutatedBytes (valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, editsOf(interestingByte)).map(([bytes, edits]) => Uint8Array.from(applyEdits([...bytes], edits)))
}

/** Characters that break parsers: separators, quotes, escapes, surrogates, controls, other bases' letters. */
const interestingChar = fc.oneof(
  fc.string({ minLength: 1, maxLength: 1 }),
  fc.constantFrom('/', '?', '#', '%', '.', ':', '\\', '"', "'", '\u0000', '\n', '\ud800', '\udc00', '~', 'z', 'k', 'f', 'b', 'B', 'Z', '0', '9', ' ', '\u00e9')
)

/** `valid` with one to four character edits. */
export function mutatedString (valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(valid, editsOf(interestingChar)).map(([text, edits]) => applyEdits([...text], edits).join(''))
}

/** Every path into a JSON value, the root (`[]`) first; at most `limit` of them. */
function pathsOf (value: unknown, limit = 256): Array<Array<string | number>> {
  const paths: Array<Array<string | number>> = []
  const walk = (node: unknown, path: Array<string | number>): void => {
    if (paths.length >= limit) return
    paths.push(path)
    if (Array.isArray(node)) node.forEach((child, i) => { walk(child, [...path, i]) })
    else if (typeof node === 'object' && node !== null) for (const [key, child] of Object.entries(node)) walk(child, [...path, key])
  }
  walk(value, [])
  return paths
}

/** A copy of `value` with the node at `path` replaced by `replace(node)` (or removed when it returns `undefined`). */
function editAt (value: unknown, path: ReadonlyArray<string | number>, replace: (node: unknown) => unknown): unknown {
  if (path.length === 0) return replace(value)
  const [head, ...rest] = path
  if (Array.isArray(value)) {
    const copy = [...value]
    const child = editAt(copy[head as number], rest, replace)
    if (child === undefined) copy.splice(head as number, 1)
    else copy[head as number] = child
    return copy
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  const child = editAt(copy[head as string], rest, replace)
  if (child === undefined) Reflect.deleteProperty(copy, head as string)
  else copy[head as string] = child
  return copy
}

/** Values that change a JSON node's type or push it to a boundary. */
const oddJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, false, 0, -1, 2 ** 53, -(2 ** 53), 1.5, '', 'null', [], {}, [[[[]]]], { '': null }, '__proto__', 'constructor')
)

/** One edit of a JSON value: replace a node, remove it, add a key, or nest it in an array or object. */
type JsonEdit = { at: number, kind: 'replace' | 'remove' | 'wrap-array' | 'wrap-object' | 'add-key', key: string, value: unknown }

/** `valid` with one to three edits at random nodes: a value of another type, a removed key, an extra key, a nesting. */
export function mutatedJson (valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const edit: fc.Arbitrary<JsonEdit> = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('replace' as const, 'replace' as const, 'remove' as const, 'wrap-array' as const, 'wrap-object' as const, 'add-key' as const),
    key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'id', 'prev', 'header', 'data', '/', '$ref')),
    value: oddJson
  })
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([value, edits]) => {
    let out = value
    for (const e of edits) {
      const paths = pathsOf(out)
      const path = paths[e.at % paths.length] ?? []
      out = editAt(out, path, (node) => {
        switch (e.kind) {
          case 'replace': return e.value
          case 'remove': return path.length === 0 ? e.value : undefined
          case 'wrap-array': return [node]
          case 'wrap-object': return { [e.key]: node }
          case 'add-key': return typeof node === 'object' && node !== null && !Array.isArray(node) ? Object.defineProperty({ ...node }, e.key, { value: e.value, enumerable: true, writable: true, configurable: true }) : e.value
        }
        return node
      })
    }
    return out
  })
}

/**
 * The inputs of a suite: valid ones (1 in 10), mutated valid ones (6 in 10) and `random` ones (3 in 10), so that
 * every run reaches past the first checks of a decoder as well as testing them.
 */
export function fuzzInputs<T> (valid: fc.Arbitrary<T>, mutate: (valid: fc.Arbitrary<T>) => fc.Arbitrary<T>, random: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof(
    { arbitrary: valid, weight: 1 },
    { arbitrary: mutate(valid), weight: 6 },
    { arbitrary: random, weight: 3 }
  )
}

export { fc }
