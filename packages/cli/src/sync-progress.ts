import type { PeerSyncState } from '@kiln/interface'

/**
 * A sync fetching at least this many commits from a peer gets a progress line on a terminal. At the measured rate of a
 * fresh node (about 1,000 commits/s on loopback) that is a sync of a second or more; shorter ones would only flash.
 */
export const LONG_SYNC_COMMITS = 1_000

/** How often the progress line is redrawn: a few times a second is enough to see it move. */
export const PROGRESS_REDRAW_MS = 250

/** A count as people read it: `10,000`. */
function count (n: number): string {
  return n.toLocaleString('en-US')
}

/** `1 round`, `23 rounds`, with the count's thousands separated. */
function counted (n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`
}

/** A PeerId short enough for a line: its first and last four characters (`12D3…abcd`). */
export function shortPeerId (peerId: string): string {
  return peerId.length > 12 ? `${peerId.slice(0, 4)}…${peerId.slice(-4)}` : peerId
}

/** A duration in milliseconds as people read it: `45 ms`, `2.3 s`, `2 min 5 s`. */
export function durationText (ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`
  const seconds = Math.round(ms / 1_000)
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`
}

/** A size in bytes: `312 B`, `48.2 kB`, `1.2 MB`. */
function bytesText (bytes: number): string {
  if (bytes < 1_000) return `${bytes} B`
  if (bytes < 1_000_000) return `${(bytes / 1_000).toFixed(1)} kB`
  return `${(bytes / 1_000_000).toFixed(1)} MB`
}

/** The fields of the network's `synced with a peer` log line that {@link finishedSyncText} puts into words. */
export const FINISHED_SYNC_FIELDS: ReadonlySet<string> = new Set(['peer', 'rounds', 'missing', 'peerMissing', 'bytes', 'received', 'applied', 'documents', 'refused', 'failed', 'ms'])

/**
 * The network's `synced with a peer` log entry in words: `synced with 12D3…abcd: 10,000 commits received, 10,000
 * applied over 1,000 documents, 23 rounds (48.2 kB), 2.3 s`. Undefined when the entry lacks the fields it needs, so
 * the caller shows it field by field instead.
 */
export function finishedSyncText (entry: Record<string, unknown>): string | undefined {
  const { peer, rounds, missing, peerMissing, ms } = entry
  if (typeof peer !== 'string' || !isCount(rounds) || !isCount(missing) || !isCount(peerMissing) || typeof ms !== 'number') return undefined
  const number = (key: string): number | undefined => isCount(entry[key]) ? entry[key] : undefined
  const received = number('received')
  const parts: string[] = []
  if (received !== undefined) {
    const applied = number('applied') ?? 0
    const documents = number('documents')
    parts.push(received === missing ? `${counted(received, 'commit')} received` : `${count(received)} of ${counted(missing, 'missing commit')} received`)
    parts.push(`${count(applied)} applied${documents === undefined ? '' : ` over ${counted(documents, 'document')}`}`)
    const refused = number('refused') ?? 0
    const failed = number('failed') ?? 0
    if (refused > 0) parts.push(`${count(refused)} refused`)
    if (failed > 0) parts.push(`${count(failed)} failed`)
  } else if (missing > 0) {
    // The network fetches nothing when every missing key was refused recently: it does not want them again yet.
    parts.push(`${counted(missing, 'commit')} missing here, none fetched (refused recently)`)
  }
  if (peerMissing > 0) parts.push(`${counted(peerMissing, 'commit')} missing on the peer`)
  if (parts.length === 0) parts.push('nothing missing')
  const bytes = number('bytes')
  parts.push(`${counted(rounds, 'round')}${bytes === undefined ? '' : ` (${bytesText(bytes)})`}`)
  parts.push(durationText(ms))
  return `synced with ${shortPeerId(peer)}: ${parts.join(', ')}`
}

function isCount (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

/** A connected peer and where catch-up sync stands with it: an entry of `nodeInfo().network.peers`. */
export interface PeerSync {
  peerId: string
  sync?: PeerSyncState
}

/**
 * The progress line for the long syncs among `peers`: `catching up with 12D3…abcd: 4,200 of 10,000 commits received,
 * 3,900 applied`, summed over the peers when several run at once; undefined when none is running.
 */
export function catchUpText (peers: readonly PeerSync[], threshold = LONG_SYNC_COMMITS): string | undefined {
  const long = peers.filter((p) => p.sync?.state === 'syncing' && p.sync.progress !== undefined && p.sync.progress.wanted >= threshold)
  if (long.length === 0) return undefined
  let wanted = 0
  let received = 0
  let applied = 0
  for (const peer of long) {
    const progress = peer.sync!.progress!
    wanted += progress.wanted
    received += progress.received
    applied += progress.applied
  }
  const who = long.length === 1 ? shortPeerId(long[0]!.peerId) : `${long.length} peers`
  return `catching up with ${who}: ${count(received)} of ${counted(wanted, 'commit')} received, ${count(applied)} applied`
}

/** The one line at the bottom of a terminal that {@link syncProgress} draws on. */
export interface StatusLine {
  /** Draws `text` in place of what the line showed. */
  show(text: string): void
  /** Blanks the line. */
  clear(): void
}

/** The timer functions {@link syncProgress} uses; the globals by default. */
export interface ProgressTimers {
  setInterval(callback: () => void, ms: number): unknown
  clearInterval(timer: unknown): void
}

// The globals are looked up at each call, not captured at import, so that a test's fake timers are the ones used.
const GLOBAL_TIMERS: ProgressTimers = {
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (timer) => { clearInterval(timer as NodeJS.Timeout) }
}

/** Options of {@link syncProgress}. */
export interface SyncProgressInit {
  /** The connected peers and their sync states, asked at each redraw; undefined while the node is on no network. */
  peers: () => readonly PeerSync[] | undefined
  line: StatusLine
  /** Commits a sync must want to get the line; {@link LONG_SYNC_COMMITS} by default. */
  threshold?: number
  /** Milliseconds between redraws; {@link PROGRESS_REDRAW_MS} by default. */
  intervalMs?: number
  timers?: ProgressTimers
}

/** A progress line that runs from `start()` to `stop()`. */
export interface SyncProgress {
  start(): void
  stop(): void
}

/**
 * A status line on a terminal while a long catch-up sync runs: every `intervalMs` it asks for the peers' sync states
 * and shows {@link catchUpText}, or clears the line when no long sync runs. Its timer does not keep the process
 * alive, and `stop()` clears both the timer and the line.
 */
export function syncProgress (init: SyncProgressInit): SyncProgress {
  const threshold = init.threshold ?? LONG_SYNC_COMMITS
  const intervalMs = init.intervalMs ?? PROGRESS_REDRAW_MS
  let running: { timers: ProgressTimers, timer: unknown } | undefined
  const redraw = (): void => {
    let text: string | undefined
    try {
      text = catchUpText(init.peers() ?? [], threshold)
    } catch {
      // A network that is stopping may refuse to tell its peers: there is nothing to show then.
      text = undefined
    }
    if (text === undefined) init.line.clear()
    else init.line.show(text)
  }
  return {
    start () {
      if (running !== undefined) return
      const timers = init.timers ?? GLOBAL_TIMERS
      const timer = timers.setInterval(redraw, intervalMs)
      ;(timer as { unref?: () => unknown }).unref?.()
      running = { timers, timer }
    },
    stop () {
      if (running === undefined) return
      running.timers.clearInterval(running.timer)
      running = undefined
      init.line.clear()
    }
  }
}
