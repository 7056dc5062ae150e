import { isIPv4, isIPv6 } from 'node:net'
import { RateLimitedError } from '@kiln/interface'
import { LRUCache } from 'lru-cache'
import { InvalidHttpApiOptionError } from './errors.js'

/** The kinds of request limited apart: each client has one token bucket per kind. */
export type RateCategory = 'write' | 'read' | 'adminAuth' | 'eventStreams'

/** Every {@link RateCategory}, in the order the docs list them. */
export const RATE_CATEGORIES: readonly RateCategory[] = Object.freeze(['write', 'read', 'adminAuth', 'eventStreams'])

/** One kind's rate: a request takes a token; `perSecond` tokens come back each second, up to `burst` held at once. */
export interface RateRule {
  perSecond: number
  burst: number
}

/** Options of the per-client rate limits of the HTTP API. A kind set to `false` is not limited. */
export interface RateLimitInit {
  /** Writes: `POST /streams`, `POST /commits`, `POST /streams/:id/anchor`, `POST /kiln/import`, pin add and remove. */
  write?: RateRule | false
  /** Reads: `GET /streams/:id`, `GET /commits/:id`, `POST /multiqueries`, the log and export routes, pin listings. */
  read?: RateRule | false
  /**
   * Admin authentication: every `GET /admin/getCode`, and every admin request whose authorization is refused (one over
   * the rate is answered 429 instead of 401); an authorized admin request costs nothing here.
   */
  adminAuth?: RateRule | false
  /** Openings of Server-Sent Events streams (`GET /kiln/streams/:id/watch`). */
  eventStreams?: RateRule | false
  /** Limit loopback clients (127.0.0.0/8, ::1) too (default false: they are exempt). */
  loopback?: boolean
  /** The most clients whose buckets are kept (default 10 000); past it the least recently seen is forgotten. */
  maxClients?: number
}

/** The limits a node has unless told otherwise; a daemon's HTTP benchmark from loopback is never throttled. */
export const RATE_LIMIT_DEFAULTS: Readonly<Required<RateLimitInit>> = Object.freeze({
  write: Object.freeze({ perSecond: 20, burst: 100 }),
  read: Object.freeze({ perSecond: 100, burst: 500 }),
  adminAuth: Object.freeze({ perSecond: 1, burst: 20 }),
  eventStreams: Object.freeze({ perSecond: 2, burst: 20 }),
  loopback: false,
  maxClients: 10_000
})

/** A client's tokens of one kind, as of `at` (ms on the limiter's clock). */
interface Bucket {
  tokens: number
  at: number
}

type ClientBuckets = Partial<Record<RateCategory, Bucket>>

/** Refills are sums of float products: a token within this of whole counts as whole, so a client that waited `Retry-After` is served. */
const EPSILON = 1e-9

/** The longest key kept for a client address that is not an IP (a forwarded header can say anything). */
const MAX_KEY_LENGTH = 64

/** True for an address of this machine's loopback: 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6. */
export function isLoopback (ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.toLowerCase().startsWith('::ffff:127.')
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part and a zone are allowed). */
function ipv6Groups (ip: string): number[] | undefined {
  let text = ip.split('%')[0]!
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const part = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(':'))
  const head = part(halves[0])
  const tail = part(halves[1])
  const missing = 8 - head.length - tail.length
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined
  return [...head, ...Array<string>(missing).fill('0'), ...tail].map((group) => Number.parseInt(group, 16))
}

/**
 * The key a client's buckets are kept under: an IPv4 address as it is (also when mapped into IPv6), an IPv6 address by
 * its /64 network, which one subscriber usually holds whole, so that walking through its addresses gains nothing.
 */
export function clientKey (ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped !== null) return mapped[1]!
  if (isIPv4(ip)) return ip
  const groups = isIPv6(ip.split('%')[0]!) ? ipv6Groups(ip) : undefined
  if (groups === undefined) return ip.slice(0, MAX_KEY_LENGTH)
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

/** The rules in force: the defaults, with each kind the caller set replacing its default. */
function rulesOf (init: RateLimitInit): Partial<Record<RateCategory, RateRule>> {
  const rules: Partial<Record<RateCategory, RateRule>> = {}
  for (const category of RATE_CATEGORIES) {
    const rule = init[category] === undefined ? RATE_LIMIT_DEFAULTS[category] : init[category]
    if (rule === false) continue
    if (!(Number.isFinite(rule.perSecond) && rule.perSecond > 0 && Number.isFinite(rule.burst) && rule.burst >= 1)) {
      throw new InvalidHttpApiOptionError(`rateLimit.${category} needs perSecond > 0 and burst >= 1, got ${JSON.stringify(rule)}`, {
        details: { field: `rateLimit.${category}` }
      })
    }
    rules[category] = { perSecond: rule.perSecond, burst: rule.burst }
  }
  return rules
}

/**
 * Token buckets per client and kind of request. A bucket starts full (`burst` tokens), a request takes one token, and
 * tokens come back at `perSecond`; a client with no token left is refused with a `RateLimitedError` saying when the next
 * one comes. Buckets live in an LRU map of at most `maxClients` clients, so memory stays bounded however many addresses
 * call; a forgotten client starts again with a full bucket, which errs on the side of serving it.
 */
export class RateLimiter {
  private readonly rules: Partial<Record<RateCategory, RateRule>>
  private readonly loopback: boolean
  private readonly clients: LRUCache<string, ClientBuckets>
  private readonly now: () => number

  /** `now` is the clock, in ms. */
  constructor (init: RateLimitInit, now: () => number) {
    this.rules = rulesOf(init)
    this.loopback = init.loopback ?? RATE_LIMIT_DEFAULTS.loopback
    const maxClients = init.maxClients ?? RATE_LIMIT_DEFAULTS.maxClients
    if (!Number.isInteger(maxClients) || maxClients < 1) {
      throw new InvalidHttpApiOptionError(`rateLimit.maxClients must be a positive integer, got ${maxClients}`, { details: { field: 'rateLimit.maxClients' } })
    }
    this.clients = new LRUCache({ max: maxClients })
    this.now = now
  }

  /** Clients whose buckets are kept now. */
  get size (): number {
    return this.clients.size
  }

  /**
   * The key of the client a request comes from, or undefined when it is exempt. `ip` is the request's client address
   * (from `X-Forwarded-For` when the proxy is trusted), `peer` the address of the connection. A client is on loopback
   * only when both are: a local proxy forwarding a remote client is not, nor is a remote proxy claiming 127.0.0.1.
   */
  clientOf (ip: string, peer: string | undefined): string | undefined {
    if (!this.loopback && isLoopback(ip) && peer !== undefined && isLoopback(peer)) return undefined
    return clientKey(ip)
  }

  /** Whether requests of `category` are limited at all. */
  limits (category: RateCategory): boolean {
    return this.rules[category] !== undefined
  }

  /** Takes a token of `category` from `client` (a key of {@link clientOf}); throws `RateLimitedError` when it has none. */
  take (client: string, category: RateCategory): void {
    const bucket = this.bucket(client, category)
    if (bucket === undefined) return
    if (bucket.tokens >= 1 - EPSILON) {
      bucket.tokens = Math.max(0, bucket.tokens - 1)
      return
    }
    const rule = this.rules[category]!
    const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / rule.perSecond))
    throw new RateLimitedError(`Too many ${describe(category)} from this client: the limit is ${rule.perSecond} a second (bursts of ${rule.burst}); try again in ${retryAfter} s`, {
      details: { limit: category, retryAfter }
    })
  }

  /** The client's bucket of `category`, refilled to now; undefined when the kind is not limited. */
  private bucket (key: string, category: RateCategory): Bucket | undefined {
    const rule = this.rules[category]
    if (rule === undefined) return undefined
    const now = this.now()
    let buckets = this.clients.get(key)
    if (buckets === undefined) {
      buckets = {}
      this.clients.set(key, buckets)
    }
    const bucket = buckets[category]
    if (bucket === undefined) {
      const fresh = { tokens: rule.burst, at: now }
      buckets[category] = fresh
      return fresh
    }
    bucket.tokens = Math.min(rule.burst, bucket.tokens + Math.max(0, now - bucket.at) * rule.perSecond / 1000)
    bucket.at = now
    return bucket
  }
}

function describe (category: RateCategory): string {
  switch (category) {
    case 'write': return 'writes'
    case 'read': return 'reads'
    case 'adminAuth': return 'admin authentication attempts'
    case 'eventStreams': return 'event stream openings'
  }
}
