import { parseDocOrCommitID } from '@kiln/docid'
import { isKilnError } from '@kiln/interface'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AdminAuth } from '../admin-auth.js'
import type { HttpApiNode } from '../api.js'
import { hookRoutes } from './hooks.js'
import { optionalBody } from './optional-body.js'

const adminBodySchema = {
  body: { type: 'object', properties: { jws: { type: 'string' } } }
} as const

function pathOf (request: FastifyRequest): string {
  const at = request.url.indexOf('?')
  return at === -1 ? request.url : request.url.slice(0, at)
}

/**
 * `GET /admin/getCode` and the pin routes, each checked by {@link AdminAuth} before anything is read or changed. Every
 * `getCode` counts against the client's admin attempts (`config.rateLimit`), and so does every refused authorization:
 * `onRefused` is called first, and may throw instead (a `RateLimitedError` once the attempts are used up). The pin
 * routes count as reads or writes besides.
 */
export function adminRoutes (app: FastifyInstance, node: Pick<HttpApiNode, 'pin' | 'unpin' | 'isPinned' | 'listPins' | 'hooks'>, auth: AdminAuth, onRefused: (request: FastifyRequest) => void = () => {}): void {
  const authorizer = (pinRoute: boolean) => async (request: FastifyRequest): Promise<void> => {
    try {
      await auth.authorize({ authorization: request.headers.authorization, body: request.body, pathname: pathOf(request), pinRoute })
    } catch (err) {
      if (isKilnError(err, 'AdminAuthError')) onRefused(request)
      throw err
    }
  }
  const authorize = authorizer(true)
  const read = { rateLimit: 'read' } as const
  const write = { rateLimit: 'write' } as const

  app.get('/api/v0/admin/getCode', { config: { rateLimit: 'adminAuth' } }, async () => ({ code: auth.issueCode() }))

  app.get('/api/v0/admin/pins', { preHandler: authorize, config: read }, async () => {
    const ids = await node.listPins()
    return { pinnedStreamIds: ids.map((id) => id.toString()) }
  })

  app.get<{ Params: { id: string } }>('/api/v0/admin/pins/:id', { preHandler: authorize, config: read }, async (request) => {
    const id = parseDocOrCommitID(request.params.id).baseID
    return { pinnedStreamIds: await node.isPinned(id) ? [id.toString()] : [] }
  })

  app.post<{ Params: { id: string } }>('/api/v0/admin/pins/:id', { schema: adminBodySchema, preValidation: optionalBody, preHandler: authorize, config: write }, async (request) => {
    const id = parseDocOrCommitID(request.params.id).baseID
    await node.pin(id)
    return { streamId: id.toString(), isPinned: true }
  })

  app.delete<{ Params: { id: string } }>('/api/v0/admin/pins/:id', { schema: adminBodySchema, preValidation: optionalBody, preHandler: authorize, config: write }, async (request) => {
    const id = parseDocOrCommitID(request.params.id).baseID
    await node.unpin(id)
    return { streamId: id.toString(), isPinned: false }
  })

  hookRoutes(app, node, authorizer(false))
}
