import { afterEach, describe, expect, it, vi } from 'vitest'
import { SOON_COST_FACTOR, SyncScheduler, type SyncRun } from '../src/index.js'

const quiet: SyncRun = { outcome: { missing: [], peerMissing: [], rounds: 1, bytesSent: 0, bytesReceived: 0 } as unknown as SyncRun['outcome'], applied: 0 }

describe('SyncScheduler', () => {
  afterEach(() => { vi.useRealTimers() })

  it('runs a session at connection, then at the interval, and one `soonMs` after the last when asked soon', async () => {
    vi.useFakeTimers({ now: 0 })
    const runs: number[] = []
    const scheduler = new SyncScheduler(async () => { runs.push(Date.now()); return quiet }, { intervalMs: 60_000, soonMs: 1_000 })
    scheduler.connected('peer')
    await vi.advanceTimersByTimeAsync(0)
    expect(runs).toEqual([0])
    // Asked soon three times in a row: one session, a second after the last ended, none for the other two.
    await vi.advanceTimersByTimeAsync(200)
    expect(scheduler.wouldBringForward('peer')).toBe(true)
    expect(scheduler.wouldBringForward('stranger')).toBe(false)
    scheduler.soon('peer')
    // Already brought forward: asking again changes nothing, and the network skips its head lookup.
    expect(scheduler.wouldBringForward('peer')).toBe(false)
    scheduler.soon('peer')
    await vi.advanceTimersByTimeAsync(500)
    scheduler.soon('peer')
    await vi.advanceTimersByTimeAsync(300)
    expect(runs).toEqual([0, 1_000])
    // Then the interval again.
    await vi.advanceTimersByTimeAsync(60_000)
    expect(runs).toEqual([0, 1_000, 61_000])
    scheduler.stop()
  })

  it('asked soon during a session, runs the next one `soonMs` after it; an unknown or backing-off peer is left alone', async () => {
    vi.useFakeTimers({ now: 0 })
    const runs: number[] = []
    let release: (() => void) | undefined
    let failing = false
    const scheduler = new SyncScheduler(async () => {
      runs.push(Date.now())
      if (failing) throw new Error('refused')
      await new Promise<void>((resolve) => { release = resolve })
      return quiet
    }, { intervalMs: 60_000, soonMs: 1_000, backoffMinMs: 10_000, backoffMaxMs: 10_000 })
    scheduler.connected('peer')
    await vi.advanceTimersByTimeAsync(0)
    scheduler.soon('peer')
    scheduler.soon('stranger')
    await vi.advanceTimersByTimeAsync(50)
    release!()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(runs).toEqual([0, 1_050])
    failing = true
    release!()
    await vi.advanceTimersByTimeAsync(61_000)
    expect(scheduler.status()[0]).toMatchObject({ state: 'backing-off', failures: 1 })
    const before = runs.length
    scheduler.soon('peer')
    await vi.advanceTimersByTimeAsync(5_000)
    expect(runs).toHaveLength(before)
    expect(scheduler.status().map((s) => s.peerId)).toEqual(['peer'])
    scheduler.stop()
  })

  it('spaces out sessions asked soon that bring nothing (1 s, 2 s, 4 s… after the last), and one that brings commits sets the wait back', async () => {
    vi.useFakeTimers({ now: 0 })
    const runs: number[] = []
    // The sixth session brings a commit; the others bring nothing (announcements of documents outside the interests).
    const scheduler = new SyncScheduler(async () => {
      runs.push(Date.now())
      return { ...quiet, applied: runs.length === 6 ? 1 : 0 }
    }, { intervalMs: 60_000, soonMs: 1_000, backoffMinMs: 500 })
    scheduler.connected('peer')
    await vi.advanceTimersByTimeAsync(0)
    // Asked soon right after each session: each waits twice as long as the one before.
    for (const wait of [1_000, 2_000, 4_000, 8_000, 16_000]) {
      scheduler.soon('peer')
      await vi.advanceTimersByTimeAsync(wait)
    }
    expect(runs).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000])
    // The last brought a commit: the next session follows after backoffMinMs, and a soon one after soonMs again.
    await vi.advanceTimersByTimeAsync(500)
    scheduler.soon('peer')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(runs).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000, 31_500, 32_500])
    scheduler.stop()
  })

  it('waits at least ten times as long as the last session took before one asked soon', async () => {
    vi.useFakeTimers({ now: 0 })
    const runs: number[] = []
    // Each session takes 500 ms on the scheduler's clock (a large key set): one brought forward waits 5 s after it.
    let spent = 0
    const scheduler = new SyncScheduler(async () => {
      runs.push(Date.now())
      spent += 500
      return quiet
    }, { intervalMs: 60_000, soonMs: 1_000 }, () => Date.now() + spent)
    expect(SOON_COST_FACTOR).toBe(10)
    scheduler.connected('peer')
    await vi.advanceTimersByTimeAsync(0)
    scheduler.soon('peer')
    await vi.advanceTimersByTimeAsync(4_999)
    expect(runs).toEqual([0])
    await vi.advanceTimersByTimeAsync(1)
    expect(runs).toEqual([0, 5_000])
    scheduler.stop()
  })
})
