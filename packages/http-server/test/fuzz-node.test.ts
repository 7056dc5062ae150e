import { mockAnchor } from '@kiln/anchor-mock'
import { parseDocOrCommitID } from '@kiln/docid'
import { fuzzTest, mutatedString } from '@kiln/interface-tests/fuzz'
import { CID } from 'multiformats/cid'
import { afterAll, describe, expect } from 'vitest'
import { idsOf, makeDocuments } from './fixtures/fuzz-documents.js'
import { fc, fuzzServer, jsonBodies, oddHeaders, request, type Answer, type Body, ROUTE_FUZZ_RUNS } from './fixtures/fuzz-http.js'
import { admin } from './fixtures/harness.js'

// The node routes (GET /node/chains, GET /node/healthcheck, GET /kiln/node) under fuzzed queries, headers and bodies, and the router
// itself under random paths and methods: anything but a route of the API (or the explorer's page and files) is a named
// 404 (or a 400 for a URL that does not decode), never a 2xx.

// An anchor service that mines only once an hour: the node has a chain to list, and writes nothing in the background.
const server = await fuzzServer({ adminDids: [admin.did] }, { anchors: [mockAnchor({ intervalMs: 3_600_000 })] })
const docs = await makeDocuments(server.node, 2, 1)
const ids = idsOf(docs)

afterAll(async () => { await server.close() })

/** Queries a GET may carry: none mostly, else odd ones. */
const queries = fc.oneof(
  { arbitrary: fc.constant(''), weight: 4 },
  { arbitrary: fc.constantFrom('?', '?sync=1', '?%', '?a=%ZZ', '?__proto__[a]=1', '?a[b][c]=1', '?a=1&a=2&a=3', `?x=${'y'.repeat(3000)}`), weight: 1 },
  { arbitrary: fc.string({ maxLength: 30 }).map((s) => `?${s.replace(/[#\ud800-\udfff]/g, '')}`), weight: 1 }
)

/** What a GET may carry besides a query: nothing mostly, else a body of any kind. */
const getBodies: fc.Arbitrary<Body> = fc.oneof({ arbitrary: fc.constant({}), weight: 3 }, { arbitrary: jsonBodies(fc.jsonValue({ maxDepth: 2 })), weight: 1 })

interface GetInput { query: string, headers: Record<string, string>, body: Body }
const getInputs: fc.Arbitrary<GetInput> = fc.record({ query: queries, headers: oddHeaders, body: getBodies })

describe('GET /api/v0/node/chains', () => {
  fuzzTest<GetInput>({
    name: 'http.node.chains',
    runs: ROUTE_FUZZ_RUNS,
    inputs: getInputs,
    run: async ({ query, headers, body }) => await request(server.api, { method: 'GET', url: `/api/v0/node/chains${query}`, headers, body }),
    errors: ['InvalidRequestError', 'RequestTooLargeError'],
    writes: () => server.writes(),
    accepted: (_input, result) => { expect((result as Answer).json).toEqual({ supportedChains: [...server.node.chains] }) }
  })
})

describe('GET /api/v0/node/healthcheck', () => {
  fuzzTest<GetInput>({
    name: 'http.node.healthcheck',
    runs: ROUTE_FUZZ_RUNS,
    inputs: getInputs,
    run: async ({ query, headers, body }) => await request(server.api, { method: 'GET', url: `/api/v0/node/healthcheck${query}`, headers, body }),
    errors: ['InvalidRequestError', 'RequestTooLargeError'],
    writes: () => server.writes(),
    accepted: (_input, result) => { expect((result as Answer).text).toBe('Alive!') }
  })
})

describe('GET /api/v0/kiln/node', () => {
  fuzzTest<GetInput>({
    name: 'http.kiln.node',
    runs: ROUTE_FUZZ_RUNS,
    inputs: getInputs,
    run: async ({ query, headers, body }) => await request(server.api, { method: 'GET', url: `/api/v0/kiln/node${query}`, headers, body }),
    errors: ['InvalidRequestError', 'RequestTooLargeError'],
    writes: () => server.writes(),
    // The fuzzed node is on no network: its DID, and nulls
    accepted: (_input, result) => {
      expect((result as Answer).json).toEqual({ did: server.node.nodeInfo?.().did ?? null, peerId: null, addresses: [], network: null, topic: null, peers: [] })
    }
  })
})

/** The API's routes: a 2xx is only ever the answer of one of these, and a route with an id only for an id that parses. */
const ROUTES: Array<[method: string, path: RegExp]> = [
  ['POST', /^\/api\/v0\/streams$/],
  ['GET', /^\/api\/v0\/streams\/([^/]+)$/],
  ['POST', /^\/api\/v0\/streams\/([^/]+)\/anchor$/],
  ['POST', /^\/api\/v0\/commits$/],
  ['GET', /^\/api\/v0\/commits\/([^/]+)$/],
  ['POST', /^\/api\/v0\/multiqueries$/],
  ['GET', /^\/api\/v0\/node\/chains$/],
  ['GET', /^\/api\/v0\/node\/healthcheck$/],
  ['GET', /^\/api\/v0\/kiln\/node$/],
  ['GET', /^\/api\/v0\/admin\/getCode$/],
  ['GET', /^\/api\/v0\/admin\/pins$/],
  ['GET', /^\/api\/v0\/admin\/pins\/([^/]+)$/],
  ['POST', /^\/api\/v0\/admin\/pins\/([^/]+)$/],
  ['DELETE', /^\/api\/v0\/admin\/pins\/([^/]+)$/],
  ['GET', /^\/api\/v0\/kiln\/streams\/([^/]+)\/export$/],
  ['POST', /^\/api\/v0\/kiln\/import$/],
  ['GET', /^\/api\/v0\/kiln\/streams\/([^/]+)\/watch$/],
  ['GET', /^\/api\/v0\/kiln\/streams\/([^/]+)\/log$/],
  ['POST', /^\/api\/v0\/kiln\/query$/],
  ['GET', /^\/api\/v0\/kiln\/streams\/([^/]+)\/backlinks$/],
  ['POST', /^\/api\/v0\/kiln\/admin\/hooks$/],
  ['GET', /^\/api\/v0\/kiln\/admin\/hooks$/],
  ['DELETE', /^\/api\/v0\/kiln\/admin\/hooks\/[^/]+$/],
  ['GET', /^\/api\/v0\/kiln\/blocks\/[^/]+$/],
  // the explorer: its page, and the files it loads (fuzz-explorer.test.ts checks which and their bytes)
  ['GET', /^\/$/],
  ['GET', /^\/explorer\/[^/]+$/]
]

/** The routes' paths with real ids in them: the starting points of the mutated paths. */
const KNOWN_PATHS = ids.flatMap((id) => [
  '/api/v0/streams', `/api/v0/streams/${id}`, `/api/v0/streams/${id}/anchor`, '/api/v0/commits', `/api/v0/commits/${id}`, '/api/v0/multiqueries',
  '/api/v0/node/chains', '/api/v0/node/healthcheck', '/api/v0/kiln/node', '/api/v0/admin/getCode', '/api/v0/admin/pins', `/api/v0/admin/pins/${id}`,
  `/api/v0/kiln/streams/${id}/export`, '/api/v0/kiln/import', `/api/v0/kiln/streams/${id}/watch`, `/api/v0/kiln/streams/${id}/log`,
  '/api/v0/kiln/query', `/api/v0/kiln/streams/${id}/backlinks`, '/api/v0/kiln/admin/hooks', '/api/v0/kiln/admin/hooks/wh_0123456789abcdef',
  `/api/v0/kiln/blocks/${docs[0]!.state.log[0]!.cid.toString()}`, '/', '/explorer/app.js', '/explorer/explorer.css'
])

/** Methods Node's HTTP parser lets through (HEAD is left out: its answers have no body to name an error). */
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH', 'PURGE', 'LOCK', 'MKCOL', 'COPY', 'MOVE', 'REPORT', 'CONNECT']

interface RouteInput { method: string, path: string, headers: Record<string, string>, body: Body }

describe('unknown paths and methods', () => {
  const paths = fc.oneof(
    { arbitrary: fc.constantFrom(...KNOWN_PATHS), weight: 1 },
    { arbitrary: mutatedString(fc.constantFrom(...KNOWN_PATHS)), weight: 5 },
    { arbitrary: fc.webPath({ size: 'small' }), weight: 2 },
    { arbitrary: fc.string({ maxLength: 40 }).map((s) => `/api/v0/${s}`), weight: 1 },
    { arbitrary: fc.constantFrom('/', '//', '/api', '/api/', '/api/v0', '/api/v0/', '/api/v1/streams', '/API/V0/STREAMS', '/api/v0/streams/', '/api/v0/streams//anchor',
      '/api/v0/./streams', '/api/v0/%73treams', '/api/v0/streams%2F', '/api/v0/admin/pins/', '/api/v0/kiln/streams//log', '/favicon.ico', '/*', '/api/v0/streams;x=1'), weight: 1 }
  )
  fuzzTest<RouteInput>({
    name: 'http.routes.unknown',
    runs: ROUTE_FUZZ_RUNS,
    inputs: fc.record({
      method: fc.oneof({ arbitrary: fc.constantFrom('GET', 'POST', 'DELETE'), weight: 2 }, { arbitrary: fc.constantFrom(...METHODS), weight: 1 }),
      path: paths.map((p) => (p.startsWith('/') ? p : `/${p}`)),
      headers: oddHeaders,
      body: fc.oneof(fc.constant({}), jsonBodies(fc.constantFrom<unknown>({}, { queries: [] }, { type: 0, genesis: {} })))
    }),
    run: async ({ method, path, headers, body }) => await request(server.api, { method, url: path, headers, body }),
    errors: ['InvalidRequestError', 'InvalidDocIDError', 'DocumentNotFoundError', 'AdminAuthError', 'CodecError', 'InvalidCommitError', 'UnsupportedChainError', 'RequestTooLargeError',
      'InvalidQueryError', 'QueryTooBroadError', 'HooksDisabledError', 'HookNotFoundError', 'BlockNotFoundError'],
    writes: () => server.writes(),
    accepted: ({ method }, result) => {
      // Only a route answers 2xx, and a route with an id only for an id that parses.
      const answer = result as Answer
      const pathname = answer.url.split('?')[0]!
      const route = ROUTES.find(([m, path]) => m === method && path.test(pathname))
      expect(route, `${method} ${answer.url} answered ${answer.status}`).toBeDefined()
      const id = route![1].exec(pathname)![1]
      if (id !== undefined) parseDocOrCommitID(decodeURIComponent(id))
      if (pathname.startsWith('/api/v0/kiln/blocks/')) CID.parse(decodeURIComponent(pathname.slice('/api/v0/kiln/blocks/'.length)))
    }
  })
})
