import { CodecError, InvalidDocIDError } from '@kiln/interface'
import { describe, expect, it } from 'vitest'
import { describeFuzzReport, fc, fuzz, fuzzInputs, fuzzSeed, mutatedBytes, mutatedJson, mutatedString } from '@kiln/interface-tests/fuzz'

// The harness must catch each way a decoder can fail the rules, or the suites built on it prove nothing.

const bytes = fc.uint8Array({ maxLength: 32 })

describe('the fuzz harness', () => {
  it('passes a decoder that refuses with named errors, and counts what it saw', async () => {
    const report = await fuzz({
      name: 'harness-good',
      inputs: bytes,
      runs: 500,
      run: (input) => { if (input.length % 2 === 1) throw new CodecError('odd'); return input.length },
      accepted: (input, result) => { expect(result).toBe(input.length) }
    })
    expect(report.runs).toBe(500)
    expect(report.accepted + (report.refused.CodecError ?? 0)).toBe(500)
    expect(report.accepted).toBeGreaterThan(0)
    expect(report.refused.CodecError).toBeGreaterThan(0)
    expect(describeFuzzReport(report)).toMatch(/^fuzz harness-good: 500 inputs \(\d+ accepted; refused: \d+ CodecError\), seed -?\d+$/)
  })

  it('fails on a crash that is not a named KilnError, naming the seed', async () => {
    const run = fuzz({ name: 'harness-crash', inputs: bytes, runs: 500, run: (input) => { if (input.length > 3) throw new TypeError('boom') } })
    await expect(run).rejects.toThrow(/failed \(seed -?\d+; rerun with KILN_FUZZ_SEED=-?\d+\)[\s\S]*TypeError/)
  })

  it('fails on a refusal whose name is not among the allowed ones', async () => {
    const run = fuzz({ name: 'harness-name', inputs: bytes, runs: 200, errors: ['CodecError'], run: () => { throw new InvalidDocIDError('no') } })
    await expect(run).rejects.toThrow(/InvalidDocIDError, which is not among CodecError/)
  })

  it('fails when a refused input wrote something', async () => {
    let written = 0
    const run = fuzz({
      name: 'harness-write',
      inputs: bytes,
      runs: 200,
      writes: () => written,
      run: (input) => { written++; if (input.length > 2) throw new CodecError('too long') }
    })
    await expect(run).rejects.toThrow(/wrote \(\d+ → \d+\) while refusing with CodecError/)
  })

  it('fails when the oracle finds an invalid input accepted', async () => {
    const run = fuzz({ name: 'harness-oracle', inputs: bytes, runs: 200, run: (input) => input.length, accepted: (_input, result) => { expect(result).toBeLessThan(5) } })
    await expect(run).rejects.toThrow(/FuzzFailure|failed/)
  })

  it('fails on an input that holds the event loop past its bound', async () => {
    const run = fuzz({
      name: 'harness-slow',
      inputs: fc.integer({ min: 0, max: 100 }),
      runs: 100,
      inputMs: 20,
      run: (n) => { if (n > 90) { const until = performance.now() + 40; while (performance.now() < until); } }
    })
    await expect(run).rejects.toThrow(/took \d+ ms \(more than 20 ms\)/)
  })

  it('fails on an input whose promise never settles', async () => {
    const run = fuzz({ name: 'harness-hang', inputs: fc.integer({ min: 0, max: 100 }), runs: 100, inputMs: 50, run: async (n) => { if (n > 90) await new Promise(() => {}) } })
    await expect(run).rejects.toThrow(/timeout/i)
  })

  it('derives a fixed seed from the name, and takes KILN_FUZZ_SEED over it', () => {
    expect(fuzzSeed('a suite')).toBe(fuzzSeed('a suite'))
    expect(fuzzSeed('a suite')).not.toBe(fuzzSeed('another suite'))
    const saved = process.env.KILN_FUZZ_SEED
    try {
      process.env.KILN_FUZZ_SEED = '42'
      expect(fuzzSeed('a suite')).toBe(42)
      process.env.KILN_FUZZ_SEED = 'x'
      expect(() => fuzzSeed('a suite')).toThrow(RangeError)
    } finally {
      if (saved === undefined) delete process.env.KILN_FUZZ_SEED
      else process.env.KILN_FUZZ_SEED = saved
    }
  })

  it('replays the same inputs from the same seed', async () => {
    const seen: string[][] = [[], []]
    for (const list of seen) {
      await fuzz({ name: 'harness-replay', inputs: mutatedString(fc.constant('kjzl6cwe1jw14')), runs: 50, run: (s) => { list.push(s) } })
    }
    expect(seen[0]).toEqual(seen[1])
  })

  it('mutates valid inputs into near misses', () => {
    const base = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])
    const mutated = fc.sample(mutatedBytes(fc.constant(base)), { seed: 7, numRuns: 200 })
    expect(mutated.some((m) => m.length !== base.length)).toBe(true)
    expect(mutated.filter((m) => m.length === base.length && m.some((b, i) => b !== base[i])).length).toBeGreaterThan(0)
    const json = fc.sample(mutatedJson(fc.constant({ id: 'x', data: [1, 2], header: { a: true } })), { seed: 7, numRuns: 200 })
    expect(new Set(json.map((j) => JSON.stringify(j))).size).toBeGreaterThan(50)
    const mixed = fc.sample(fuzzInputs(fc.constant('valid'), mutatedString, fc.string()), { seed: 7, numRuns: 300 })
    expect(mixed).toContain('valid')
    expect(mixed.filter((s) => s !== 'valid').length).toBeGreaterThan(150)
  })
})
