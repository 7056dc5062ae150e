import { signCompactJWS } from '@kiln/signing'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { admin, bob, call, createTile, startHarness, type Answer, type Harness } from './fixtures/harness.js'

describe('admin routes', () => {
  let h: Harness
  let streamId: string

  async function code (): Promise<string> {
    const answer = await call(h.url, '/api/v0/admin/getCode')
    expect(answer.status).toBe(200)
    return answer.json.code
  }

  async function basic (requestPath: string, signer = admin, payload: Record<string, unknown> = {}): Promise<Record<string, string>> {
    return { authorization: `Basic ${await signCompactJWS(signer, { code: await code(), requestPath, ...payload })}` }
  }

  async function expectRefused (answer: Answer, pinned: boolean): Promise<void> {
    expect({ status: answer.status, name: answer.json?.name }).toEqual({ status: 401, name: 'AdminAuthError' })
    expect(await h.node.isPinned(streamId)).toBe(pinned)
    expect((await call(h.url, '/api/v0/node/healthcheck')).text).toBe('Alive!')
  }

  beforeEach(async () => {
    h = await startHarness({ adminDids: [admin.did] })
    ;({ streamId } = await createTile(h.url, { v: 1 }, undefined, { anchor: false, pin: false }))
  })
  afterEach(async () => { await h.close() })

  it('hands out a fresh code each time', async () => {
    const [a, b] = [await code(), await code()]
    expect(typeof a).toBe('string')
    expect(a).not.toBe(b)
  })

  it('pins, lists and unpins with a JWS of an admin DID over a fresh code, signing the route\'s path', async () => {
    const path = `/api/v0/admin/pins/${streamId}`
    const added = await call(h.url, path, { method: 'POST', headers: await basic(path) })
    expect(added.status).toBe(200)
    expect(added.json).toEqual({ streamId, isPinned: true })
    expect(await h.node.isPinned(streamId)).toBe(true)

    const listed = await call(h.url, '/api/v0/admin/pins', { headers: await basic('/api/v0/admin/pins') })
    expect(listed.json).toEqual({ pinnedStreamIds: [streamId] })
    const one = await call(h.url, path, { headers: await basic(path) })
    expect(one.json).toEqual({ pinnedStreamIds: [streamId] })

    const removed = await call(h.url, path, { method: 'DELETE', headers: await basic(path) })
    expect(removed.json).toEqual({ streamId, isPinned: false })
    expect(await h.node.isPinned(streamId)).toBe(false)
    const none = await call(h.url, path, { headers: await basic(path) })
    expect(none.json).toEqual({ pinnedStreamIds: [] })
  })

  it('accepts Ceramic\'s pin client form: the full URL of /api/v0/admin/pins, for every pin route', async () => {
    const signed = `${h.url}/api/v0/admin/pins`
    const path = `/api/v0/admin/pins/${streamId}`
    const added = await call(h.url, path, { method: 'POST', body: {}, headers: await basic(signed) })
    expect(added.json).toEqual({ streamId, isPinned: true })
    const listed = await call(h.url, '/api/v0/admin/pins', { headers: await basic('https://elsewhere.example:443/api/v0/admin/pins') })
    expect(listed.json).toEqual({ pinnedStreamIds: [streamId] })
    const one = await call(h.url, path, { headers: await basic(signed) })
    expect(one.json).toEqual({ pinnedStreamIds: [streamId] })
    // Ceramic's rm sends a DELETE with a JSON body; its 6.x client signs the path of /api/v0/admin/pins.
    const removed = await call(h.url, path, { method: 'DELETE', body: { opts: {} }, headers: await basic('/api/v0/admin/pins') })
    expect(removed.json).toEqual({ streamId, isPinned: false })
  })

  it('takes the JWS from a JSON body {jws} as well', async () => {
    const path = `/api/v0/admin/pins/${streamId}`
    const jws = await signCompactJWS(admin, { code: await code(), requestPath: path, requestBody: {} })
    const added = await call(h.url, path, { body: { jws } })
    expect(added.json).toEqual({ streamId, isPinned: true })
  })

  it('refuses a request without auth', async () => {
    await expectRefused(await call(h.url, `/api/v0/admin/pins/${streamId}`, { method: 'POST' }), false)
    await expectRefused(await call(h.url, '/api/v0/admin/pins'), false)
    await expectRefused(await call(h.url, `/api/v0/admin/pins/${streamId}`, { method: 'POST', headers: { authorization: 'Bearer abc' } }), false)
    await expectRefused(await call(h.url, `/api/v0/admin/pins/${streamId}`, { method: 'POST', headers: { authorization: 'Basic not.a.jws' } }), false)
  })

  it('refuses a JWS by a DID that is not an admin', async () => {
    const path = `/api/v0/admin/pins/${streamId}`
    const answer = await call(h.url, path, { method: 'POST', headers: await basic(path, bob) })
    await expectRefused(answer, false)
    expect(answer.json.error).toBe(`Admin JWS rejected: ${bob.did} is not an admin DID of this node`)
    expect(answer.text).not.toContain(admin.did)
  })

  it('refuses a code used twice', async () => {
    const path = `/api/v0/admin/pins/${streamId}`
    const headers = await basic(path)
    expect((await call(h.url, path, { method: 'POST', headers })).status).toBe(200)
    await call(h.url, path, { method: 'DELETE', headers: await basic(path) })
    const again = await call(h.url, path, { method: 'POST', headers })
    await expectRefused(again, false)
    expect(again.json.error).toMatch(/unknown, expired or already used/)
  })

  it('refuses a code nobody issued', async () => {
    const path = `/api/v0/admin/pins/${streamId}`
    const jws = await signCompactJWS(admin, { code: 'made-up', requestPath: path })
    await expectRefused(await call(h.url, path, { method: 'POST', headers: { authorization: `Basic ${jws}` } }), false)
  })

  it('refuses a JWS signed for another path, or over another body', async () => {
    const path = `/api/v0/admin/pins/${streamId}`
    await expectRefused(await call(h.url, path, { method: 'POST', headers: await basic('/api/v0/admin/pins/kother') }), false)
    await expectRefused(await call(h.url, path, { method: 'POST', headers: await basic('/api/v0/streams') }), false)
    await expectRefused(await call(h.url, path, { method: 'POST', body: { force: true }, headers: await basic(path, admin, { requestBody: { force: false } }) }), false)
  })
})

describe('admin codes', () => {
  it('refuses an expired code, and accepts one until it expires', async () => {
    const h = await startHarness({ adminDids: [admin.did], codeTtlMs: 60_000 })
    // The server's clock is faked (Date only), so the test says when a code has expired.
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const { streamId } = await createTile(h.url, { v: 1 }, undefined, { anchor: false, pin: false })
      const path = `/api/v0/admin/pins/${streamId}`
      const issued = Date.now()
      const authorization = async (): Promise<string> => {
        const { json } = await call(h.url, '/api/v0/admin/getCode')
        return `Basic ${await signCompactJWS(admin, { code: json.code, requestPath: path })}`
      }
      const [first, second] = [await authorization(), await authorization()]
      vi.setSystemTime(issued + 59_999)
      expect((await call(h.url, path, { method: 'POST', headers: { authorization: first } })).status).toBe(200)
      expect(await h.node.isPinned(streamId)).toBe(true)
      vi.setSystemTime(issued + 60_000)
      const answer = await call(h.url, path, { method: 'DELETE', headers: { authorization: second } })
      expect({ status: answer.status, name: answer.json.name }).toEqual({ status: 401, name: 'AdminAuthError' })
      expect(await h.node.isPinned(streamId)).toBe(true)
    } finally {
      vi.useRealTimers()
      await h.close()
    }
  })
})

describe('a node without admin DIDs', () => {
  it('answers every admin route 401, saying admin is disabled', async () => {
    const h = await startHarness()
    try {
      const { streamId } = await createTile(h.url, { v: 1 })
      const jws = await signCompactJWS(admin, { code: 'x', requestPath: '/api/v0/admin/pins' })
      const headers = { authorization: `Basic ${jws}` }
      for (const [method, path] of [['GET', '/api/v0/admin/getCode'], ['GET', '/api/v0/admin/pins'], ['GET', `/api/v0/admin/pins/${streamId}`],
        ['POST', `/api/v0/admin/pins/${streamId}`], ['DELETE', `/api/v0/admin/pins/${streamId}`]] as const) {
        const answer = await call(h.url, path, { method, headers })
        expect({ status: answer.status, name: answer.json.name }).toEqual({ status: 401, name: 'AdminAuthError' })
        expect(answer.json.error).toMatch(/disabled/)
      }
      expect(await h.node.isPinned(streamId)).toBe(true)
    } finally {
      await h.close()
    }
  })
})
