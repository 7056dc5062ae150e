// Anchors: requests to anchor documents of the pool (`POST /api/v0/streams/:id/anchor`) against the daemon's mock
// chain, each followed by a load of the document to see its anchor status move. The writes part asks for anchors
// too (`opts.anchor` on some creates and updates), and the anchor commits that come back overtake updates (409s).

/** The anchors part; counts the statuses the requests answered and the anchored states the loads showed. */
export function anchors ({ workers = 1 } = {}) {
  const name = 'anchors'
  return {
    name,
    workers,
    async step ({ client, pool }) {
      const entry = pool.pick()
      if (entry === undefined) return await client.request(name, 'GET', '/api/v0/node/chains')
      const answer = await client.request(name, 'POST', `/api/v0/streams/${entry.id}/anchor`, { body: {} })
      if (answer === undefined) return
      client.count(name, `requested.${answer.json.anchorStatus}`)
      const loaded = await client.request(name, 'GET', `/api/v0/streams/${entry.id}`)
      if (loaded?.json.state.anchorStatus === 'ANCHORED') client.count(name, 'anchoredStatesSeen')
    }
  }
}
