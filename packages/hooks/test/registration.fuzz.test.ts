import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { webhooks } from '@kiln/hooks'
import type { HookComponents } from '@kiln/interface'
import { fc, fuzzInputs, fuzzTest, mutatedJson } from '@kiln/interface-tests/fuzz'
import { afterAll, expect } from 'vitest'

// The webhook registration decoder (`admin.add`, what POST /api/v0/kiln/admin/hooks calls), fuzzed: what it accepts
// is an http(s) URL with at most one filter, stored as listed; everything else is an InvalidRequestError and stores nothing.

const DOC = 'kjzl6cwe1jw145cjbvnfnnu4f2yxjv6d7c1vwd7n7hnjv0f6cke8ka8s0xm5amz'
const dir = await mkdtemp(join(tmpdir(), 'kiln-hooks-fuzz-'))
const components: HookComponents = {
  storage: { getHead: async () => undefined, listDocuments: async function * () {}, query: async () => ({ ids: [], hasNextPage: false }) },
  current: async () => undefined
}
const hooks = webhooks({ path: join(dir, 'outbox') })(components)
await hooks.start?.()

afterAll(async () => {
  await hooks.stop?.()
  await rm(dir, { recursive: true, force: true })
})

const valid = fc.record({
  url: fc.constantFrom('http://127.0.0.1:8080/hook', 'https://example.test/a?b=c', 'http://[::1]:9/x'),
  filter: fc.oneof(fc.constant({}), fc.string({ minLength: 1, maxLength: 20 }).map((family) => ({ family })), fc.constant({ doc: DOC }), fc.constant({ schema: DOC }))
}, { requiredKeys: ['url'] })

fuzzTest({
  name: 'hooks.webhook-registration',
  inputs: fuzzInputs<unknown>(valid, mutatedJson, fc.jsonValue({ maxDepth: 3 })),
  // Every input lists the webhooks (the writes oracle), and the list grows with each accepted one: fewer runs than the default.
  runs: 600,
  run: async (input) => await hooks.admin.add(input as never),
  accepted: async (input, result) => {
    const created = result as { id: string, url: string, filter: Record<string, string> }
    expect(['http:', 'https:']).toContain(new URL(created.url).protocol)
    expect(Object.keys(created.filter).length).toBeLessThanOrEqual(1)
    expect(new URL((input as { url: string }).url).toString()).toBe(created.url)
    expect((await hooks.admin.list()).find((h) => h.id === created.id)?.url).toBe(created.url)
  },
  errors: ['InvalidRequestError'],
  writes: async () => (await hooks.admin.list()).length
})
