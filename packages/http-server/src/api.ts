import type { DocID } from '@kiln/docid'
import type { KilnNodeApi, Logger } from '@kiln/interface'
import type { KilnVerifier } from '@kiln/signing'
import type { FastifyInstance } from 'fastify'
import type { RateCategory, RateLimitInit } from './rate-limit.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The kind of request a route's calls count as, per client (`'none'`: not limited). Kiln's routes all name one;
     * a route added through {@link HttpApi.server} without it is not limited.
     */
    rateLimit?: RateCategory | 'none'
  }
}

/** The user's options of {@link httpApi}. */
export interface HttpApiInit {
  /** TCP port to listen on (default 7007; 0 picks a free one, which {@link HttpApi.url} then shows). */
  port?: number
  /** Interface to listen on (default `127.0.0.1`: only this machine). */
  host?: string
  /** DIDs allowed to call the admin routes. None (the default): every admin route answers 401 `AdminAuthError`. */
  adminDids?: string[]
  /** CORS, via `@fastify/cors`; off when absent. `origin` as `@fastify/cors` takes it. */
  cors?: { origin: string | string[] | boolean }
  /** The explorer page at `/` and `/explorer/*` (docs/explorer.md); on unless `false`. */
  explorer?: boolean
  /**
   * Largest request body in bytes (default 1 MiB) of every route but the CAR import; a bigger one is refused with 413
   * `RequestTooLargeError` before it is parsed.
   */
  bodyLimit?: number
  /** Largest CAR body of `POST /api/v0/kiln/import`, in bytes (default 16 MiB, the most an import takes). */
  importBodyLimit?: number
  /**
   * A body refused unread (413, 429) is answered at once; the server then reads and throws away up to `maxBytes`
   * (default 64 MiB) of it for up to `maxMs` (default 10 000), so that the client reads the answer, and closes the
   * connection. A client still sending past either bound sees the connection reset.
   */
  refusedBodyDrain?: { maxBytes?: number, maxMs?: number }
  /** Time for a request's headers to arrive, in ms (default 20 000; at most `requestTimeoutMs`); past it: 408, closed. */
  headersTimeoutMs?: number
  /** Time for a whole request, headers and body, to arrive, in ms (default 120 000; 0: no limit); past it: 408, closed. */
  requestTimeoutMs?: number
  /**
   * Per-client rate limits of the API (token buckets per client address and kind of request; see `RateLimitInit`).
   * On by default, with loopback clients exempt; `false` turns them off.
   */
  rateLimit?: RateLimitInit | false
  /**
   * Whose `X-Forwarded-For` to believe for the client's address (rate limits, logs), as Fastify's `trustProxy` takes
   * it: `true` (every hop: a client can then claim any address), a hop count, or the proxies' addresses or CIDRs
   * (`'127.0.0.1'`, `['10.0.0.0/8']`, `'10.0.0.1, 10.0.0.2'`). Default `false`: the connection's address.
   */
  trustProxy?: boolean | number | string | string[]
  /** Checks admin JWSs (default `createVerifier()` of `@kiln/signing`: did:key). */
  verifier?: Pick<KilnVerifier, 'verifyCompactJWS'>
  /** How long an admin code from `GET /admin/getCode` stays valid, in ms (default 60 000). */
  codeTtlMs?: number
  /** Interval of the `: keepalive` comment on Server-Sent Events streams, in ms (default 15 000). */
  keepAliveMs?: number
  /**
   * The most Server-Sent Events streams open at once (default 1000; `Infinity` for no cap). Past it, a watch request
   * is answered 503 `ServiceUnavailableError` before any stream is opened.
   */
  maxEventStreams?: number
}

/** The node the HTTP API serves: the front ends' node API of `@kiln/interface`, with DocIDs; an in-process node is one. */
export type HttpApiNode = KilnNodeApi<DocID>

/** What the HTTP API needs from the node it serves. */
export interface HttpApiComponents {
  node: HttpApiNode
  /** A pino-shaped logger: errors answered with a status ≥ 500 are logged to it; with `child`, Fastify logs to it too. */
  logger?: Logger
  /** The rate limits' clock, in ms (default `performance.now`); tests pass their own. */
  now?: () => number
}

/** A running (or ready to run) HTTP API. */
export interface HttpApi {
  /** Listens on the configured host and port. */
  start(): Promise<void>
  /** Ends open event streams, stops accepting connections and waits for in-flight requests. The node keeps running. */
  stop(): Promise<void>
  /** `http://host:port`; after `start()` with port 0, the port actually bound. */
  readonly url: string
  /** The Fastify instance, for tests and for adding routes before `start()`. */
  readonly server: FastifyInstance
  /** Fastify's `inject`: a request without a socket, for tests. */
  inject: FastifyInstance['inject']
}
