import { fuzzTest } from '@kiln/interface-tests/fuzz'
import { afterAll, describe, expect } from 'vitest'
import { adminBodies, ADMIN_REFUSALS, adminFuzz, expectAuthorized, noBody, PINS_PATH, pinRouteSuite, type AdminInput, type Sent } from './fixtures/fuzz-admin.js'
import { fc, oddHeaders, request, type Answer, ROUTE_FUZZ_RUNS } from './fixtures/fuzz-http.js'

// The admin routes that read, under fuzzed queries, ids, bodies and auth: GET /admin/getCode, GET /admin/pins and
// GET /admin/pins/:id (the pin routes that write are in fuzz-admin-pins.test.ts, so that the two files run in parallel).

const ctx = await adminFuzz()
const { server, disabled } = ctx

afterAll(async () => { await ctx.close() })

describe('GET /api/v0/admin/getCode', () => {
  let last = ''
  const queries = fc.oneof(fc.constant(''), fc.constantFrom('?code=1', '?a=%', '?'), fc.string({ maxLength: 16 }).map((s) => `?${encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))}`))
  fuzzTest({
    name: 'http.admin.getCode',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ query: queries, headers: oddHeaders, body: fc.oneof(noBody, adminBodies), toDisabled: fc.nat(9).map((n) => n === 0) }),
    run: async ({ query, headers, body, toDisabled }) => await request((toDisabled ? disabled : server).api, { method: 'GET', url: `/api/v0/admin/getCode${query}`, headers, body }),
    errors: ['AdminAuthError', 'InvalidRequestError', 'RequestTooLargeError'],
    writes: () => ctx.writes(),
    accepted: ({ toDisabled }, result) => {
      // A fresh code, and only where admin is on.
      expect(toDisabled).toBe(false)
      const { code } = (result as Answer).json as { code: string }
      expect(code).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(code).not.toBe(last)
      last = code
    }
  })
})

describe('GET /api/v0/admin/pins', () => {
  const query = fc.constantFrom('', '', '', '?', '?streamId=x', '?%')
  fuzzTest<AdminInput>({
    name: 'http.admin.pins.list',
    runs: ROUTE_FUZZ_RUNS,
    inputs: ctx.inputs(query.map((q) => `${PINS_PATH}${q}`), fc.oneof(noBody, adminBodies)),
    run: async (input) => await ctx.send('GET', input),
    errors: ADMIN_REFUSALS,
    writes: () => ctx.writes(),
    accepted: async (input, result) => {
      // Authorized, and the list is the node's pins.
      const sent = result as Sent
      expectAuthorized('GET', input, sent)
      const pinned = (await server.node.listPins()).map(String).sort()
      expect([...(sent.answer.json as { pinnedStreamIds: string[] }).pinnedStreamIds].sort()).toEqual(pinned)
    }
  })
})

pinRouteSuite(ctx, 'GET', 'http.admin.pins.get')
