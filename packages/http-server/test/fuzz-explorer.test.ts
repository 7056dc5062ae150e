import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { fuzzTest, mutatedString } from '@kiln/interface-tests/fuzz'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, describe, expect, it } from 'vitest'
import { makeDocuments } from './fixtures/fuzz-documents.js'
import { fc, fuzzServer, idSegments, encodeSegment, oddHeaders, paramOf, request, send, type Answer, type IdSegment, ROUTE_FUZZ_RUNS } from './fixtures/fuzz-http.js'

// The explorer's routes (GET / and GET /explorer/:file) and the raw block route (GET /api/v0/kiln/blocks/:cid) under
// fuzzed paths, ids, queries and headers: a 200 is only ever a file of the page or a stored block whose bytes hash to
// the CID asked for; anything else is a named 4xx, and nothing is written.

const server = await fuzzServer()
const docs = await makeDocuments(server.node, 2, 1)
afterAll(async () => { await server.close() })

/** The page's files as the package holds them: its HTML and CSS, and its compiled scripts. */
const STATIC = fileURLToPath(new URL('../explorer/static/', import.meta.url))
const SCRIPTS = fileURLToPath(new URL('../dist/explorer/', import.meta.url))
const FILES = new Map<string, Uint8Array>([
  ...readdirSync(STATIC).map((name) => [name, readFileSync(STATIC + name)] as const),
  ...readdirSync(SCRIPTS).filter((name) => name.endsWith('.js')).map((name) => [name, readFileSync(SCRIPTS + name)] as const)
])
const SERVED_UNDER_EXPLORER = [...FILES.keys()].filter((name) => name !== 'index.html')

interface PathInput { path: string, headers: Record<string, string> }

describe('the explorer\'s answers', () => {
  it('serves the page with a policy that lets it load nothing from elsewhere', async () => {
    const page = await server.api.inject({ method: 'GET', url: '/' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['content-security-policy']).toContain("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'")
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    // Every file the page names is served from this node.
    const named = [...page.body.matchAll(/(?:src|href)="(\/explorer\/[^"]+)"/g)].map((m) => m[1]!)
    expect(named).toEqual(['/explorer/explorer.css', '/explorer/app.js'])
    for (const url of named) expect((await server.api.inject({ method: 'GET', url })).statusCode, url).toBe(200)
  })

  it('is a 404 like any unknown route when the server is built with explorer: false', async () => {
    const off = await fuzzServer({ explorer: false })
    try {
      for (const url of ['/', '/explorer/app.js']) {
        const answer = await send(off.api, { method: 'GET', url })
        expect(answer.status, url).toBe(404)
        expect(answer.json).toEqual({ error: `No route GET ${url}`, name: 'InvalidRequestError' })
      }
    } finally {
      await off.close()
    }
  })
})

describe('GET / and GET /explorer/:file', () => {
  const names = fc.oneof(
    { arbitrary: fc.constantFrom(...FILES.keys(), 'app.d.ts', 'app.js.map', 'cbor.d.ts', '..%2Fpackage.json', '%2e%2e%2fsrc%2findex.ts', 'explorer.tsbuildinfo', '', '.', '..'), weight: 3 },
    { arbitrary: mutatedString(fc.constantFrom(...FILES.keys())), weight: 4 },
    { arbitrary: fc.string({ maxLength: 30 }).map((s) => encodeURIComponent(s)), weight: 2 }
  )
  const paths = fc.oneof(
    { arbitrary: names.map((name) => `/explorer/${name}`), weight: 6 },
    { arbitrary: fc.constantFrom('/', '/?x=1', '/#/doc/k', '/explorer', '/explorer/', '/explorer//app.js', '/explorer/../package.json', '/explorer/app.js/x', '/index.html'), weight: 1 },
    { arbitrary: fc.string({ maxLength: 20 }).map((q) => `/?${encodeURIComponent(q)}`), weight: 1 }
  )
  fuzzTest<PathInput>({
    name: 'http.explorer.files',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({ path: paths, headers: oddHeaders }),
    run: async ({ path, headers }) => await request(server.api, { method: 'GET', url: path, headers }),
    errors: ['InvalidRequestError', 'RequestTooLargeError'],
    writes: () => server.writes(),
    accepted: (_input, result) => {
      // Only the page at `/`, or a file of it under /explorer/, byte for byte, with the page's security headers.
      const answer = result as Answer
      const pathname = answer.url.split('?')[0]!
      const name = pathname === '/' ? 'index.html' : paramOf(answer, /^\/explorer\/([^/]+)$/)
      if (pathname !== '/') expect(SERVED_UNDER_EXPLORER).toContain(name)
      expect(Buffer.from(answer.bytes).equals(Buffer.from(FILES.get(name)!))).toBe(true)
      expect(answer.contentType).toMatch(/^text\/(html|css|javascript); charset=utf-8$/)
    }
  })
})

/** CIDs of blocks the node holds: every commit of the documents. */
const stored = docs.flatMap((doc) => doc.state.log.map((entry) => entry.cid.toString()))

describe('GET /api/v0/kiln/blocks/:cid', () => {
  fuzzTest<IdSegment>({
    name: 'http.kiln.blocks',
    runs: ROUTE_FUZZ_RUNS,
    inputs: idSegments(stored),
    run: async (segment) => await request(server.api, { method: 'GET', url: `/api/v0/kiln/blocks/${encodeSegment(segment)}${segment.query}` }),
    errors: ['InvalidRequestError', 'BlockNotFoundError', 'RequestTooLargeError'],
    writes: () => server.writes(),
    accepted: async (_input, result) => {
      // A 200 is the stored block of a CID that parses, and its bytes hash to that CID.
      const answer = result as Answer
      const cid = CID.parse(paramOf(answer, /^\/api\/v0\/kiln\/blocks\/([^/]+)$/))
      expect(answer.contentType).toBe('application/octet-stream')
      expect(Buffer.from(answer.bytes).equals(Buffer.from(await server.node.readBlock(cid)))).toBe(true)
      if (cid.multihash.code === sha256.code) expect(Buffer.from((await sha256.digest(answer.bytes)).digest).equals(Buffer.from(cid.multihash.digest))).toBe(true)
    }
  })
})
