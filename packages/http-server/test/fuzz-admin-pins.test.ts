import { afterAll } from 'vitest'
import { adminFuzz, pinRouteSuite } from './fixtures/fuzz-admin.js'

// The admin routes that write, under fuzzed ids, bodies and auth: POST and DELETE /admin/pins/:id, with no auth, junk
// auth, mutated JWSs, and JWSs signed over a fresh code with a mutated payload, by the admin DID or another.

const ctx = await adminFuzz()

afterAll(async () => { await ctx.close() })

pinRouteSuite(ctx, 'POST', 'http.admin.pins.add')
pinRouteSuite(ctx, 'DELETE', 'http.admin.pins.remove')
