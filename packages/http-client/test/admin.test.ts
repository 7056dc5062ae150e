import { compactJWS, httpClient } from '@kiln/http-client'
import { createVerifier, keyDidSigner, signCompactJWS } from '@kiln/signing'
import { afterEach, describe, expect, it } from 'vitest'
import { fakeNode, sendJSON, type FakeNode } from './fixtures/fake-node.js'

const admin = keyDidSigner({ seed: new Uint8Array(32).fill(0xad) })
const docId = 'kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s'

let server: FakeNode | undefined
afterEach(async () => { await server?.close(); server = undefined })

/** A fake node that hands out numbered codes and checks each admin JWS as a node would. */
async function adminNode (): Promise<{ node: FakeNode, verified: unknown[] }> {
  let n = 0
  const verified: unknown[] = []
  const verifier = createVerifier()
  server = await fakeNode(async (req, res) => {
    if (req.path === '/api/v0/admin/getCode') return sendJSON(res, 200, { code: `code-${++n}` })
    const auth = req.headers.authorization ?? ''
    const jws = auth.replace(/^Basic /, '')
    try {
      verified.push((await verifier.verifyCompactJWS(jws, { controllers: [admin.did] })).payload)
    } catch (err) {
      return sendJSON(res, 401, { error: (err as Error).message, name: 'AdminAuthError' })
    }
    if (req.method === 'GET' && req.path === '/api/v0/admin/pins') return sendJSON(res, 200, { pinnedStreamIds: [docId] })
    if (req.method === 'GET') return sendJSON(res, 200, { pinnedStreamIds: [] })
    sendJSON(res, 200, { streamId: docId, isPinned: req.method === 'POST' })
  })
  return { node: server, verified }
}

describe('admin calls of the HTTP client', () => {
  it('builds the same compact JWS as @kiln/signing, byte for byte', async () => {
    const payload = { code: 'abc', requestPath: '/api/v0/admin/pins', requestBody: { x: [1, 'é'] } }
    expect(await compactJWS(admin, payload)).toBe(await signCompactJWS(admin, payload))
    const secp = keyDidSigner({ seed: new Uint8Array(32).fill(7), type: 'secp256k1' })
    expect((await createVerifier().verifyCompactJWS(await compactJWS(secp, payload))).payload).toEqual(payload)
  })

  it('signs each pin call over a fresh code and the route\'s path, sent as Authorization: Basic', async () => {
    const { node, verified } = await adminNode()
    const client = httpClient({ url: node.url, adminSigner: admin })
    await client.pin(docId)
    expect((await client.listPins()).map(String)).toEqual([docId])
    expect(await client.isPinned(docId)).toBe(false)
    await client.unpin(docId)
    expect(verified).toEqual([
      { code: 'code-1', requestPath: `/api/v0/admin/pins/${docId}` },
      { code: 'code-2', requestPath: '/api/v0/admin/pins' },
      { code: 'code-3', requestPath: `/api/v0/admin/pins/${docId}` },
      { code: 'code-4', requestPath: `/api/v0/admin/pins/${docId}` }
    ])
    expect(node.requests.filter((r) => !r.path.endsWith('getCode')).map((r) => r.method)).toEqual(['POST', 'GET', 'GET', 'DELETE'])
  })

  it('answers AdminAuthError without a signer, before sending anything, and as the node answers it for a stranger', async () => {
    const { node } = await adminNode()
    await expect(httpClient({ url: node.url }).listPins()).rejects.toMatchObject({ name: 'AdminAuthError' })
    expect(node.requests).toHaveLength(0)
    const stranger = keyDidSigner({ seed: new Uint8Array(32).fill(9) })
    await expect(httpClient({ url: node.url, adminSigner: stranger }).pin(docId)).rejects.toMatchObject({ name: 'AdminAuthError' })
  })
})

describe('webhook admin calls of the HTTP client', () => {
  it('signs an add over its path and body, and reads the answer with its secret', async () => {
    const { node, verified } = await adminNode()
    const client = httpClient({ url: node.url, adminSigner: admin })
    // The fake node answers every admin POST as a pin route does: no id, no secret.
    await expect(client.hooks.add({ url: 'http://127.0.0.1:9/x', filter: { family: 'f' } })).rejects.toMatchObject({ name: 'CodecError' })
    expect(verified.at(-1)).toEqual({ code: 'code-1', requestPath: '/api/v0/kiln/admin/hooks', requestBody: { url: 'http://127.0.0.1:9/x', filter: { family: 'f' } } })
  })

  it('refuses a webhook id that cannot be one, and any call without an admin signer, before sending anything', async () => {
    const { node, verified } = await adminNode()
    await expect(httpClient({ url: node.url, adminSigner: admin }).hooks.remove('../pins')).rejects.toMatchObject({ name: 'InvalidRequestError' })
    await expect(httpClient({ url: node.url }).hooks.list()).rejects.toMatchObject({ name: 'AdminAuthError' })
    expect(verified).toEqual([])
    expect(node.requests).toEqual([])
  })
})
