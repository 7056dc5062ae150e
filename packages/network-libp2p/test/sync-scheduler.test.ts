import { afterEach, describe, expect, it, vi } from 'vitest'
import { SyncScheduler, type SyncRun } from '../src/index.js'

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
    scheduler.soon('peer')
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
    await vi.advanceTimersByTimeAsync(5_000)
    release!()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(runs).toEqual([0, 6_000])
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
})
