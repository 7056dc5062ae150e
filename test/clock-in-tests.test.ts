import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { findBlindSleeps, findWallClockAssertions, scanTests, testFiles, type ClockUse } from './fixtures/clock-in-tests.js'

const repoRoot = resolve(import.meta.dirname, '..')

/** Sources the guard must flag, and sources it must accept: data, so that no test file holds a sleep, even as text. */
const samples = JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures/clock-samples.json'), 'utf8')) as {
  sleeps: Array<{ what: string, source: string }>
  notSleeps: Array<{ what: string, source: string }>
  multiLine: { file: string, source: string, flaggedLines: number[] }
  vouched: Array<{ what: string, source: string, flaggedLines: number[] }>
  named: { file: string, source: string, line: number, text: string }
}

/**
 * Test files that still sleep, left to the engineers rewriting their packages; an entry is deleted once its file
 * waits on events. The guard fails if a listed file no longer sleeps, so that the list only shrinks.
 */
const KNOWN_SLEEPERS = new Set<string>([])

function show (uses: ClockUse[]): string[] {
  return uses.map((u) => `${u.file}:${u.line}: ${u.text}  <- ${u.why}`)
}

describe('tests wait on events, not on the clock', () => {
  it('no test file sleeps to let something happen, unless a `// timing: <why>` comment says it plays a slow peer', () => {
    const sleeps = scanTests(repoRoot, findBlindSleeps).filter((u) => !KNOWN_SLEEPERS.has(u.file))
    expect(show(sleeps)).toEqual([])
  })

  it('every file on the list of known sleepers still sleeps: delete the entry of a file that was fixed', () => {
    const sleeping = new Set(scanTests(repoRoot, findBlindSleeps).map((u) => u.file))
    expect([...KNOWN_SLEEPERS].filter((file) => !sleeping.has(file))).toEqual([])
  })

  it('no test asserts how long something took on the wall clock (timing belongs in bench/)', () => {
    expect(show(scanTests(repoRoot, findWallClockAssertions))).toEqual([])
  })

  it('scans the test folders of every package and example, the root test folder and the compliance suites', () => {
    const files = testFiles(repoRoot)
    expect(files).toContain('packages/http-client/test/watch.test.ts')
    expect(files).toContain('packages/integration-tests/test/fixtures/daemon.ts')
    expect(files).toContain('packages/interface-tests/src/anchor.ts')
    expect(files).toContain('test/clock-in-tests.test.ts')
    expect(files.some((f) => f.startsWith('examples/'))).toBe(true)
    expect(files.some((f) => f.includes('/dist/') || f.includes('node_modules'))).toBe(false)
  })
})

describe('findBlindSleeps', () => {
  const lines = (source: string): number[] => findBlindSleeps('x.test.ts', source).map((u) => u.line)

  it.each(samples.sleeps.map(({ what, source }) => [what, source]))('flags %s', (_what, source) => {
    expect(lines(source)).toEqual([source.split('\n').length])
  })

  it('flags a sleep written over several lines at the line it starts, in a .js file too', () => {
    const { file, source, flaggedLines } = samples.multiLine
    expect(findBlindSleeps(file, source).map((u) => u.line)).toEqual(flaggedLines)
  })

  it.each(samples.notSleeps.map(({ what, source }) => [what, source]))('accepts %s', (_what, source) => {
    expect(lines(source)).toEqual([])
  })

  // A sleep is vouched for by a `timing:` comment on its line or right above it, and only with a reason.
  it.each(samples.vouched.map(({ what, source, flaggedLines }) => [what, source, flaggedLines]))('judges %s', (_what, source, flaggedLines) => {
    expect(lines(source as string)).toEqual(flaggedLines)
  })

  it('names the file, the line and the code', () => {
    const { file, source, line, text } = samples.named
    expect(findBlindSleeps(file, source)).toEqual([
      { file, line, text, why: expect.stringContaining('sleep()') }
    ])
  })
})

describe('findWallClockAssertions', () => {
  const lines = (source: string): number[] => findWallClockAssertions('x.test.ts', source).map((u) => u.line)

  it.each([
    ['Date.now() in a budget', 'expect(Date.now() - started).toBeLessThan(1500)'],
    ['performance.now()', 'expect(performance.now() - t0).not.toBeGreaterThan(100)'],
    ['process.hrtime.bigint()', 'expect(process.hrtime.bigint() - t0).toBeLessThan(10n)'],
    ['a variable named elapsed', 'expect(elapsed).toBeLessThanOrEqual(200)']
  ])('flags %s', (_what, source) => {
    expect(lines(source)).toEqual([1])
  })

  it.each([
    ['a comparison of values', 'expect(fee).toBeLessThan(limit)'],
    ['a timestamp checked against a clock the test set', 'expect(timestamp).toBeGreaterThan(T0)'],
    ['an equality on the clock', 'expect(Date.now()).toBe(T0)']
  ])('accepts %s', (_what, source) => {
    expect(lines(source)).toEqual([])
  })
})
