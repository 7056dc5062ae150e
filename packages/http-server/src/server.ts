import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import cors from '@fastify/cors'
import { createVerifier } from '@kiln/signing'
import { RequestTooLargeError, type Logger } from '@kiln/interface'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import { AdminAuth } from './admin-auth.js'
import type { HttpApi, HttpApiComponents, HttpApiInit } from './api.js'
import { bodyPending, continueUnlessRefused, EarlyAnswers } from './early-answer.js'
import { clientErrorAnswer, frameworkErrorAnswer, installErrorHandling, schemaErrorFormatter } from './error-handler.js'
import { InvalidHttpApiOptionError } from './errors.js'
import { RateLimiter } from './rate-limit.js'
import { clientOf, rateLimitHook } from './route-limits.js'
import { adminRoutes } from './routes/admin.js'
import { blockRoutes } from './routes/blocks.js'
import { commitRoutes } from './routes/commits.js'
import { explorerRoutes } from './routes/explorer.js'
import { kilnRoutes } from './routes/kiln.js'
import { multiqueryRoutes } from './routes/multiqueries.js'
import { nodeRoutes } from './routes/node.js'
import { streamRoutes } from './routes/streams.js'

const DEFAULT_PORT = 7007
const DEFAULT_HOST = '127.0.0.1'
const MiB = 1024 * 1024
const DEFAULT_BODY_LIMIT = MiB
// The import itself takes at most 16 MiB (MAX_IMPORT_BYTES of @kiln/core): a larger body would be read only to be refused.
const DEFAULT_IMPORT_BODY_LIMIT = 16 * MiB
const DEFAULT_DRAIN_BYTES = 64 * MiB
const DEFAULT_DRAIN_MS = 10_000
const DEFAULT_HEADERS_TIMEOUT_MS = 20_000
// Long enough for the largest import over a slow link (16 MiB at 150 KB/s), short enough that a stalled body is cut.
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000
const DEFAULT_CODE_TTL_MS = 60_000
const DEFAULT_KEEPALIVE_MS = 15_000
const DEFAULT_MAX_EVENT_STREAMS = 1000
// Above @kiln/docid's 2048-character limit, so an overlong id is named by the DocID parser, not refused as a route.
const MAX_PARAM_LENGTH = 4096

/** A logger Fastify can use itself: pino's shape, with `child`, `fatal` and `trace`. */
function isPinoLike (logger: Logger | undefined): logger is Logger & FastifyBaseLogger {
  const l = logger as Partial<FastifyBaseLogger> | undefined
  return typeof l?.child === 'function' && typeof l.fatal === 'function' && typeof l.trace === 'function'
}

/**
 * Whether Fastify should log requests to `logger`: only when it would write them (they are `info` lines). Fastify
 * makes a child logger for every request it has a logger for, which costs more than the rest of a small request's
 * routing; a logger set to `warn` or `error` would print none of it.
 */
function logsRequests (logger: Logger & FastifyBaseLogger): boolean {
  const isLevelEnabled = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled
  return typeof isLevelEnabled !== 'function' || isLevelEnabled.call(logger, 'info')
}

/** `value`, checked to be a whole number of at least `min`, for the option `name`. */
function whole (name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidHttpApiOptionError(`${name} must be a whole number of at least ${min}, got ${String(value)}`, { details: { field: name } })
  }
  return value
}

/** Fastify's `trustProxy`, with a hop count as a function (which Fastify's types leave out, though it takes one). */
function trustProxyOf (trust: HttpApiInit['trustProxy']): boolean | string | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust !== 'number') return trust ?? false
  const hops = whole('trustProxy', trust, 0)
  return (_address, hop) => hop < hops
}

/** The HTTP API over one node: a Fastify instance with Kiln's routes, error table and limits. */
export class HttpServer implements HttpApi {
  readonly server: FastifyInstance
  readonly inject: FastifyInstance['inject']
  private readonly port: number
  private readonly host: string
  private readonly streams = new Set<AbortController>()
  /** Answers sent before a request's body was read, whose connections drain it before closing. */
  private readonly early: EarlyAnswers
  /** Open connections, with how many requests each is serving. */
  private readonly connections = new Map<Socket, number>()
  private closing = false
  private boundPort?: number

  constructor (init: HttpApiInit, components: HttpApiComponents) {
    const { node, logger } = components
    this.port = init.port ?? DEFAULT_PORT
    this.host = init.host ?? DEFAULT_HOST
    const bodyLimit = whole('bodyLimit', init.bodyLimit ?? DEFAULT_BODY_LIMIT, 1)
    const importBodyLimit = whole('importBodyLimit', init.importBodyLimit ?? DEFAULT_IMPORT_BODY_LIMIT, 1)
    this.early = new EarlyAnswers({
      maxBytes: whole('refusedBodyDrain.maxBytes', init.refusedBodyDrain?.maxBytes ?? DEFAULT_DRAIN_BYTES, 0),
      maxMs: whole('refusedBodyDrain.maxMs', init.refusedBodyDrain?.maxMs ?? DEFAULT_DRAIN_MS, 0)
    })
    // Node's own defaults are 60 s for headers and 300 s for a request, and Fastify turns the request timeout off: a
    // client sending its body a byte at a time would hold its connection for ever.
    const requestTimeout = whole('requestTimeoutMs', init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, 0)
    const headersTimeout = Math.min(whole('headersTimeoutMs', init.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, 1), requestTimeout === 0 ? Infinity : requestTimeout)
    const limiter = init.rateLimit === false ? undefined : new RateLimiter(init.rateLimit ?? {}, components.now ?? (() => performance.now()))
    const app = Fastify({
      ...(isPinoLike(logger) && logsRequests(logger) ? { loggerInstance: logger } : { logger: false }),
      bodyLimit,
      trustProxy: trustProxyOf(init.trustProxy),
      requestTimeout,
      // Node checks the timeouts every `connectionsCheckingInterval` (30 s by default): at least every second here.
      http: { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))) },
      clientErrorHandler: clientErrorAnswer,
      routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
      ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, allowUnionTypes: true } },
      schemaErrorFormatter,
      frameworkErrors: frameworkErrorAnswer(this.early),
      // Requests that arrive while stopping are still answered (with `connection: close`), in Kiln's shape.
      return503OnClosing: false
    }) as unknown as FastifyInstance
    this.server = app
    this.inject = app.inject.bind(app)
    this.trackConnections()
    // Node answers `Expect: 100-continue` itself unless told otherwise; the hook below answers it after the checks.
    app.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => { app.server.emit('request', request, response) })
    app.addHook('preParsing', continueUnlessRefused(bodyLimit))
    // GET and HEAD routes read no body: their limit is 0, so a body sent with one is refused rather than read.
    app.addHook('onRequest', (request, _reply, done) => {
      if ((request.method === 'GET' || request.method === 'HEAD') && bodyPending(request)) {
        done(new RequestTooLargeError('Request body is larger than the limit of 0 bytes: GET and HEAD requests take none', { details: { limit: 0 } }))
        return
      }
      done()
    })

    // A JSON body may be empty (a DELETE or POST that sends the header but nothing else): read as no body at all.
    const jsonParser = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8')
      if (text === '') { done(null, undefined); return }
      jsonParser(request, text, done)
    })

    // Document exports travel as CAR files (Kiln's export and import routes).
    app.addContentTypeParser('application/vnd.ipld.car', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })

    installErrorHandling(app, { logger, bodyLimit, early: this.early })
    if (init.cors !== undefined) void app.register(cors, { origin: init.cors.origin })

    const auth = new AdminAuth({
      adminDids: init.adminDids ?? [],
      verifier: init.verifier ?? createVerifier(),
      codeTtlMs: init.codeTtlMs ?? DEFAULT_CODE_TTL_MS
    })
    // A refused admin authorization costs the client a token of its admin attempts; past them it is answered 429.
    const onAuthRefused = (request: FastifyRequest): void => {
      if (limiter === undefined || !limiter.limits('adminAuth')) return
      const client = clientOf(limiter, request)
      if (client !== undefined) limiter.take(client, 'adminAuth')
    }
    // Registered as a plugin so that they load after CORS, and get its hooks (a 429 carries the CORS headers).
    void app.register(async (routes) => {
      // Each route names the kind of request it is in `config.rateLimit`; the hook runs before its body is read.
      if (limiter !== undefined) routes.addHook('onRequest', rateLimitHook(limiter))
      streamRoutes(routes, node)
      commitRoutes(routes, node)
      multiqueryRoutes(routes, node)
      nodeRoutes(routes, node)
      adminRoutes(routes, node, auth, onAuthRefused)
      kilnRoutes(routes, node, {
        keepAliveMs: init.keepAliveMs ?? DEFAULT_KEEPALIVE_MS,
        streams: this.streams,
        maxEventStreams: init.maxEventStreams ?? DEFAULT_MAX_EVENT_STREAMS,
        importBodyLimit,
        logger
      })
      blockRoutes(routes, node)
      if (init.explorer !== false) explorerRoutes(routes)
    })
  }

  get url (): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host
    return `http://${host}:${this.boundPort ?? this.port}`
  }

  async start (): Promise<void> {
    if (this.boundPort !== undefined) return
    await this.server.listen({ port: this.port, host: this.host })
    const address = this.server.server.address()
    this.boundPort = typeof address === 'object' && address !== null ? address.port : this.port
  }

  async stop (): Promise<void> {
    this.closing = true
    // Event streams never end on their own: end them, so that closing waits only for ordinary requests.
    for (const controller of [...this.streams]) controller.abort()
    const closed = this.server.close()
    // Connections draining a refused body have been answered: nothing is lost by closing them now.
    this.early.closeAll()
    // Node's close() leaves a connection that was opened but never used (a client's spare) until the client drops it.
    for (const [socket, active] of this.connections) if (active === 0) socket.destroy()
    try {
      await closed
    } finally {
      this.closing = false
      this.boundPort = undefined
    }
  }

  /** Counts the requests of each connection, so that stopping can close the idle ones and those that finish. */
  private trackConnections (): void {
    const http = this.server.server
    http.on('connection', (socket: Socket) => {
      this.connections.set(socket, 0)
      socket.once('close', () => { this.connections.delete(socket) })
    })
    http.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket
      this.connections.set(socket, (this.connections.get(socket) ?? 0) + 1)
      response.once('close', () => {
        const active = Math.max(0, (this.connections.get(socket) ?? 1) - 1)
        if (!this.connections.has(socket)) return
        this.connections.set(socket, active)
        if (this.closing && active === 0) socket.destroy()
      })
    })
  }
}
