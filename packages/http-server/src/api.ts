import type { DocID } from '@kiln/docid'
import type { KilnNodeApi, Logger } from '@kiln/interface'
import type { KilnVerifier } from '@kiln/signing'
import type { FastifyInstance } from 'fastify'

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
  /** Largest request body in bytes (default 1 MiB); a bigger one is refused with 413 before it is parsed. */
  bodyLimit?: number
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
