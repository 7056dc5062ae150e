// Writes: creates and signed updates of tiles, signed by a real did:key while the load runs. Updates go to documents
// of the shared pool; an update an anchor commit overtook is answered 409, expected: the part reloads the document.
import { commitToJSON, docStateFromJSON } from '@kiln/codec'
import { makeGenesis, makeUpdate, TILE_CODE } from '@kiln/doctype-tile'
import { keyDidSigner } from '@kiln/signing'
import { randomText } from './text.mjs'

/**
 * The writes part. `createShare` of the steps create a document once the pool is full (until then every step does);
 * `anchorShare` of the writes ask to be anchored (`opts.anchor`); contents are `contentBytes` characters of text,
 * except for `largeShare` of the documents, whose contents are `largeBytes` (the watchers' slow readers prefer them:
 * a few of their states fill a socket's buffers, so the daemon's event streams meet backpressure). `newKeyShare` of
 * the documents are controlled by a did:key of their own, as many users' would be (so that whatever the node keeps
 * per DID meets thousands of them); the others by the soak's one writer.
 */
export function writes ({ workers = 4, createShare = 0.2, anchorShare = 0.3, contentBytes = 300, largeShare = 0.05, largeBytes = 48 * 1024, newKeyShare = 0.5 } = {}) {
  const name = 'writes'
  const content = (random, n, large) => ({ n, title: randomText(random, 16), body: randomText(random, large ? largeBytes : contentBytes) })
  const newSigner = (random) => keyDidSigner({ seed: Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256)) })

  async function create ({ client, pool, random, signer: writer }) {
    const large = random() < largeShare
    const signer = random() < newKeyShare ? newSigner(random) : writer
    const genesis = await makeGenesis(content(random, 0, large), {}, signer)
    const answer = await client.request(name, 'POST', '/api/v0/streams', {
      body: { type: TILE_CODE, genesis: commitToJSON(genesis.commit), opts: { anchor: random() < anchorShare, pin: false } }
    })
    if (answer === undefined) return
    client.count(name, large ? 'creates.large' : 'creates')
    pool.add(answer.json.streamId, docStateFromJSON(answer.json.state), { large, signer })
  }

  async function update ({ client, pool, random }, entry) {
    const commit = await makeUpdate(entry.state, content(random, entry.updates + 1, entry.large), entry.signer)
    const answer = await client.request(name, 'POST', '/api/v0/commits', {
      body: { streamId: entry.id, commit: commitToJSON(commit.commit), opts: { anchor: random() < anchorShare } },
      expect: [409]
    })
    if (answer === undefined) return
    if (answer.status === 409) {
      // The tip moved under the update (an anchor commit landed): load the document and build on its tip next time.
      client.count(name, 'conflicts')
      const loaded = await client.request(name, 'GET', `/api/v0/streams/${entry.id}`)
      if (loaded !== undefined) entry.state = docStateFromJSON(loaded.json.state)
      return
    }
    client.count(name, 'updates')
    pool.written(entry, docStateFromJSON(answer.json.state))
  }

  return {
    name,
    workers,
    async step (ctx) {
      const { pool, random } = ctx
      const entry = pool.size < pool.capacity || random() < createShare ? undefined : pool.claim()
      if (entry === undefined) return await create(ctx)
      try {
        await update(ctx, entry)
      } finally {
        pool.release(entry)
      }
    }
  }
}
