import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { webhooks } from '@kiln/hooks'
import { fuzzTest } from '@kiln/interface-tests/fuzz'
import { afterAll, describe, expect, it } from 'vitest'
import { ADMIN_REFUSALS, adminFuzz, expectAuthorized, noBody, type Sent } from './fixtures/fuzz-admin.js'
import { fc, fuzzServer, jsonBodies, request, send } from './fixtures/fuzz-http.js'
import { admin } from './fixtures/harness.js'
import { signCompactJWS } from '@kiln/signing'

// The webhook admin routes under fuzzed paths, bodies and auth: POST, GET /api/v0/kiln/admin/hooks and
// DELETE /api/v0/kiln/admin/hooks/:id on a node running the real webhooks plugin (its outbox in a tmp dir).

const HOOKS = '/api/v0/kiln/admin/hooks'
const dir = await mkdtemp(join(tmpdir(), 'kiln-hooks-routes-'))
const ctx = await adminFuzz({ hooks: [webhooks({ path: join(dir, 'outbox') })] })
const hooks = ctx.server.node.hooks!
const seeded = await Promise.all(['a', 'b', 'c'].map(async (name) => (await hooks.add({ url: `http://127.0.0.1:9/${name}` })).id))

afterAll(async () => {
  await ctx.close()
  await rm(dir, { recursive: true, force: true })
})

/** Every registration and node write: unchanged by a refused request. */
const writes = async (): Promise<number> => ctx.writes() + (await hooks.list()).length * 1_000_003

const registration = fc.record({
  url: fc.oneof(fc.constantFrom('http://127.0.0.1:8080/hook', 'https://example.test/x'), fc.webUrl()),
  filter: fc.oneof(fc.constant({}), fc.record({ family: fc.string({ minLength: 1, maxLength: 10 }) }), fc.constant({ doc: ctx.docs[0]!.id.toString() }), fc.constant({ schema: 'kjzl' }))
}, { requiredKeys: ['url'] })
/** Bodies around a registration, and (so that auth and the registry are reached often) well-formed ones. */
const registrations = fc.oneof(jsonBodies(registration), registration.map((r) => ({ contentType: 'application/json', payload: JSON.stringify(r) })))

describe(`POST ${HOOKS}`, () => {
  fuzzTest({
    name: 'http.admin.hooks.add',
    inputs: ctx.inputs(fc.constantFrom(HOOKS, `${HOOKS}?x=1`), fc.oneof(noBody, registrations, registrations)),
    runs: 500,
    run: async (input) => await ctx.send('POST', input),
    errors: ADMIN_REFUSALS,
    writes,
    accepted: async (input, result) => {
      const sent = result as Sent
      expectAuthorized('POST', input, sent)
      const created = sent.answer.json as { id: string, url: string, secret: string }
      expect(sent.answer.status).toBe(201)
      expect(created.secret).toMatch(/^[0-9a-f]{64}$/)
      expect((await hooks.list()).find((h) => h.id === created.id)?.url).toBe(created.url)
    }
  })
})

describe(`GET ${HOOKS}`, () => {
  fuzzTest({
    name: 'http.admin.hooks.list',
    inputs: ctx.inputs(fc.constantFrom(HOOKS, `${HOOKS}?all=1`), noBody),
    runs: 500,
    run: async (input) => await ctx.send('GET', input),
    errors: ADMIN_REFUSALS,
    writes,
    accepted: async (input, result) => {
      const sent = result as Sent
      expectAuthorized('GET', input, sent)
      const listed = (sent.answer.json as { hooks: Array<Record<string, unknown>> }).hooks
      expect(listed.map((h) => h.id)).toEqual((await hooks.list()).map((h) => h.id))
      for (const hook of listed) expect(hook).not.toHaveProperty('secret')
    }
  })
})

describe(`DELETE ${HOOKS}/:id`, () => {
  const ids = fc.oneof(fc.constantFrom(...seeded), fc.string({ maxLength: 30 }), fc.constantFrom('wh_', '..', '%2F', 'wh_0000000000000000'))
  fuzzTest({
    name: 'http.admin.hooks.remove',
    inputs: ctx.inputs(ids.map((id) => `${HOOKS}/${encodeURIComponent(id)}`), noBody),
    runs: 500,
    run: async (input) => await ctx.send('DELETE', input),
    errors: [...ADMIN_REFUSALS, 'HookNotFoundError'],
    // A refused DELETE changes nothing; an accepted one removes exactly its webhook (checked below).
    writes: async () => ctx.writes(),
    accepted: async (input, result) => {
      const sent = result as Sent
      expectAuthorized('DELETE', input, sent)
      const { id } = sent.answer.json as { id: string }
      expect((await hooks.list()).some((h) => h.id === id)).toBe(false)
    }
  })
})

describe('a node without a webhooks plugin', () => {
  it('answers an admin\'s webhook request with 501 HooksDisabledError', async () => {
    const server = await fuzzServer({ adminDids: [admin.did] })
    try {
      const code = ((await request(server.api, { method: 'GET', url: '/api/v0/admin/getCode' })).json as { code: string }).code
      const jws = await signCompactJWS(admin, { code, requestPath: HOOKS })
      const answer = await send(server.api, { method: 'GET', url: HOOKS, headers: { authorization: `Basic ${jws}` } })
      expect(answer.status).toBe(501)
      expect(answer.json).toMatchObject({ name: 'HooksDisabledError' })
    } finally {
      await server.close()
    }
  })
})
