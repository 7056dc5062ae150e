import { InvalidRequestError, isKilnError, RequestTooLargeError, type KilnError, type Logger } from '@kiln/interface'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
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

/** Installs the error handler, the 404 answer and the answer to malformed URLs, all as `{error, name}`. */
export function installErrorHandling (app: FastifyInstance, options: { logger?: Logger, bodyLimit: number }): void {
  const { logger, bodyLimit } = options
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = errorAnswer(err, bodyLimit, request.headers['content-type'])
    if (status >= 500) logger?.error({ err, method: request.method, url: request.url, status }, 'HTTP request failed')
    return reply.code(status).type('application/json; charset=utf-8').send(body)
  })
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const body: ErrorBody = { error: `No route ${request.method} ${clip(request.url)}`, name: 'InvalidRequestError' }
    return reply.code(404).send(body)
  })
}

/** Fastify's answer to a URL it cannot route (bad percent-encoding, a parameter too long), in Kiln's shape. */
export function frameworkErrorAnswer (err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : `Malformed URL: ${clip(err.message)}`
  const body: ErrorBody = { error: message, name: 'InvalidRequestError' }
  void reply.code(400).send(body)
}
