// Admin calls: the pin routes, each with a fresh code from `getCode` and a JWS by the daemon's admin DID (a real
// did:key the soak made and gave the daemon with --admin-did). Pins stay few: past `maxPins` the oldest is unpinned.
// Now and then a code is fetched and never used, or a call is signed by a key that is not an admin (401 expected).
import { compactJWS } from '@kiln/http-client'
import { keyDidSigner } from '@kiln/signing'

/** The admin part. */
export function admin ({ workers = 1, maxPins = 16 } = {}) {
  const name = 'admin'
  const outsider = keyDidSigner({ seed: new Uint8Array(32).fill(0x0b) })
  /** DocID strings this part pinned, oldest first. */
  const pinned = []

  /** An admin call of `method path`, signed by `signer`: a code first, then the call with its JWS. */
  async function call (client, signer, method, path, expect = []) {
    const code = await client.request(name, 'GET', '/api/v0/admin/getCode')
    if (code === undefined) return undefined
    const jws = await compactJWS(signer, { code: code.json.code, requestPath: path })
    return await client.request(name, method, path, { headers: { authorization: `Basic ${jws}` }, expect })
  }

  const ops = [
    [30, async ({ client, pool, adminSigner }) => {
      const entry = pool.pick()
      if (entry === undefined || pinned.includes(entry.id)) return await call(client, adminSigner, 'GET', '/api/v0/admin/pins')
      if (await call(client, adminSigner, 'POST', `/api/v0/admin/pins/${entry.id}`) === undefined) return
      pinned.push(entry.id)
      client.count(name, 'pinned')
      if (pinned.length > maxPins) await unpin(client, adminSigner)
    }],
    [10, async ({ client, adminSigner }) => {
      if (pinned.length === 0) return await call(client, adminSigner, 'GET', '/api/v0/admin/pins')
      await unpin(client, adminSigner)
    }],
    [20, async ({ client, adminSigner }) => {
      const id = pinned[pinned.length - 1]
      if (id === undefined) return await call(client, adminSigner, 'GET', '/api/v0/admin/pins')
      const answer = await call(client, adminSigner, 'GET', `/api/v0/admin/pins/${id}`)
      // An id still on the list was pinned all along: it leaves the list before its DELETE is sent.
      if (answer !== undefined && pinned.includes(id) && !answer.json.pinnedStreamIds.includes(id)) client.error(name, `${id} was pinned, but GET /api/v0/admin/pins/${id} says it is not`)
    }],
    [20, async ({ client, adminSigner }) => {
      const before = [...pinned]
      const answer = await call(client, adminSigner, 'GET', '/api/v0/admin/pins')
      if (answer === undefined) return
      const listed = new Set(answer.json.pinnedStreamIds)
      const missing = before.filter((id) => pinned.includes(id) && !listed.has(id))
      if (missing.length > 0) client.error(name, `GET /api/v0/admin/pins leaves out pinned ${missing.join(', ')}`)
    }],
    [10, async ({ client }) => { await client.request(name, 'GET', '/api/v0/admin/getCode') }],
    [10, async ({ client }) => {
      const answer = await call(client, outsider, 'GET', '/api/v0/admin/pins', [401])
      if (answer === undefined) return
      if (answer.status !== 401) client.error(name, `a JWS by a DID that is not an admin was answered ${answer.status}, not 401`)
      else client.count(name, 'refused')
    }]
  ]
  const total = ops.reduce((sum, [weight]) => sum + weight, 0)

  async function unpin (client, adminSigner) {
    const id = pinned.shift()
    if (await call(client, adminSigner, 'DELETE', `/api/v0/admin/pins/${id}`) !== undefined) client.count(name, 'unpinned')
  }

  return {
    name,
    workers,
    async step (ctx) {
      let roll = ctx.random() * total
      for (const [weight, op] of ops) {
        roll -= weight
        if (roll < 0) return await op(ctx)
      }
      return await ops[0][1](ctx)
    }
  }
}
