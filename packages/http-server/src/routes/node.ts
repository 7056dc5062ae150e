import { isKilnError, StorageError } from '@kiln/interface'
import type { FastifyInstance } from 'fastify'
import { CID } from 'multiformats/cid'
import type { HttpApiNode } from '../api.js'

// The raw block of zero bytes: reading it exercises the node's storage without depending on what the node holds.
const PROBE = CID.parse('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')

/**
 * `GET /node/chains`, `GET /node/healthcheck` and `GET /kiln/node`. The first two are not rate limited: a load balancer or monitor polling them
 * must never take a throttled node for a dead one.
 */
export function nodeRoutes (app: FastifyInstance, node: Pick<HttpApiNode, 'chains' | 'readBlock' | 'nodeInfo'>): void {
  app.get('/api/v0/node/chains', { config: { rateLimit: 'none' } }, async () => ({ supportedChains: [...node.chains] }))

  // Who the node is and who it is connected to: its DID, PeerId, dialable addresses, network, topic and peers. A node
  // on no network answers with its DID and nulls.
  app.get('/api/v0/kiln/node', { config: { rateLimit: 'read' } }, async () => {
    const info = node.nodeInfo?.() ?? {}
    const network = info.network
    return {
      did: info.did ?? null,
      peerId: network?.peerId ?? null,
      addresses: network?.addresses ?? [],
      network: network?.network ?? null,
      topic: network?.topic ?? null,
      peers: network?.peers ?? []
    }
  })

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
