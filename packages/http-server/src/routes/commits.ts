import { commitFromJSON, commitToJSON } from '@kiln/codec'
import { parseDocOrCommitID } from '@kiln/docid'
import type { FastifyInstance } from 'fastify'
import type { HttpApiNode } from '../api.js'
import { stateJSON } from '../state-json.js'
import { writeOptions, writeOptionsSchema } from './write-options.js'

interface ApplyBody {
  streamId: string
  commit: Record<string, unknown>
  opts?: Record<string, unknown>
}

const applySchema = {
  body: {
    type: 'object',
    required: ['streamId', 'commit'],
    properties: {
      streamId: { type: 'string' },
      commit: { type: 'object' },
      opts: writeOptionsSchema
    }
  }
} as const

/** `POST /commits` and `GET /commits/:id`: applying a commit and reading a document's log. */
export function commitRoutes (app: FastifyInstance, node: Pick<HttpApiNode, 'applyCommit' | 'loadLog' | 'doctypes'>): void {
  app.post<{ Body: ApplyBody }>('/api/v0/commits', { schema: applySchema, config: { rateLimit: 'write' } }, async (request) => {
    const { streamId, commit, opts } = request.body
    const ref = parseDocOrCommitID(streamId)
    const { id, state } = await node.applyCommit(ref.baseID, commitFromJSON(commit), writeOptions(opts))
    return { streamId: id.toString(), state: stateJSON(node.doctypes, state) }
  })

  app.get<{ Params: { id: string } }>('/api/v0/commits/:id', { config: { rateLimit: 'read' } }, async (request) => {
    const ref = parseDocOrCommitID(request.params.id)
    const log = await node.loadLog(ref)
    return {
      streamId: ref.baseID.toString(),
      commits: log.map((item) => ({ cid: item.cid.toString(), value: commitToJSON(item.value) }))
    }
  })
}
