import { HooksDisabledError, InvalidRequestError, type HookAdmin } from '@kiln/interface'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { HttpApiNode } from '../api.js'
import { optionalBody } from './optional-body.js'

/** The path of the webhook admin routes. */
export const HOOKS_PATH = '/api/v0/kiln/admin/hooks'

const addBodySchema = {
  body: { type: 'object', required: ['url'], properties: { url: { type: 'string' }, filter: { type: 'object' }, jws: { type: 'string' } } }
} as const

const adminBodySchema = {
  body: { type: 'object', properties: { jws: { type: 'string' } } }
} as const

/** The node's webhooks, or `HooksDisabledError` on a node without a webhooks plugin. */
function hooksOf (node: Pick<HttpApiNode, 'hooks'>): HookAdmin {
  if (node.hooks === undefined) throw new HooksDisabledError('This node runs no webhooks plugin: start it with webhooks() of @kiln/hooks (kiln daemon does by default)')
  return node.hooks
}

/**
 * The webhook admin routes: add, list and remove, each checked by `authorize` (a JWS of an admin DID over a fresh
 * code and this path; for an add, over its body too when the JWS signs one) before anything is read or changed.
 */
export function hookRoutes (app: FastifyInstance, node: Pick<HttpApiNode, 'hooks'>, authorize: (request: FastifyRequest) => Promise<void>): void {
  app.post<{ Body: { url: string, filter?: unknown, jws?: string } }>(HOOKS_PATH, { schema: addBodySchema, preHandler: authorize, config: { rateLimit: 'write' } }, async (request, reply) => {
    const hooks = hooksOf(node)
    const { url, filter } = request.body
    const created = await hooks.add(filter === undefined ? { url } : { url, filter: filter as object })
    void reply.code(201)
    return created
  })

  app.get(HOOKS_PATH, { preHandler: authorize, config: { rateLimit: 'read' } }, async () => ({ hooks: await hooksOf(node).list() }))

  app.delete<{ Params: { id: string } }>(`${HOOKS_PATH}/:id`, { schema: adminBodySchema, preValidation: optionalBody, preHandler: authorize, config: { rateLimit: 'write' } }, async (request) => {
    const id = request.params.id
    if (!/^[\w-]{1,100}$/.test(id)) throw new InvalidRequestError('A webhook id is 1 to 100 letters, digits, "_" or "-"', { details: { field: 'id' } })
    await hooksOf(node).remove(id)
    return { id, removed: true }
  })
}
