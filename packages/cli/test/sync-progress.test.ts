import { catchUpText, daemonLogger, syncProgress, terminalStatus, type PeerSync } from '@kiln/cli'
import type { PeerSyncState } from '@kiln/interface'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

const PEER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVabcd'
const OTHER = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6wxyz'

/**
 * A terminal of `columns` columns that keeps what was written and what it shows: `\r` goes back to the start of the
 * line, `ESC [2K` erases it, `\n` starts the next one, other characters overwrite from the cursor.
 */
function fakeTerminal (columns = 120, isTTY = true): { isTTY: boolean, columns: number, chunks: string[], write: (chunk: string) => void, screen: () => string[] } {
  const chunks: string[] = []
  return {
    isTTY,
    columns,
    chunks,
    write: (chunk) => { chunks.push(chunk) },
    screen () {
      const lines = ['']
      let col = 0
      const text = chunks.join('')
      for (let i = 0; i < text.length; i++) {
        const row = lines.length - 1
        if (text.startsWith('\u001b[2K', i)) { lines[row] = ''; i += 3; continue }
        const c = text[i]!
        if (c === '\r') col = 0
        else if (c === '\n') { lines.push(''); col = 0 } else {
          const line = lines[row]!.padEnd(col)
          lines[row] = line.slice(0, col) + c + line.slice(col + 1)
          col++
        }
      }
      return lines
    }
  }
}

/** A peer whose sync is fetching: `received` and `applied` of `wanted` commits. */
function fetching (peerId: string, wanted: number, received: number, applied: number): PeerSync {
  return { peerId, sync: { state: 'syncing', failures: 0, progress: { wanted, received, applied } } }
}

const inSync: PeerSyncState = { state: 'in-sync', failures: 0, last: { at: 0, missing: 10_000, peerMissing: 0, rounds: 23 } }

beforeEach(() => { vi.useFakeTimers() })
afterEach(() => { vi.useRealTimers() })

describe('the progress line of a long catch-up sync', () => {
  it('shows a long sync on one line, redrawn in place at each tick', () => {
    const terminal = fakeTerminal()
    let peers = [fetching(PEER, 10_000, 4_200, 3_900)]
    const progress = syncProgress({ peers: () => peers, line: terminalStatus(terminal), intervalMs: 250 })
    progress.start()
    vi.advanceTimersByTime(250)
    expect(terminal.screen()).toEqual(['catching up with 12D3…abcd: 4,200 of 10,000 commits received, 3,900 applied'])
    peers = [fetching(PEER, 10_000, 8_000, 7_500)]
    vi.advanceTimersByTime(250)
    expect(terminal.screen()).toEqual(['catching up with 12D3…abcd: 8,000 of 10,000 commits received, 7,500 applied'])
    // Nothing scrolls: every redraw goes back to the start of the line.
    expect(terminal.chunks.join('')).not.toContain('\n')
    progress.stop()
  })

  it('is redrawn at most once a tick, and not at all while nothing changed', () => {
    const terminal = fakeTerminal()
    const peers = [fetching(PEER, 10_000, 4_200, 3_900)]
    const progress = syncProgress({ peers: () => peers, line: terminalStatus(terminal), intervalMs: 250 })
    progress.start()
    vi.advanceTimersByTime(249)
    expect(terminal.chunks).toEqual([])
    vi.advanceTimersByTime(1)
    expect(terminal.chunks).toHaveLength(1)
    vi.advanceTimersByTime(1_000)
    expect(terminal.chunks).toHaveLength(1)
    progress.stop()
  })

  it('shows nothing for a sync under the threshold or one that is not fetching, and shows one at the threshold', () => {
    const terminal = fakeTerminal()
    let peers: PeerSync[] = [fetching(PEER, 999, 10, 0), { peerId: OTHER, sync: inSync }, { peerId: 'no-sync' }]
    const progress = syncProgress({ peers: () => peers, line: terminalStatus(terminal), threshold: 1_000, intervalMs: 250 })
    progress.start()
    vi.advanceTimersByTime(1_000)
    expect(terminal.chunks).toEqual([])
    peers = [{ peerId: PEER, sync: { state: 'syncing', failures: 0 } }]
    vi.advanceTimersByTime(250)
    expect(terminal.chunks).toEqual([])
    peers = [fetching(PEER, 1_000, 10, 0)]
    vi.advanceTimersByTime(250)
    expect(terminal.screen()).toEqual(['catching up with 12D3…abcd: 10 of 1,000 commits received, 0 applied'])
    progress.stop()
  })

  it('sums the long syncs of several peers', () => {
    expect(catchUpText([fetching(PEER, 10_000, 4_200, 3_900), fetching(OTHER, 2_000, 100, 50), fetching('small', 10, 1, 1)], 1_000))
      .toBe('catching up with 2 peers: 4,300 of 12,000 commits received, 3,950 applied')
  })

  it('clears the line before a log line, and draws it again under the log at the next tick', () => {
    const terminal = fakeTerminal()
    const line = terminalStatus(terminal)
    const logger = daemonLogger({ level: 'info', format: 'pretty', color: false }, line)
    const peers = [fetching(PEER, 10_000, 4_200, 3_900)]
    const progress = syncProgress({ peers: () => peers, line, intervalMs: 250 })
    progress.start()
    vi.advanceTimersByTime(250)
    logger.info({ peer: OTHER }, 'peer connected')
    const screen = terminal.screen()
    expect(screen).toHaveLength(2)
    expect(screen[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}peer connected peer=12D3KooWEyop\S+$/)
    expect(screen[1]).toBe('')
    vi.advanceTimersByTime(250)
    expect(terminal.screen()).toEqual([screen[0], 'catching up with 12D3…abcd: 4,200 of 10,000 commits received, 3,900 applied'])
    progress.stop()
  })

  it('when the sync finishes, clears the line and leaves the finished-sync log line in its place', () => {
    const terminal = fakeTerminal()
    const line = terminalStatus(terminal)
    const logger = daemonLogger({ level: 'info', format: 'pretty', color: false }, line)
    let peers = [fetching(PEER, 10_000, 9_000, 8_900)]
    const progress = syncProgress({ peers: () => peers, line, intervalMs: 250 })
    progress.start()
    vi.advanceTimersByTime(250)
    // What the network does at the end of a session: log it, then the peer's state moves on.
    logger.info({ peer: PEER, rounds: 23, missing: 10_000, peerMissing: 0, bytes: 48_213, received: 10_000, applied: 10_000, documents: 1_000, refused: 0, failed: 0, ms: 2_345 }, 'synced with a peer')
    peers = [{ peerId: PEER, sync: inSync }]
    vi.advanceTimersByTime(1_000)
    const screen = terminal.screen()
    expect(screen).toHaveLength(2)
    expect(screen[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}synced with 12D3…abcd: 10,000 commits received, 10,000 applied over 1,000 documents, 23 rounds \(48\.2 kB\), 2\.3 s$/)
    expect(screen[1]).toBe('')
    progress.stop()
  })

  it('cuts the line to the terminal\'s width, leaving the last column free', () => {
    const terminal = fakeTerminal(40)
    const progress = syncProgress({ peers: () => [fetching(PEER, 10_000, 4_200, 3_900)], line: terminalStatus(terminal), intervalMs: 250 })
    progress.start()
    vi.advanceTimersByTime(250)
    expect(terminal.screen()).toEqual(['catching up with 12D3…abcd: 4,200 of 1…'])
    expect(terminal.screen()[0]).toHaveLength(39)
    progress.stop()
  })

  it('draws nothing on a stream that is not a terminal, and passes log lines through unchanged', () => {
    const stream = fakeTerminal(120, false)
    const line = terminalStatus(stream)
    const progress = syncProgress({ peers: () => [fetching(PEER, 10_000, 4_200, 3_900)], line, intervalMs: 250 })
    progress.start()
    vi.advanceTimersByTime(1_000)
    line.write('a log line\n')
    expect(stream.chunks).toEqual(['a log line\n'])
    progress.stop()
    expect(stream.chunks).toEqual(['a log line\n'])
  })

  it('clears the line when the peers cannot be read, and keeps ticking', () => {
    const terminal = fakeTerminal()
    let failing = false
    const progress = syncProgress({
      peers: () => { if (failing) throw new Error('The libp2p network is not started'); return [fetching(PEER, 10_000, 4_200, 3_900)] },
      line: terminalStatus(terminal),
      intervalMs: 250
    })
    progress.start()
    vi.advanceTimersByTime(250)
    expect(terminal.screen()).toEqual(['catching up with 12D3…abcd: 4,200 of 10,000 commits received, 3,900 applied'])
    failing = true
    vi.advanceTimersByTime(250)
    expect(terminal.screen()).toEqual([''])
    failing = false
    vi.advanceTimersByTime(250)
    expect(terminal.screen()).toEqual(['catching up with 12D3…abcd: 4,200 of 10,000 commits received, 3,900 applied'])
    progress.stop()
  })

  it('runs on a timer that does not keep the process alive, and stop() clears the timer and the line', () => {
    const terminal = fakeTerminal()
    const handle = { unref: vi.fn() }
    const timers = { setInterval: vi.fn((_callback: () => void, _ms: number) => handle), clearInterval: vi.fn() }
    const progress = syncProgress({ peers: () => [fetching(PEER, 10_000, 4_200, 3_900)], line: terminalStatus(terminal), intervalMs: 250, timers })
    progress.start()
    expect(timers.setInterval).toHaveBeenCalledTimes(1)
    expect(timers.setInterval.mock.calls[0]![1]).toBe(250)
    expect(handle.unref).toHaveBeenCalledTimes(1)
    timers.setInterval.mock.calls[0]![0]()
    expect(terminal.screen()).toEqual(['catching up with 12D3…abcd: 4,200 of 10,000 commits received, 3,900 applied'])
    progress.stop()
    expect(timers.clearInterval).toHaveBeenCalledWith(handle)
    expect(terminal.screen()).toEqual([''])
  })

  it('leaves no timer behind once stopped', () => {
    const terminal = fakeTerminal()
    const progress = syncProgress({ peers: () => [], line: terminalStatus(terminal) })
    const before = vi.getTimerCount()
    progress.start()
    expect(vi.getTimerCount()).toBe(before + 1)
    progress.stop()
    expect(vi.getTimerCount()).toBe(before)
  })
})
