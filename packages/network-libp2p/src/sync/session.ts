import { AbortError, CodecError, isKilnError, LimitExceededError } from '@kiln/interface'
import type { SyncChannel } from './channel.js'
import { compareKeys, type SyncRange } from './keys.js'
import { decodeSyncMessage, encodeSyncMessage, isSyncKeysItem, MAX_SYNC_MESSAGE_ITEMS, MAX_SYNC_REASON_BYTES, SYNC_PROTOCOL_VERSION, type SyncMessage, type SyncRangeItem } from './messages.js'
import type { SyncKeyStore } from './store.js'
import { normaliseSyncFilter, type SyncFilter } from './interests.js'
import { syncSummariesEqual } from './summary.js'
import { toHex } from '#platform/bytes'

// One reconciliation session, the same function on both sides; only who speaks first differs.
//
//   1. hello: the initiator sends its version, network and interests; the responder checks them and answers with its
//      own. Both take the intersection of the two sets of interests: only keys in it are ever mentioned.
//   2. ranges: the initiator describes each shared range; from then on each side answers every range of the message it
//      received, in one `ranges` message, until a side has nothing to answer and sends `done` instead.
//      - a summary equal to its own: nothing (an equal range costs nothing more);
//      - a summary that differs: its own keys in full when it holds at most `listThreshold` of them, else the range
//        split at its own keys into `splitParts` parts, each summarised (or listed when small);
//      - a list of keys: it now knows which of them it lacks and which of its own the peer lacks; unless it listed that
//        very range itself already, it answers with its own list (or, when it holds many, with the parts that differ).
// Every loop is bounded: rounds, ranges per message and keys received per session; a peer past a bound is refused
// with LimitExceededError (and told why in an `error` message).

/** The bounds of one session. */
export interface SyncLimits {
  /** The most `ranges` messages, sent and received together. */
  maxRounds: number
  /** The most ranges in one `ranges` message, either way. */
  maxRangesPerMessage: number
  /** The most keys the peer may list over the whole session. */
  maxKeys: number
  /** The most keys this side lists in bulk in one session; the rest waits for the next session. */
  maxListedKeys: number
}

/** How a session splits and lists ranges. */
export interface SyncSplitting {
  /** Into how many parts a differing range is split. */
  splitParts: number
  /** A range holding at most this many keys is listed rather than summarised. */
  listThreshold: number
}

/** The default bounds: 64 rounds, 1,000 ranges per message, 100,000 keys listed by the peer and 20,000 by this side per session. */
export const DEFAULT_SYNC_LIMITS: Readonly<SyncLimits> = Object.freeze({ maxRounds: 64, maxRangesPerMessage: MAX_SYNC_MESSAGE_ITEMS, maxKeys: 100_000, maxListedKeys: 20_000 })

/** The most keys in one part of a bulk listing (a range the peer holds a few keys of and this side many): two parts fill a message. */
export const BULK_LIST_KEYS = 499
/** The default splitting: differing ranges cut in quarters (fewer rounds than halves), ranges of at most 4 keys listed as Recon does. */
export const DEFAULT_SYNC_SPLITTING: Readonly<SyncSplitting> = Object.freeze({ splitParts: 4, listThreshold: 4 })

/** What a session needs: which side it is, the node's network, keys and interests, and the channel to the peer. */
export interface SyncSessionInit {
  role: 'initiator' | 'responder'
  network: string
  store: SyncKeyStore
  /** The ranges of keys this node wants to reconcile. */
  interests: SyncRange[]
  channel: SyncChannel
  /** The filter this node's documents must also pass (docs/sync.md, Interests), sent in its hello. */
  filter?: SyncFilter
  /**
   * The set this side reconciles once the hellos are exchanged, given the peer's filter and the shared ranges (a
   * node with filters builds it per session); `store` when left out.
   */
  storeFor?: (peer: { filter?: SyncFilter, shared: SyncRange[] }) => SyncKeyStore | Promise<SyncKeyStore>
  limits?: Partial<SyncLimits>
  splitting?: Partial<SyncSplitting>
  signal?: AbortSignal
}

/** What a session found and what it cost. */
export interface SyncOutcome {
  /** Keys the peer holds and this node lacks, in order: what it will `want`. */
  missing: Uint8Array[]
  /** Keys this node holds and the peer lacks, as far as the session showed them, in order. */
  peerMissing: Uint8Array[]
  /** The ranges shared by both sides' interests. */
  shared: SyncRange[]
  /**
   * Whether this side left keys unlisted (past `maxListedKeys`): the peer may lack more than the session showed, and
   * the next session lists them.
   */
  truncated: boolean
  /** `ranges` messages sent and received. */
  rounds: number
  messagesSent: number
  messagesReceived: number
  bytesSent: number
  bytesReceived: number
  /** Keys the peer listed. */
  keysReceived: number
}

/** `ranges` sorted and merged where they overlap or touch. */
export function normaliseSyncRanges (ranges: readonly SyncRange[]): SyncRange[] {
  const sorted = ranges.filter((r) => compareKeys(r.start, r.end) < 0).sort((a, b) => compareKeys(a.start, b.start))
  const out: SyncRange[] = []
  for (const r of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined && compareKeys(r.start, last.end) <= 0) {
      if (compareKeys(r.end, last.end) > 0) last.end = r.end
    } else {
      out.push({ start: r.start, end: r.end })
    }
  }
  return out
}

/** The ranges in both `a` and `b`, normalised. */
export function intersectSyncRanges (a: readonly SyncRange[], b: readonly SyncRange[]): SyncRange[] {
  const x = normaliseSyncRanges(a)
  const y = normaliseSyncRanges(b)
  const out: SyncRange[] = []
  let i = 0
  let j = 0
  while (i < x.length && j < y.length) {
    const p = x[i]!
    const q = y[j]!
    const start = compareKeys(p.start, q.start) >= 0 ? p.start : q.start
    const end = compareKeys(p.end, q.end) <= 0 ? p.end : q.end
    if (compareKeys(start, end) < 0) out.push({ start, end })
    if (compareKeys(p.end, q.end) <= 0) i++
    else j++
  }
  return out
}

const hex = toHex
const rangeId = (r: SyncRange): string => `${hex(r.start)}-${hex(r.end)}`

const peerEnded = new WeakSet<Error>()

/** A `CodecError` for a session the peer ended: it is not answered with an `error` of this side's. */
function endedByPeer (message: string, options?: ConstructorParameters<typeof CodecError>[1]): CodecError {
  const err = new CodecError(message, options)
  peerEnded.add(err)
  return err
}

/** Runs one side of a session over `channel` until both sides are done; refuses a peer past the limits. */
export async function reconcile (init: SyncSessionInit): Promise<SyncOutcome> {
  const limits: SyncLimits = { ...DEFAULT_SYNC_LIMITS, ...init.limits }
  const { splitParts, listThreshold }: SyncSplitting = { ...DEFAULT_SYNC_SPLITTING, ...init.splitting }
  const { channel, signal } = init
  let store = init.store
  const outcome: SyncOutcome = { missing: [], peerMissing: [], shared: [], truncated: false, rounds: 0, messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0, keysReceived: 0 }
  const missing = new Map<string, Uint8Array>()
  const peerMissing = new Map<string, Uint8Array>()
  /** Ranges whose keys this side has listed in full: a list of the same range is not answered again. */
  const listed = new Set<string>()
  /** Keys this side listed in bulk so far, against `maxListedKeys`. */
  let listedKeys = 0
  /** The peer's ranges not answered yet: the last reply had no room for them. */
  const deferred: SyncRangeItem[] = []
  const incoming = channel.receive()[Symbol.asyncIterator]()

  const limit = (what: string, value: number, max: number): never => {
    throw new LimitExceededError(`Sync with the peer stopped: ${what} (${value}) is over the limit of ${max}`, { details: { value, limit: max } })
  }
  const send = async (message: SyncMessage): Promise<void> => {
    if (message.type === 'ranges') {
      if (message.items.length > limits.maxRangesPerMessage) limit('ranges in one message', message.items.length, limits.maxRangesPerMessage)
      if (outcome.rounds + 1 > limits.maxRounds) limit('rounds', outcome.rounds + 1, limits.maxRounds)
      outcome.rounds++
    }
    const bytes = encodeSyncMessage(message)
    outcome.messagesSent++
    outcome.bytesSent += bytes.length
    await channel.send(bytes)
  }
  const receive = async (): Promise<SyncMessage> => {
    if (signal?.aborted === true) throw new AbortError('The sync session was aborted')
    const next = await incoming.next()
    if (next.done === true) throw endedByPeer('The peer closed the sync stream before it was done')
    outcome.messagesReceived++
    outcome.bytesReceived += next.value.length
    const message = decodeSyncMessage(next.value)
    if (message.type === 'error') throw endedByPeer(`The peer ended the sync: ${message.reason}`, { details: { reason: message.reason } })
    return message
  }

  /** A range as this side describes it: listed when small, else summarised. */
  const describe = (range: SyncRange): SyncRangeItem => {
    const summary = store.summary(range)
    if (summary.count > listThreshold) return { ...range, ...summary }
    listed.add(rangeId(range))
    return { ...range, keys: store.keys(range) }
  }

  /** This side's answer to one range of the peer's, appended to `reply`. */
  const answer = (item: SyncRangeItem, reply: SyncRangeItem[], budget: { left: number }): void => {
    if (!isSyncKeysItem(item)) {
      const mine = store.summary(item)
      if (syncSummariesEqual(mine, item)) return
      if (mine.count <= listThreshold) reply.push(describe(item))
      else for (const part of store.split(item, splitParts)) reply.push(describe(part))
      return
    }
    outcome.keysReceived += item.keys.length
    if (outcome.keysReceived > limits.maxKeys) limit('keys listed by the peer', outcome.keysReceived, limits.maxKeys)
    const theirs = new Set<string>()
    for (const key of item.keys) {
      const id = hex(key)
      theirs.add(id)
      if (!store.has(key)) missing.set(id, key)
    }
    const count = store.summary(item).count
    if (count <= listThreshold || listed.has(rangeId(item))) {
      const mine = store.keys(item)
      for (const key of mine) if (!theirs.has(hex(key))) peerMissing.set(hex(key), key)
      const same = mine.length === item.keys.length && mine.every((key) => theirs.has(hex(key)))
      if (!same && !listed.has(rangeId(item))) reply.push(describe(item))
      return
    }
    // Many keys here against the peer's few: the peer lacks nearly all of them and has to learn each anyway, so they
    // are listed, in parts of at most BULK_LIST_KEYS (parts that do not fit this reply wait for the next one).
    // Past `maxListedKeys` in the session, the rest is left for the next session: its parts are not answered.
    for (const part of store.split(item, Math.ceil(count / BULK_LIST_KEYS))) {
      const inPart = item.keys.filter((key) => compareKeys(part.start, key) <= 0 && compareKeys(key, part.end) < 0)
      const partCount = store.summary(part).count
      if (listedKeys + partCount > limits.maxListedKeys) {
        outcome.truncated = true
        continue
      }
      if (budget.left < 1 + partCount) {
        deferred.push({ ...part, keys: inPart })
        continue
      }
      listedKeys += partCount
      budget.left -= 1 + partCount
      listed.add(rangeId(part))
      reply.push({ ...part, keys: store.keys(part) })
    }
  }

  const within = (item: SyncRangeItem): boolean => outcome.shared.some((s) => compareKeys(s.start, item.start) <= 0 && compareKeys(item.end, s.end) <= 0)

  let theirFilter: SyncFilter | undefined
  const checkHello = (message: SyncMessage): SyncRange[] => {
    if (message.type !== 'hello') throw new CodecError(`Expected the peer's hello, got ${message.type}`)
    if (message.version[0] !== SYNC_PROTOCOL_VERSION[0]) {
      throw new CodecError(`The peer speaks sync version ${message.version.join('.')}, this node ${SYNC_PROTOCOL_VERSION.join('.')}`, { details: { version: message.version } })
    }
    if (message.network !== init.network) throw new CodecError(`The peer is on network ${JSON.stringify(message.network)}, this node on ${JSON.stringify(init.network)}`, { details: { network: message.network } })
    theirFilter = message.filter
    return message.interests
  }

  try {
    const interests = normaliseSyncRanges(init.interests)
    if (interests.length > MAX_SYNC_MESSAGE_ITEMS) limit('interests', interests.length, MAX_SYNC_MESSAGE_ITEMS)
    const filter = normaliseSyncFilter(init.filter)
    const hello: SyncMessage = { type: 'hello', version: [...SYNC_PROTOCOL_VERSION], network: init.network, interests, ...(filter === undefined ? {} : { filter }) }
    let theirs: SyncRange[]
    if (init.role === 'initiator') {
      await send(hello)
      theirs = checkHello(await receive())
    } else {
      theirs = checkHello(await receive())
      await send(hello)
    }
    outcome.shared = intersectSyncRanges(interests, theirs)
    if (init.storeFor !== undefined) store = await init.storeFor({ ...(theirFilter === undefined ? {} : { filter: theirFilter }), shared: outcome.shared })

    // A reply holds at most MAX_SYNC_MESSAGE_ITEMS items (ranges plus listed keys): the peer's ranges that do not fit
    // wait, and are answered in the next rounds. Answering one range costs at most `worst` items.
    const worst = splitParts * (1 + listThreshold)
    const answerSome = (items: SyncRangeItem[]): SyncRangeItem[] => {
      const queue = [...deferred, ...items]
      deferred.length = 0
      const reply: SyncRangeItem[] = []
      const budget = { left: MAX_SYNC_MESSAGE_ITEMS }
      for (const [i, item] of queue.entries()) {
        if (budget.left < worst && reply.length > 0) {
          deferred.push(...queue.slice(i))
          break
        }
        const part: SyncRangeItem[] = []
        const before = budget.left
        answer(item, part, budget)
        // a bulk listing counts itself; every other answer is counted here
        if (budget.left === before) for (const it of part) budget.left -= 1 + (isSyncKeysItem(it) ? it.keys.length : 0)
        reply.push(...part)
      }
      // ranges answered now and ranges that waited are disjoint, but not in order: a message lists them in order
      return reply.sort((x, y) => compareKeys(x.start, y.start))
    }

    // The two sides answer each other in turn. A side with nothing to say sends `done` and keeps listening; the
    // session ends when a `done` answers a `done`, so ranges one side still had waiting are never cut off.
    let saidDone = false
    if (init.role === 'initiator') {
      if (outcome.shared.length === 0) {
        await send({ type: 'done' })
        saidDone = true
      } else {
        await send({ type: 'ranges', items: outcome.shared.map(describe) })
      }
    }
    while (true) {
      const message = await receive()
      let items: SyncRangeItem[] = []
      if (message.type === 'done') {
        if (saidDone) break
        if (deferred.length === 0) {
          await send({ type: 'done' })
          break
        }
      } else if (message.type === 'ranges') {
        if (message.items.length > limits.maxRangesPerMessage) limit('ranges in one message', message.items.length, limits.maxRangesPerMessage)
        if (++outcome.rounds > limits.maxRounds) limit('rounds', outcome.rounds, limits.maxRounds)
        for (const item of message.items) {
          if (!within(item)) throw new CodecError('The peer sent a range outside the interests both sides share')
        }
        items = message.items
      } else {
        throw new CodecError(`Expected ranges or done from the peer, got ${message.type}`)
      }
      const reply = answerSome(items)
      if (reply.length === 0) {
        await send({ type: 'done' })
        saidDone = true
      } else {
        await send({ type: 'ranges', items: reply })
        saidDone = false
      }
    }
  } catch (err) {
    if (!peerEnded.has(err as Error)) {
      const reason = isKilnError(err) ? `${err.name}: ${err.message}` : 'internal error'
      await channel.send(encodeSyncMessage({ type: 'error', reason: truncate(reason) })).catch(() => {})
    }
    // a refused session ends the stream: nothing more is read from or written to this peer
    channel.close()
    throw err
  }

  const sorted = (map: Map<string, Uint8Array>): Uint8Array[] => [...map.values()].sort(compareKeys)
  outcome.missing = sorted(missing)
  outcome.peerMissing = sorted(peerMissing)
  return outcome
}

/** `reason` cut to fit an error message. */
function truncate (reason: string): string {
  let out = reason.slice(0, MAX_SYNC_REASON_BYTES / 4)
  while (new TextEncoder().encode(out).length > MAX_SYNC_REASON_BYTES) out = out.slice(0, -1)
  return out
}
