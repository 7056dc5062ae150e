/** How many messages of each kind one peer may send per second, with a burst. */
export interface PeerRates {
  /** UPDATE messages (default 500/s, burst 2,000: a busy node writes more than a thousand a second at times). */
  updates: { perSecond: number, burst: number }
  /** QUERY messages (default 10/s as js-ceramic, burst 20). */
  queries: { perSecond: number, burst: number }
}

/** Refusals after which a peer is disconnected and refused for a while. */
export interface BanPolicy {
  /** Invalid messages (garbage, forged, oversized, wrong query ids) a peer may send before it is dropped (default 20). */
  invalidMessages: number
  /** How long a dropped peer is refused, in ms (default 10 minutes). */
  banMs: number
}

export const DEFAULT_PEER_RATES: PeerRates = { updates: { perSecond: 500, burst: 2000 }, queries: { perSecond: 10, burst: 20 } }
export const DEFAULT_BAN_POLICY: BanPolicy = { invalidMessages: 20, banMs: 10 * 60_000 }
/** The most peers whose counters are kept; the least recently seen are forgotten first. */
const TRACKED_PEERS = 10_000

interface PeerRecord { updates: number, queries: number, refilled: number, invalid: number, bannedUntil: number }

/**
 * Per-peer token buckets and invalid-message counters, bounded in the number of peers they remember. `now` is
 * injectable so that tests drive the clock.
 */
export class PeerLimits {
  readonly #rates: PeerRates
  readonly #ban: BanPolicy
  readonly #now: () => number
  readonly #peers = new Map<string, PeerRecord>()

  constructor (rates: PeerRates, ban: BanPolicy, now: () => number = Date.now) {
    this.#rates = rates
    this.#ban = ban
    this.#now = now
  }

  #record (peer: string): PeerRecord {
    let record = this.#peers.get(peer)
    const now = this.#now()
    if (record === undefined) {
      record = { updates: this.#rates.updates.burst, queries: this.#rates.queries.burst, refilled: now, invalid: 0, bannedUntil: 0 }
      if (this.#peers.size >= TRACKED_PEERS) this.#peers.delete(this.#peers.keys().next().value!)
    } else {
      this.#peers.delete(peer)
      const seconds = (now - record.refilled) / 1000
      record.updates = Math.min(this.#rates.updates.burst, record.updates + seconds * this.#rates.updates.perSecond)
      record.queries = Math.min(this.#rates.queries.burst, record.queries + seconds * this.#rates.queries.perSecond)
      record.refilled = now
    }
    this.#peers.set(peer, record)
    return record
  }

  /** Takes one token of `kind` from `peer`'s bucket; false when the peer is over its rate. */
  take (peer: string, kind: 'updates' | 'queries'): boolean {
    const record = this.#record(peer)
    if (record[kind] < 1) return false
    record[kind] -= 1
    return true
  }

  /** Counts an invalid message from `peer`; true when this one puts the peer past the policy, which bans it. */
  invalid (peer: string): boolean {
    const record = this.#record(peer)
    record.invalid += 1
    if (record.invalid < this.#ban.invalidMessages) return false
    record.invalid = 0
    record.bannedUntil = this.#now() + this.#ban.banMs
    return true
  }

  /** True while `peer` is banned. */
  banned (peer: string): boolean {
    const record = this.#peers.get(peer)
    return record !== undefined && record.bannedUntil > this.#now()
  }
}
