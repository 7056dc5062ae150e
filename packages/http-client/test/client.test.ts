import { commitToJSON } from '@kiln/codec'
import { CommitID, isDocID } from '@kiln/docid'
import { httpClient } from '@kiln/http-client'
import { AnchorStatus, type Block } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { sampleDocument, type SampleDocument } from './fixtures/documents.js'
import { fakeNode, sendJSON, type FakeHandler, type FakeNode } from './fixtures/fake-node.js'

let doc: SampleDocument
beforeAll(async () => { doc = await sampleDocument() })

let server: FakeNode | undefined
afterEach(async () => { await server?.close(); server = undefined })
afterAll(async () => { await server?.close() })

async function serve (handler: FakeHandler): Promise<FakeNode> {
  server = await fakeNode(handler)
  return server
}

const proof = {
  chainId: 'inmemory:12345',
  root: 'bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmfwv4p6vm',
  txHash: 'bafyreihdxuk6qxdwh6fcxqlm66hsdoucbsmkv3qvfl3dz3cdhufvz3bqde',
  txType: 'f(bytes32)'
}

describe('the HTTP client against a node answering the contract', () => {
  it('loads a document by DocID: a real DocID and a parsed state', async () => {
    const node = await serve((_req, res) => { sendJSON(res, 200, { streamId: doc.id.toString(), state: doc.json[1] }) })
    const client = httpClient({ url: node.url })
    const { id, state } = await client.load(doc.id)
    expect(node.requests[0]).toMatchObject({ method: 'GET', path: `/api/v0/streams/${doc.id.toString()}` })
    expect(isDocID(id)).toBe(true)
    expect(id.equals(doc.id)).toBe(true)
    expect(state).toEqual(doc.states[1])
  })

  it('loads at a CommitID given as an object or a string, and answers with the DocID', async () => {
    const node = await serve((_req, res) => { sendJSON(res, 200, { streamId: doc.id.toString(), state: doc.json[0] }) })
    const client = httpClient({ url: `${node.url}/` })
    const at = new CommitID(0, doc.id.cid, 0)
    for (const ref of [at, at.toString()]) {
      const { id, state } = await client.load(ref)
      expect(id.equals(doc.id)).toBe(true)
      expect(state.content).toEqual({ n: 1 })
    }
    expect(node.requests.map((r) => r.path)).toEqual([`/api/v0/streams/${at.toString()}`, `/api/v0/streams/${at.toString()}`])
  })

  it('creates a document by posting the genesis in JSON wire form with the write options given', async () => {
    const node = await serve((_req, res) => { sendJSON(res, 200, { streamId: doc.id.toString(), state: doc.json[0] }) })
    const client = httpClient({ url: node.url, headers: { 'x-trace': 't1' } })
    const { id } = await client.createDocument('tile', doc.genesis, { anchor: false, pin: true })
    expect(id.equals(doc.id)).toBe(true)
    const [req] = node.requests
    expect(req).toMatchObject({ method: 'POST', path: '/api/v0/streams' })
    expect(req!.headers['content-type']).toBe('application/json')
    expect(req!.headers['x-trace']).toBe('t1')
    expect(JSON.parse(req!.body)).toEqual({ type: 'tile', genesis: commitToJSON(doc.genesis), opts: { anchor: false, pin: true } })
  })

  it('applies a commit to the document of the id given, a CommitID standing for its DocID', async () => {
    const node = await serve((_req, res) => { sendJSON(res, 200, { streamId: doc.id.toString(), state: doc.json[1] }) })
    const client = httpClient({ url: node.url })
    const { state } = await client.applyCommit(doc.id.atCommit(0), doc.update)
    expect(state.content).toEqual({ n: 2 })
    expect(JSON.parse(node.requests[0]!.body)).toEqual({ streamId: doc.id.toString(), commit: commitToJSON(doc.update), opts: {} })
    expect(node.requests[0]!.path).toBe('/api/v0/commits')
  })

  it('refuses WriteOptions.blocks, which API v0 cannot carry, before sending anything', async () => {
    const node = await serve((_req, res) => { sendJSON(res, 500, {}) })
    const client = httpClient({ url: node.url })
    const blocks: Block[] = [{ cid: CID.parse(proof.root), bytes: new Uint8Array(1) }]
    await expect(client.applyCommit(doc.id, doc.update, { blocks })).rejects.toMatchObject({ name: 'InvalidRequestError' })
    expect(node.requests).toHaveLength(0)
  })

  it('lists the commits of a log with their values parsed back into commits', async () => {
    const commits = [
      { cid: doc.states[1].log[0]!.cid.toString(), value: commitToJSON(doc.genesis) },
      { cid: doc.states[1].log[1]!.cid.toString(), value: commitToJSON(doc.update) }
    ]
    const node = await serve((_req, res) => { sendJSON(res, 200, { streamId: doc.id.toString(), commits }) })
    const log = await httpClient({ url: node.url }).loadLog(doc.id.toString())
    expect(node.requests[0]!.path).toBe(`/api/v0/commits/${doc.id.toString()}`)
    expect(log.map((i) => i.cid.toString())).toEqual(commits.map((c) => c.cid))
    expect(commitToJSON(log[0]!.value)).toEqual(commitToJSON(doc.genesis))
    expect(commitToJSON(log[1]!.value)).toEqual(commitToJSON(doc.update))
    expect(log[1]!.value).toHaveProperty('linkedBlock', expect.any(Uint8Array))
  })

  it('reads the log with anchor proofs from the Kiln route', async () => {
    const anchor = { id: doc.id.cid.toString(), prev: doc.states[1].log[1]!.cid.toString(), proof: proof.root, path: '0' }
    const anchorCid = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvkxyfgpb7qu6fuyyy'
    const log = [
      { cid: doc.states[1].log[0]!.cid.toString(), type: 0, timestamp: 1700000000, value: commitToJSON(doc.genesis) },
      { cid: doc.states[1].log[1]!.cid.toString(), type: 1, timestamp: 1700000000, value: commitToJSON(doc.update) },
      { cid: anchorCid, type: 2, timestamp: 1700000000, value: anchor, proof }
    ]
    const node = await serve((_req, res) => { sendJSON(res, 200, { streamId: doc.id.toString(), log }) })
    const items = await httpClient({ url: node.url }).loadLogWithProofs(doc.id)
    expect(node.requests[0]!.path).toBe(`/api/v0/kiln/streams/${doc.id.toString()}/log`)
    expect(items.map((i) => i.type)).toEqual([0, 1, 2])
    expect(items[2]!.timestamp).toBe(1700000000)
    expect(items[2]!.proof!.root.equals(CID.parse(proof.root))).toBe(true)
    expect(items[2]!.proof!.txHash.toString()).toBe(proof.txHash)
    expect(items[2]!.proof!.chainId).toBe('inmemory:12345')
    expect((items[2]!.value as { prev: CID }).prev.equals(doc.states[1].log[1]!.cid)).toBe(true)
    expect(items[0]!.proof).toBeUndefined()
  })

  it('requests an anchor and returns the status named in the answer as its number', async () => {
    const node = await serve((_req, res) => { sendJSON(res, 200, { streamId: doc.id.toString(), anchorStatus: 'PENDING' }) })
    expect(await httpClient({ url: node.url }).requestAnchor(doc.id)).toBe(AnchorStatus.PENDING)
    expect(node.requests[0]).toMatchObject({ method: 'POST', path: `/api/v0/streams/${doc.id.toString()}/anchor` })
  })

  it('sends a multiquery and returns a map keyed by the id strings of the answer', async () => {
    const at = doc.id.atCommit(doc.states[1].log[0]!.cid)
    const node = await serve((_req, res) => {
      sendJSON(res, 200, { [doc.id.toString()]: doc.json[1], [at.toString()]: doc.json[0] })
    })
    const result = await httpClient({ url: node.url }).multiQuery([{ id: doc.id, paths: ['/friend'] }, { id: at }], { timeoutMs: 2000 })
    expect(JSON.parse(node.requests[0]!.body)).toEqual({
      queries: [{ streamId: doc.id.toString(), paths: ['/friend'] }, { streamId: at.toString() }],
      timeout: 2000
    })
    expect([...result.keys()]).toEqual([doc.id.toString(), at.toString()])
    expect(result.get(at.toString())!.id.equals(doc.id)).toBe(true)
    expect(result.get(at.toString())!.state.content).toEqual({ n: 1 })
    expect(result.get(doc.id.toString())!.state).toEqual(doc.states[1])
  })

  it('reads the chains and the healthcheck', async () => {
    let healthy = true
    const node = await serve((req, res) => {
      if (req.path === '/api/v0/node/chains') sendJSON(res, 200, { supportedChains: ['inmemory:12345'] })
      else if (healthy) res.end('Alive!')
      else { res.statusCode = 503; res.end('Not alive') }
    })
    const client = httpClient({ url: node.url })
    expect(await client.chains()).toEqual(['inmemory:12345'])
    expect(await client.healthcheck()).toBe(true)
    healthy = false
    expect(await client.healthcheck()).toBe(false)
    await node.close()
    server = undefined
    expect(await client.healthcheck()).toBe(false)
  })
})
