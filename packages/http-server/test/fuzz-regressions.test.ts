import { decodeCar, decodeRecord, encodeCar, encodeRecord } from '@kiln/codec'
import { parseDocOrCommitID } from '@kiln/docid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeDocuments } from './fixtures/fuzz-documents.js'
import { fuzzServer, request, send, type FuzzServer } from './fixtures/fuzz-http.js'
import { admin } from './fixtures/harness.js'

// Inputs the route fuzz suites found failing, kept as they were found, each with the answer it must now get.

describe('inputs the route fuzz suites found', () => {
  let server: FuzzServer

  beforeAll(async () => { server = await fuzzServer({ adminDids: [admin.did] }) })
  afterAll(async () => { await server.close() })

  /** Sends a deterministic genesis whose header has a field `deep` holding `nested`, as JSON text. */
  async function genesisWithDeepField (nested: string): Promise<{ status: number, name: string, error: string }> {
    const payload = `{"type":0,"genesis":{"header":{"controllers":["did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX"],"family":"fuzz","deep":${nested}}}}`
    const answer = await send(server.api, { method: 'POST', url: '/api/v0/streams', body: { contentType: 'application/json', payload } })
    return { status: answer.status, ...(answer.json as { name: string, error: string }) }
  }

  it('refuses a genesis whose header holds a field nested 2,500 levels deep, instead of storing a state it cannot serve', async () => {
    // http.streams.create: the node stored the document, then answered 500 (JSON.stringify overflowed the stack), and
    // every later read of the document failed the same way. Now the tile's header check refuses it, unless the
    // dag-cbor encoder runs out of stack first (it depends on how much of it the caller used): a named 400 either way.
    const before = server.writes()
    const answer = await genesisWithDeepField('{"a":'.repeat(2500) + '1' + '}'.repeat(2500))
    expect(answer.status).toBe(400)
    if (answer.name === 'InvalidCommitError') expect(answer.error).toBe('Invalid tile genesis: `header.deep` nests deeper than 1000 levels')
    else expect(answer).toMatchObject({ name: 'CodecError', error: expect.stringContaining('cannot be encoded as dag-cbor') })
    expect(server.writes()).toBe(before)
    expect((await send(server.api, { method: 'GET', url: '/api/v0/node/healthcheck' })).text).toBe('Alive!')
  })

  it('refuses a genesis whose header holds a field nested 1,001 levels deep, naming the field', async () => {
    const before = server.writes()
    expect(await genesisWithDeepField('['.repeat(1001) + ']'.repeat(1001))).toEqual({
      status: 400, name: 'InvalidCommitError', error: 'Invalid tile genesis: `header.deep` nests deeper than 1000 levels', details: { commit: 'genesis', field: 'deep' }
    })
    expect(server.writes()).toBe(before)
  })

  /** A compact JWS by the admin over `payload`, given as JSON text (so that it may nest deeper than this client's JSON.stringify goes). */
  async function adminJws (payload: string): Promise<string> {
    const header = Buffer.from(JSON.stringify({ alg: admin.alg, kid: admin.kid })).toString('base64url')
    const body = Buffer.from(payload).toString('base64url')
    const signature = await admin.sign(new TextEncoder().encode(`${header}.${body}`))
    return `${header}.${body}.${Buffer.from(signature).toString('base64url')}`
  }

  it('compares a signed admin requestBody nested 1,000 levels deep with the body sent, instead of overflowing the stack', async () => {
    // http.admin.pins.add: the admin signed {code, requestPath, requestBody} over a body {"deep": 1,000 nested arrays},
    // and the server answered 500 (its recursive comparison of the two bodies overflowed the stack). 20,000 levels
    // overflow it whatever stack the caller has left.
    const [doc] = await makeDocuments(server.node, 1, 0)
    const path = `/api/v0/admin/pins/${doc!.id.toString()}`
    for (const levels of [1000, 20_000]) {
      const body = `{"deep":${'['.repeat(levels)}1${']'.repeat(levels)}}`
      for (const [sent, status] of [[body, 200], [body.replace('1', '2'), 401]] as const) {
        const { code } = (await request(server.api, { method: 'GET', url: '/api/v0/admin/getCode' })).json as { code: string }
        const jws = await adminJws(`{"code":"${code}","requestPath":"${path}","requestBody":${body}}`)
        const answer = await send(server.api, { method: 'DELETE', url: path, headers: { authorization: `Basic ${jws}` }, body: { contentType: 'application/json', payload: sent } })
        expect({ levels, status: answer.status }).toEqual({ levels, status })
        if (status === 401) expect(answer.json).toMatchObject({ name: 'AdminAuthError', error: 'Admin JWS signs a requestBody that differs from the body sent' })
      }
    }
  })

  it('names a content-type no route reads, and says what the import route takes', async () => {
    // http.kiln.import: a CAR sent as application/octet-stream, or with no content-type, was told "Unsupported
    // content-type: send the body as application/json", which names neither the type sent nor the one import takes.
    const car = Uint8Array.from([0x3a, 0xa2, 0x65, 0x72, 0x6f, 0x6f, 0x74, 0x73])
    const octets = await send(server.api, { method: 'POST', url: '/api/v0/kiln/import', body: { contentType: 'application/octet-stream', payload: car } })
    expect(octets.status).toBe(400)
    expect(octets.json).toMatchObject({ name: 'InvalidRequestError' })
    expect((octets.json as { error: string }).error).toContain('application/octet-stream')
    expect((octets.json as { error: string }).error).toContain('application/vnd.ipld.car')
    const none = await send(server.api, { method: 'POST', url: '/api/v0/kiln/import', body: { payload: car } })
    expect(none.status).toBe(400)
    expect(none.json).toMatchObject({ name: 'InvalidRequestError' })
    expect((none.json as { error: string }).error).toContain('no content type')
    expect((none.json as { error: string }).error).toContain('application/vnd.ipld.car')
  })

  it('leaves out a multiquery by CommitID at a commit its document lacks, creating nothing from the genesis sent', async () => {
    // http.multiqueries: the node created the document from the genesis (a write), then could not load it at that
    // commit, and the whole multiquery was answered 404 DocumentNotFoundError.
    const genesis = { header: { controllers: ['did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX'], family: 'mq-f' } }
    const streamId = 'k6zn3rc3iwguatx9c1blqhvxvhbhgb1tdh8a59o9e9w1yujd599e5tdot9y10ny1a3kw1gttxtkvmegrzh3fxq9z5qwposyo433bmz4hla7st4xhdgogsnk'
    const before = server.writes()
    const answer = await send(server.api, { method: 'POST', url: '/api/v0/multiqueries', body: { contentType: 'application/json', payload: JSON.stringify({ queries: [{ streamId, genesis }] }) } })
    expect({ status: answer.status, json: answer.json }).toEqual({ status: 200, json: {} })
    expect(server.writes()).toBe(before)
    const docId = parseDocOrCommitID(streamId).baseID
    await expect(server.node.load(docId)).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
    // At its genesis, the same query creates the document and answers it.
    const atGenesis = docId.atCommit(0).toString()
    const created = await send(server.api, { method: 'POST', url: '/api/v0/multiqueries', body: { contentType: 'application/json', payload: JSON.stringify({ queries: [{ streamId: atGenesis, genesis }] }) } })
    expect(created.status).toBe(200)
    expect(Object.keys(created.json as object)).toEqual([atGenesis])
    expect((await server.node.load(docId)).state.log).toHaveLength(1)
  })

  // An import is all or nothing: @kiln/core replays it on a throwaway node before writing any of it.
  it('refuses an export whose last commit belongs to another document without writing its first ones', async () => {
    const source = await fuzzServer()
    try {
      const [a, b] = await makeDocuments(source.node, 2, 2)
      const carA = await decodeCar(await source.node.exportDocument(a!.id))
      const carB = await decodeCar(await source.node.exportDocument(b!.id))
      const manifestOf = async (car: typeof carA): Promise<any> => await decodeRecord(car.blocks.find((block) => block.cid.equals(car.roots[0]!))!.bytes) // eslint-disable-line @typescript-eslint/no-explicit-any
      const [manifest, manifestB] = [await manifestOf(carA), await manifestOf(carB)]
      // a's genesis and first update, then b's second update
      manifest.documents[0].log = [manifest.documents[0].log[0], manifest.documents[0].log[1], manifestB.documents[0].log[2]]
      const root = await encodeRecord(manifest)
      const others = [...carA.blocks, ...carB.blocks].filter((block) => !block.cid.equals(carA.roots[0]!) && !block.cid.equals(carB.roots[0]!))
      const car = await encodeCar([root.cid], [root, ...others])
      const before = server.writes()
      const answer = await send(server.api, { method: 'POST', url: '/api/v0/kiln/import', body: { contentType: 'application/vnd.ipld.car', payload: car } })
      expect({ status: answer.status, name: (answer.json as { name: string }).name }).toEqual({ status: 409, name: 'ConflictingCommitError' })
      expect(server.writes()).toBe(before)
    } finally {
      await source.close()
    }
  })
})
