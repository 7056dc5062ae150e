import { STATUS_CODES } from 'node:http'
import { Socket } from 'node:net'
import { InvalidRequestError, isKilnError, RequestTooLargeError, type KilnError, type Logger } from '@kiln/interface'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { bodyPending, type EarlyAnswers } from './early-answer.js'
import { statusOf } from './errors-table.js'

/** The body of every non-2xx answer. */
export interface ErrorBody {
  error: string
  name: string
  details?: Record<string, unknown>
}

/** What Ajv reports for one failed schema rule (the part used here). */
interface SchemaFailure {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

const GENERIC_MESSAGE = 'Internal server error'

function clip (value: string, max = 200): string {
  return value.length > max ? `${value.slice(0, max)}…` : value
}

/** Turns a schema failure into an `InvalidRequestError` naming the field, e.g. "`queries` must be array". */
export function schemaErrorFormatter (errors: SchemaFailure[], dataVar: string): InvalidRequestError {
  const first = errors[0]
  if (first === undefined) return new InvalidRequestError(`Invalid request ${dataVar}`)
  const path = first.instancePath.split('/').filter((s) => s !== '')
  if (first.keyword === 'required' && typeof first.params.missingProperty === 'string') path.push(first.params.missingProperty)
  const field = path.join('.')
  const rule = first.keyword === 'required'
    ? 'is required'
    : first.keyword === 'type' && Array.isArray(first.params.type)
      ? `must be ${first.params.type.join(' or ')}`
      : first.message ?? 'is invalid'
  const hint = field === '' && first.keyword === 'type' ? ' (send JSON with content-type: application/json)' : ''
  const message = field === ''
    ? `Invalid request ${dataVar}: ${dataVar} ${rule}${hint}`
    : `Invalid request ${dataVar}: \`${field}\` ${rule}`
  return new InvalidRequestError(message, { details: { field: field === '' ? dataVar : field, location: dataVar } })
}

/** What each route takes: said when a body comes with a content-type no route reads. */
const ACCEPTED_TYPES = 'send JSON as application/json (an export to /api/v0/kiln/import as application/vnd.ipld.car)'

/**
 * Converts an error thrown by Fastify itself (bad JSON, body too large, bad media type) into a Kiln error;
 * `contentType` is the request's, named when no parser takes it.
 */
function fromFastify (err: FastifyError, bodyLimit: number, contentType?: string): KilnError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RequestTooLargeError(`Request body is larger than the limit of ${bodyLimit} bytes`, { details: { limit: bodyLimit } })
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new InvalidRequestError('Request body is not valid JSON')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return contentType === undefined
        ? new InvalidRequestError(`The request body has no content-type: ${ACCEPTED_TYPES}`)
        : new InvalidRequestError(`Unsupported content-type ${JSON.stringify(clip(contentType))}: ${ACCEPTED_TYPES}`, { details: { contentType: clip(contentType) } })
    default:
      if (typeof err.code === 'string' && err.code.startsWith('FST_') && (err.statusCode ?? 500) < 500) {
        return new InvalidRequestError(err.message)
      }
      return undefined
  }
}

/**
 * The status and body answering `err`: its name's status from the table; anything unnamed is a 500 saying nothing.
 * `contentType` is the request's, for the answer to a body no parser takes.
 */
export function errorAnswer (err: unknown, bodyLimit: number, contentType?: string): { status: number, body: ErrorBody } {
  const named = isKilnError(err) ? err : fromFastify(err as FastifyError, bodyLimit, contentType)
  const status = named === undefined ? 500 : statusOf(named.name)
  if (named === undefined || status === 500) return { status: 500, body: { error: GENERIC_MESSAGE, name: 'KilnError' } }
  const body: ErrorBody = { error: named.message, name: named.name }
  if (status < 500 && Object.keys(named.details).length > 0) body.details = named.details
  return { status, body }
}

/**
 * Sends an error answer. A request whose body is still unread (refused for its size or its client's rate before it was
 * read) is answered by `early`, which then drains the body before closing, so that the client reads the answer.
 */
function sendError (request: FastifyRequest, reply: FastifyReply, early: EarlyAnswers, status: number, body: ErrorBody): FastifyReply {
  const retryAfter = body.details?.retryAfter
  if (status === 429 && typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter))
  // Only a real connection can linger; a request injected in-process (`inject`) has no socket to drain.
  if (bodyPending(request) && request.raw.socket instanceof Socket) {
    early.send(request, reply, status, JSON.stringify(body))
    return reply
  }
  return reply.code(status).type('application/json; charset=utf-8').send(body)
}

/** What the error handling needs: where to log faults, the default body limit, and the way to answer before a body. */
export interface ErrorHandlingOptions {
  logger?: Logger
  /** The body limit of routes that set none of their own. */
  bodyLimit: number
  early: EarlyAnswers
}

/** Installs the error handler and the 404 answer, both as `{error, name}`. */
export function installErrorHandling (app: FastifyInstance, options: ErrorHandlingOptions): void {
  const { logger, bodyLimit, early } = options
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = errorAnswer(err, request.routeOptions.bodyLimit ?? bodyLimit, request.headers['content-type'])
    if (status >= 500) logger?.error({ err, method: request.method, url: request.url, status }, 'HTTP request failed')
    return sendError(request, reply, early, status, body)
  })
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const body: ErrorBody = { error: `No route ${request.method} ${clip(request.url)}`, name: 'InvalidRequestError' }
    return sendError(request, reply, early, 404, body)
  })
}

/** Fastify's answer to a URL it cannot route (bad percent-encoding, a parameter too long), in Kiln's shape. */
export function frameworkErrorAnswer (early: EarlyAnswers): (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (err, request, reply) => {
    const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : `Malformed URL: ${clip(err.message)}`
    sendError(request, reply, early, 400, { error: message, name: 'InvalidRequestError' })
  }
}

/** The longest a connection is kept after Node gave up reading its request, so that the answer can be flushed. */
const CLIENT_ERROR_FLUSH_MS = 1000

/**
 * Node's answer to a connection whose request cannot be read, in Kiln's shape: 408 `TimeoutError` when its headers or
 * body did not arrive within `headersTimeout` / `requestTimeout` (a slow or stalled client), 431 when its headers are
 * too large, 400 `InvalidRequestError` when it is not HTTP. The connection is then closed.
 */
export function clientErrorAnswer (err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const [status, body]: [number, ErrorBody] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? [408, { error: 'The request did not arrive in time: the connection was too slow or stalled', name: 'TimeoutError' }]
    : err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, { error: 'The request headers are too large', name: 'RequestTooLargeError' }]
      : [400, { error: 'Malformed HTTP request', name: 'InvalidRequestError' }]
  const payload = JSON.stringify(body)
  const timer = setTimeout(() => { socket.destroy() }, CLIENT_ERROR_FLUSH_MS)
  timer.unref()
  socket.once('close', () => { clearTimeout(timer) })
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(payload)}\r\nconnection: close\r\n\r\n${payload}`, () => { socket.destroy() })
}
