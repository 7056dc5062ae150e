import { InvalidRequestError } from '@kiln/interface'
import type { FastifyInstance } from 'fastify'
import { CID } from 'multiformats/cid'
import type { HttpApiNode } from '../api.js'

/** The longest CID string taken: a sha2-512 CIDv1 in base32 is about 120 characters. */
const MAX_CID_LENGTH = 200

/** `cid` parsed, or an `InvalidRequestError` naming it. */
function parseCid (cid: string): CID {
  if (cid.length > MAX_CID_LENGTH) throw new InvalidRequestError(`A CID is at most ${MAX_CID_LENGTH} characters, got ${cid.length}`)
  try {
    return CID.parse(cid)
  } catch (err) {
    throw new InvalidRequestError(`Not a CID: ${JSON.stringify(cid.slice(0, 80))} (${(err as Error).message})`, { cause: err, details: { cid: cid.slice(0, 80) } })
  }
}

/**
 * `GET /api/v0/kiln/blocks/:cid`: one stored block's bytes, as the node holds them (a Merkle node, a proof, a commit),
 * so that a client checks them against their CID itself; the explorer verifies anchor proofs with it. Unknown: 404
 * `BlockNotFoundError`.
 */
export function blockRoutes (app: FastifyInstance, node: Pick<HttpApiNode, 'readBlock'>): void {
  app.get<{ Params: { cid: string } }>('/api/v0/kiln/blocks/:cid', { config: { rateLimit: 'read' } }, async (request, reply) => {
    const bytes = await node.readBlock(parseCid(request.params.cid))
    return await reply.type('application/octet-stream').header('x-content-type-options', 'nosniff')
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  })
}
