import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import cors from '@fastify/cors'
import { createVerifier } from '@kiln/signing'
import type { Logger } from '@kiln/interface'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { AdminAuth } from './admin-auth.js'
import type { HttpApi, HttpApiComponents, HttpApiInit } from './api.js'
import { frameworkErrorAnswer, installErrorHandling, schemaErrorFormatter } from './error-handler.js'
import { adminRoutes } from './routes/admin.js'
import { commitRoutes } from './routes/commits.js'
import { kilnRoutes } from './routes/kiln.js'
import { multiqueryRoutes } from './routes/multiqueries.js'
import { nodeRoutes } from './routes/node.js'
import { streamRoutes } from './routes/streams.js'

const DEFAULT_PORT = 7007
const DEFAULT_HOST = '127.0.0.1'
const DEFAULT_BODY_LIMIT = 1024 * 1024
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

/** The HTTP API over one node: a Fastify instance with Kiln's routes, error table and limits. */
export class HttpServer implements HttpApi {
  readonly server: FastifyInstance
  readonly inject: FastifyInstance['inject']
  private readonly port: number
  private readonly host: string
  private readonly streams = new Set<AbortController>()
  /** Open connections, with how many requests each is serving. */
  private readonly connections = new Map<Socket, number>()
  private closing = false
  private boundPort?: number

  constructor (init: HttpApiInit, components: HttpApiComponents) {
    const { node, logger } = components
    this.port = init.port ?? DEFAULT_PORT
    this.host = init.host ?? DEFAULT_HOST
    const bodyLimit = init.bodyLimit ?? DEFAULT_BODY_LIMIT
    const app = Fastify({
      ...(isPinoLike(logger) && logsRequests(logger) ? { loggerInstance: logger } : { logger: false }),
      bodyLimit,
      routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
      ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, allowUnionTypes: true } },
      schemaErrorFormatter,
      frameworkErrors: frameworkErrorAnswer,
      // Requests that arrive while stopping are still answered (with `connection: close`), in Kiln's shape.
      return503OnClosing: false
    }) as unknown as FastifyInstance
    this.server = app
    this.inject = app.inject.bind(app)
    this.trackConnections()

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

    installErrorHandling(app, { logger, bodyLimit })
    if (init.cors !== undefined) void app.register(cors, { origin: init.cors.origin })

    const auth = new AdminAuth({
      adminDids: init.adminDids ?? [],
      verifier: init.verifier ?? createVerifier(),
      codeTtlMs: init.codeTtlMs ?? DEFAULT_CODE_TTL_MS
    })
    // Registered as a plugin so that they load after CORS, and get its hooks.
    void app.register(async (routes) => {
      streamRoutes(routes, node)
      commitRoutes(routes, node)
      multiqueryRoutes(routes, node)
      nodeRoutes(routes, node)
      adminRoutes(routes, node, auth)
      kilnRoutes(routes, node, {
        keepAliveMs: init.keepAliveMs ?? DEFAULT_KEEPALIVE_MS,
        streams: this.streams,
        maxEventStreams: init.maxEventStreams ?? DEFAULT_MAX_EVENT_STREAMS,
        logger
      })
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
