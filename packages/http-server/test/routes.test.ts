import { commitToJSON, docStateFromJSON } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { makeGenesis } from '@kiln/doctype-tile'
import { httpApi } from '@kiln/http-server'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { alice, call, createTile, startHarness, updateJSON, waitForAnchored, gate, type Harness } from './fixtures/harness.js'

describe('Ceramic routes', () => {
  let h: Harness

  beforeEach(async () => { h = await startHarness() })
  afterEach(async () => { await h.close() })

  it('listens on the real port after start with port 0', () => {
    expect(h.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(h.url).not.toBe('http://127.0.0.1:0')
  })

  it('creates a document and answers its DocID and state in Ceramic\'s JSON shape', async () => {
    const genesis = await makeGenesis({ name: 'Alice' }, {}, alice)
    const answer = await call(h.url, '/api/v0/streams', { body: { type: 0, genesis: commitToJSON(genesis.commit), opts: { anchor: false, sync: 3 } } })
    expect(answer.status).toBe(200)
    expect(answer.json.streamId).toBe(new DocID('tile', genesis.envelope.cid).toString())
    expect(answer.json.state).toMatchObject({
      type: 0,
      doctype: 'tile',
      content: { name: 'Alice' },
      metadata: { controllers: [alice.did] },
      signature: 2,
      anchorStatus: 'NOT_REQUESTED',
      log: [{ cid: genesis.envelope.cid.toString(), type: 0 }]
    })
    expect(await h.node.isPinned(answer.json.streamId)).toBe(true)
  })

  it('accepts the doctype by name and honours pin: false', async () => {
    const genesis = await makeGenesis({ n: 1 }, {}, alice)
    const answer = await call(h.url, '/api/v0/streams', { body: { type: 'tile', genesis: commitToJSON(genesis.commit), opts: { pin: false, anchor: false } } })
    expect(answer.status).toBe(200)
    expect(await h.node.isPinned(answer.json.streamId)).toBe(false)
  })

  it('loads the latest state, and the state at a CommitID', async () => {
    const { streamId, state } = await createTile(h.url, { v: 1 })
    const updated = await call(h.url, '/api/v0/commits', { body: { streamId, commit: await updateJSON(state, { v: 2 }), opts: { anchor: false } } })
    expect(updated.status).toBe(200)
    expect(updated.json.state.content).toEqual({ v: 2 })

    const latest = await call(h.url, `/api/v0/streams/${streamId}?sync=0&syncTimeoutSeconds=3`)
    expect(latest.status).toBe(200)
    expect(latest.json.streamId).toBe(streamId)
    expect(latest.json.state.content).toEqual({ v: 2 })
    expect(latest.json.state.log).toHaveLength(2)

    const atGenesis = DocID.fromString(streamId).atCommit(state.log[0]!.cid).toString()
    const old = await call(h.url, `/api/v0/streams/${atGenesis}`)
    expect(old.status).toBe(200)
    expect(old.json.streamId).toBe(streamId)
    expect(old.json.state.content).toEqual({ v: 1 })
  })

  it('lists a document\'s commits in the commit JSON form', async () => {
    const { streamId, state } = await createTile(h.url, { v: 1 })
    const update = await updateJSON(state, { v: 2 })
    await call(h.url, '/api/v0/commits', { body: { streamId, commit: update, opts: { anchor: false } } })
    const answer = await call(h.url, `/api/v0/commits/${streamId}`)
    expect(answer.status).toBe(200)
    expect(answer.json.streamId).toBe(streamId)
    expect(answer.json.commits).toHaveLength(2)
    expect(answer.json.commits[0].cid).toBe(state.log[0]!.cid.toString())
    expect(answer.json.commits[1].value).toEqual(update)
  })

  it('applies an update and answers the new state', async () => {
    const { streamId, state } = await createTile(h.url, { name: 'Alice' })
    const answer = await call(h.url, '/api/v0/commits', { body: { streamId, commit: await updateJSON(state, { name: 'Alice B.' }) } })
    expect(answer.status).toBe(200)
    expect(answer.json.streamId).toBe(streamId)
    expect(answer.json.state.content).toEqual({ name: 'Alice B.' })
    expect(answer.json.state.signature).toBe(2)
    expect((await h.node.load(streamId)).state.content).toEqual({ name: 'Alice B.' })
  })

  it('answers a multiquery, following paths through linked DocIDs and leaving out missing documents', async () => {
    const c = await createTile(h.url, { name: 'C' })
    const b = await createTile(h.url, { link: c.streamId })
    const a = await createTile(h.url, { profile: b.streamId, nested: { deep: [c.streamId] } })
    const missing = new DocID('tile', (await makeGenesis({ x: 1 }, {}, alice)).envelope.cid).toString()
    const answer = await call(h.url, '/api/v0/multiqueries', {
      body: {
        queries: [
          { streamId: a.streamId, paths: ['/profile/link', 'nested/deep/0', '/absent/path'] },
          { streamId: missing }
        ],
        timeout: 5000
      }
    })
    expect(answer.status).toBe(200)
    expect(Object.keys(answer.json).sort()).toEqual([a.streamId, b.streamId, c.streamId].sort())
    expect(answer.json[a.streamId].content.profile).toBe(b.streamId)
    expect(answer.json[b.streamId].content).toEqual({ link: c.streamId })
    expect(answer.json[c.streamId].content).toEqual({ name: 'C' })
    expect(docStateFromJSON(answer.json[c.streamId]).log).toHaveLength(1)
  })

  it('creates an unknown document from the genesis given in a multiquery, unpinned', async () => {
    const { record, block } = await makeGenesis(null, { controllers: [alice.did], family: 'profile', deterministic: true })
    const streamId = new DocID('tile', block.cid).toString()
    const answer = await call(h.url, '/api/v0/multiqueries', { body: { queries: [{ streamId, genesis: commitToJSON(record) }] } })
    expect(answer.status).toBe(200)
    expect(answer.json[streamId].content).toEqual({})
    expect(answer.json[streamId].anchorStatus).toBe('NOT_REQUESTED')
    expect(await h.node.isPinned(streamId)).toBe(false)
  })

  it('keys a multiquery by CommitID when one is asked', async () => {
    const { streamId, state } = await createTile(h.url, { v: 1 })
    await call(h.url, '/api/v0/commits', { body: { streamId, commit: await updateJSON(state, { v: 2 }), opts: { anchor: false } } })
    const commitId = DocID.fromString(streamId).atCommit(state.log[0]!.cid).toString()
    const answer = await call(h.url, '/api/v0/multiqueries', { body: { queries: [{ streamId: commitId }, { streamId }] } })
    expect(answer.json[commitId].content).toEqual({ v: 1 })
    expect(answer.json[streamId].content).toEqual({ v: 2 })
  })

  it('requests an anchor and the document becomes ANCHORED', async () => {
    const { streamId } = await createTile(h.url, { v: 1 })
    const answer = await call(h.url, `/api/v0/streams/${streamId}/anchor`, { body: { opts: {} } })
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ streamId, anchorStatus: 'PENDING' })
    await waitForAnchored(h.url, streamId)
    const anchored = await call(h.url, `/api/v0/streams/${streamId}`)
    expect(anchored.json.state.anchorProof.chainId).toBe('inmemory:12345')
    expect(typeof anchored.json.state.anchorProof.root).toBe('string')
  })

  it('requests an anchor with no body at all', async () => {
    const { streamId } = await createTile(h.url, { v: 1 })
    const answer = await call(h.url, `/api/v0/streams/${streamId}/anchor`, { method: 'POST' })
    expect(answer.status).toBe(200)
    expect(answer.json.anchorStatus).toBe('PENDING')
  })

  it('lists the chains it anchors to', async () => {
    const answer = await call(h.url, '/api/v0/node/chains')
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ supportedChains: ['inmemory:12345'] })
  })

  it('answers the healthcheck with Alive!', async () => {
    const answer = await call(h.url, '/api/v0/node/healthcheck')
    expect(answer.status).toBe(200)
    expect(answer.text).toBe('Alive!')
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/)
  })
})

describe('a node without an anchor service', () => {
  it('refuses an anchor request with 422 UnsupportedChainError and lists no chains', async () => {
    const h = await startHarness({}, { anchors: [] })
    try {
      const { streamId } = await createTile(h.url, { v: 1 })
      const answer = await call(h.url, `/api/v0/streams/${streamId}/anchor`, { body: {} })
      expect(answer.status).toBe(422)
      expect(answer.json.name).toBe('UnsupportedChainError')
      expect(answer.json.error).toMatch(/no anchor service/)
      expect((await call(h.url, '/api/v0/node/chains')).json).toEqual({ supportedChains: [] })
    } finally {
      await h.close()
    }
  })
})

describe('a stopped node', () => {
  it('fails the healthcheck with 503', async () => {
    const h = await startHarness()
    try {
      await h.node.stop()
      const answer = await call(h.url, '/api/v0/node/healthcheck')
      expect(answer.status).toBe(503)
      expect(answer.json.name).toBe('StorageError')
    } finally {
      await h.close()
    }
  })
})

describe('CORS', () => {
  it('is off unless configured', async () => {
    const h = await startHarness()
    try {
      const answer = await call(h.url, '/api/v0/node/chains', { headers: { origin: 'https://app.example' } })
      expect(answer.headers.get('access-control-allow-origin')).toBeNull()
    } finally {
      await h.close()
    }
  })

  it('answers the configured origin, preflight included', async () => {
    const h = await startHarness({ cors: { origin: 'https://app.example' } })
    try {
      const answer = await call(h.url, '/api/v0/node/chains', { headers: { origin: 'https://app.example' } })
      expect(answer.headers.get('access-control-allow-origin')).toBe('https://app.example')
      const preflight = await call(h.url, '/api/v0/streams', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } })
      expect(preflight.status).toBeLessThan(300)
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example')
    } finally {
      await h.close()
    }
  })
})

describe('a multiquery timeout', () => {
  it('bounds the whole call, answering the documents loaded by then', async () => {
    const h = await startHarness()
    try {
      const slowDoc = await createTile(h.url, { name: 'slow' })
      const fast = await createTile(h.url, { link: slowDoc.streamId })
      const real = h.node
      // The linked document loads only once the test lets it, after the answer: the timeout must end the call.
      const slowLoad = gate()
      const slow = Object.create(real, {
        chains: { value: real.chains },
        doctypes: { value: real.doctypes },
        load: {
          value: async (ref: { toString(): string }, options?: { signal?: AbortSignal }) => {
            if (String(ref) === slowDoc.streamId) await slowLoad.pass()
            return await real.load(ref, options)
          }
        }
      })
      const api = httpApi({ port: 0 })({ node: slow })
      await api.start()
      try {
        const answer = await call(api.url, '/api/v0/multiqueries', { body: { queries: [{ streamId: fast.streamId, paths: ['/link'] }], timeout: 150 } })
        expect(answer.status).toBe(200)
        expect(Object.keys(answer.json)).toEqual([fast.streamId])
        // The answer came while the linked load was still held: the call was bounded, not the load slow enough.
        await slowLoad.reached
      } finally {
        slowLoad.open()
        await api.stop()
      }
    } finally {
      await h.close()
    }
  })
})
