import { isKilnError, StorageError } from '@kiln/interface'
import type { FastifyInstance } from 'fastify'
import { CID } from 'multiformats/cid'
import type { HttpApiNode } from '../api.js'

// The raw block of zero bytes: reading it exercises the node's storage without depending on what the node holds.
const PROBE = CID.parse('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')

/**
 * `GET /node/chains` and `GET /node/healthcheck`. They are not rate limited: a load balancer or monitor polling them
 * must never take a throttled node for a dead one.
 */
export function nodeRoutes (app: FastifyInstance, node: Pick<HttpApiNode, 'chains' | 'readBlock'>): void {
  app.get('/api/v0/node/chains', { config: { rateLimit: 'none' } }, async () => ({ supportedChains: [...node.chains] }))

  app.get('/api/v0/node/healthcheck', { config: { rateLimit: 'none' } }, async (_request, reply) => {
    try {
      await node.readBlock(PROBE)
    } catch (err) {
      if (!isKilnError(err, 'BlockNotFoundError')) {
        throw new StorageError(`The node is not healthy: ${isKilnError(err) ? err.message : 'its storage failed'}`, { cause: err })
      }
    }
    return reply.type('text/plain; charset=utf-8').send('Alive!')
  })
}
