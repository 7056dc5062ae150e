import { commitFromJSON } from '@kiln/codec'
import { parseDocOrCommitID } from '@kiln/docid'
import { anchorStatusName, UnsupportedChainError } from '@kiln/interface'
import type { FastifyInstance } from 'fastify'
import type { HttpApiNode } from '../api.js'
import { stateJSON } from '../state-json.js'
import { optionalBody } from './optional-body.js'
import { writeOptions, writeOptionsSchema } from './write-options.js'

interface CreateBody {
  type: number | string
  genesis: Record<string, unknown>
  opts?: Record<string, unknown>
}

const createSchema = {
  body: {
    type: 'object',
    required: ['type', 'genesis'],
    properties: {
      type: { type: ['integer', 'string'], minimum: 0, minLength: 1, maxLength: 100 },
      genesis: { type: 'object' },
      opts: writeOptionsSchema
    }
  }
} as const

const anchorSchema = {
  body: { type: 'object', properties: { opts: { type: 'object', properties: { chainId: { type: 'string', minLength: 3, maxLength: 64 } } } } }
} as const

/** The longest `syncTimeoutSeconds` honoured on a load, in seconds; a larger one is cut to this. */
export const MAX_SYNC_TIMEOUT_SECONDS = 30

/**
 * A load's options from Ceramic's query parameters: `syncTimeoutSeconds` bounds how long a node on a network waits for
 * peers when it does not hold the document. A value that is not a non-negative number is ignored, as Ceramic's
 * clients send options a node may not know.
 */
function loadOptions (query: { syncTimeoutSeconds?: unknown } | undefined): { syncTimeoutMs?: number } {
  const seconds = Number(query?.syncTimeoutSeconds)
  if (query?.syncTimeoutSeconds === undefined || query.syncTimeoutSeconds === '' || !Number.isFinite(seconds) || seconds < 0) return {}
  return { syncTimeoutMs: Math.min(seconds, MAX_SYNC_TIMEOUT_SECONDS) * 1000 }
}

/** `POST /streams`, `GET /streams/:id` and `POST /streams/:id/anchor`: Ceramic's document routes. */
export function streamRoutes (app: FastifyInstance, node: Pick<HttpApiNode, 'createDocument' | 'load' | 'requestAnchor' | 'chains' | 'doctypes'>): void {
  app.post<{ Body: CreateBody }>('/api/v0/streams', { schema: createSchema, config: { rateLimit: 'write' } }, async (request) => {
    const { type, genesis, opts } = request.body
    const commit = commitFromJSON(genesis)
    const { id, state } = await node.createDocument(type, commit, writeOptions(opts))
    return { streamId: id.toString(), state: stateJSON(node.doctypes, state) }
  })

  app.get<{ Params: { id: string }, Querystring: { syncTimeoutSeconds?: string } }>('/api/v0/streams/:id', { config: { rateLimit: 'read' } }, async (request) => {
    const ref = parseDocOrCommitID(request.params.id)
    const { id, state } = await node.load(ref, loadOptions(request.query))
    return { streamId: id.toString(), state: stateJSON(node.doctypes, state) }
  })

  app.post<{ Params: { id: string }, Body: { opts?: { chainId?: string } } | undefined }>('/api/v0/streams/:id/anchor', { schema: anchorSchema, preValidation: optionalBody, config: { rateLimit: 'write' } }, async (request) => {
    const id = parseDocOrCommitID(request.params.id).baseID
    if (node.chains.length === 0) {
      throw new UnsupportedChainError(`This node has no anchor service: ${id.toString()} cannot be anchored here`, { details: { docId: id.toString() } })
    }
    const chainId = request.body?.opts?.chainId
    const status = await node.requestAnchor(id, chainId === undefined ? {} : { chainId })
    return { streamId: id.toString(), anchorStatus: anchorStatusName(status) }
  })
}
