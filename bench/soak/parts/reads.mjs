// Reads: the read routes a client uses, on the documents of the shared pool — a state (latest, and at an older
// commit), the commits, Kiln's log with proofs, a multiquery, an export — and the node routes; now and then a
// document the node does not have, answered 404 as expected.
import { CommitID, DocID } from '@kiln/docid'

/** A DocID string of a tile this node has never seen. */
const UNKNOWN_DOC = 'kjzl6cwe1jw147dvq16zluojmofkgn6ewhk2l6pyh3tv2j1wgqx5jgwrk1jk3ub'

/** The reads part: `workers` clients, each sending one read after another, picked by weight. */
export function reads ({ workers = 4 } = {}) {
  const name = 'reads'
  const get = async (client, path, options) => await client.request(name, 'GET', path, options)

  /** Each read: [weight, what it does]. */
  const kinds = [
    [30, async ({ client }, entry) => await get(client, `/api/v0/streams/${entry.id}`)],
    [10, async ({ client, random }, entry) => {
      // A state at an older commit of the log: replayed from the nearest checkpoint.
      const log = entry.state.log
      const at = log[Math.floor(random() * log.length)]
      const docId = DocID.fromString(entry.id)
      return await get(client, `/api/v0/streams/${new CommitID(docId.type, docId.cid, at.cid).toString()}`)
    }],
    [10, async ({ client }, entry) => await get(client, `/api/v0/commits/${entry.id}`)],
    [10, async ({ client }, entry) => await get(client, `/api/v0/kiln/streams/${entry.id}/log`)],
    [10, async ({ client, pool }) => {
      const queries = [pool.pick(), pool.pick(), pool.pick()].map((e) => ({ streamId: e.id }))
      return await client.request(name, 'POST', '/api/v0/multiqueries', { body: { queries } })
    }],
    [5, async ({ client }, entry) => await get(client, `/api/v0/kiln/streams/${entry.id}/export`, { as: 'bytes' })],
    [10, async ({ client }) => await get(client, '/api/v0/node/healthcheck', { as: 'text' })],
    [5, async ({ client }) => await get(client, '/api/v0/node/chains')],
    [5, async ({ client }) => {
      const answer = await get(client, `/api/v0/streams/${UNKNOWN_DOC}`, { expect: [404] })
      if (answer !== undefined && answer.status !== 404) client.error(name, `GET /api/v0/streams/${UNKNOWN_DOC} answered ${answer.status}, not 404`)
    }]
  ]
  const total = kinds.reduce((sum, [weight]) => sum + weight, 0)

  return {
    name,
    workers,
    async step (ctx) {
      const entry = ctx.pool.pick()
      if (entry === undefined) return await get(ctx.client, '/api/v0/node/healthcheck', { as: 'text' })
      let roll = ctx.random() * total
      for (const [weight, read] of kinds) {
        roll -= weight
        if (roll < 0) return await read(ctx, entry)
      }
      return await kinds[0][1](ctx, entry)
    }
  }
}
