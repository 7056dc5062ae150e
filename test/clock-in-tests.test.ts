import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { findBlindSleeps, findWallClockAssertions, scanTests, testFiles, type ClockUse } from './fixtures/clock-in-tests.js'

const repoRoot = resolve(import.meta.dirname, '..')

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

  it.each([
    ['a promise resolved by setTimeout', 'await new Promise((resolve) => setTimeout(resolve, 20))'],
    ['one whose timer callback calls resolve', 'await new Promise<void>((r) => { setTimeout(() => { r() }, 20) })'],
    ['one that does something else, then lets a timer resolve it', 'await new Promise((r) => { start(); setTimeout(r, 5) })'],
    ['a timer promise raced against something', 'await Promise.race([done, new Promise((r) => setTimeout(r, 100))])'],
    ['setImmediate', 'await new Promise((r) => setImmediate(r))'],
    ['a sleep helper', 'await sleep(5)'],
    ['a delay method', 'await this.delay(5)'],
    ['setTimeout of timers/promises under another name', "import { setTimeout as pause } from 'node:timers/promises'\nawait pause(5)"],
    ['setTimeout of timers/promises', "import { setTimeout } from 'timers/promises'\nawait setTimeout(5)"],
    ['scheduler.wait of timers/promises', "import * as timers from 'node:timers/promises'\nawait timers.scheduler.wait(5)"]
  ])('flags %s', (_what, source) => {
    expect(lines(source)).toEqual([source.split('\n').length])
  })

  it('flags a sleep written over several lines at the line it starts, in a .js file too', () => {
    const source = 'const a = 1\nawait new Promise((resolve) =>\n  setTimeout(resolve, 20)\n)\n'
    expect(findBlindSleeps('x.mjs', source).map((u) => u.line)).toEqual([2])
  })

  it.each([
    ['a promise an event resolves', "await new Promise((resolve) => { server.once('listening', resolve) })"],
    ['a deadline raced against an event', "await new Promise((resolve, reject) => { child.once('exit', resolve); setTimeout(() => { reject(new TimeoutError('late')) }, 5000) })"],
    ['a deadline that resolves what an event also resolves', 'await new Promise((resolve) => { wake = () => { resolve(find()) }; setTimeout(() => { resolve(undefined) }, 5000) })'],
    ['a timer that aborts a signal', 'setTimeout(() => { controller.abort() }, 10_000)'],
    ['vi.waitFor', 'await vi.waitFor(() => { expect(done).toBe(true) }, { timeout: 5000, interval: 20 })'],
    ['fake timers', 'await vi.advanceTimersByTimeAsync(1000)'],
    ['a wait for something that is not the clock', 'await waitForAnchor(node, id)'],
    ['the words in a string or a comment', "const s = 'await sleep(5)' // await new Promise((r) => setTimeout(r, 5))"]
  ])('accepts %s', (_what, source) => {
    expect(lines(source)).toEqual([])
  })

  it('accepts a sleep vouched for by a `timing:` comment on its line or right above it, and only with a reason', () => {
    expect(lines('await sleep(5) // timing: simulates a slow server')).toEqual([])
    expect(lines('// timing: simulates a slow server,\n// one chunk at a time\nawait sleep(5)')).toEqual([])
    expect(lines('// timing:\nawait sleep(5)')).toEqual([2])
    expect(lines('// timing: simulates a slow server\nconst x = 1\nawait sleep(5)')).toEqual([3])
  })

  it('names the file, the line and the code', () => {
    expect(findBlindSleeps('packages/x/test/a.test.ts', 'it("a", async () => {\n  await sleep(5)\n})')).toEqual([
      { file: 'packages/x/test/a.test.ts', line: 2, text: 'await sleep(5)', why: expect.stringContaining('sleep()') }
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
