import { commitFromJSON, docStateToJSON, encodeJWS, isSignedCommit } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import type { DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate, tile } from '@kiln/doctype-tile'
import { httpClient } from '@kiln/http-client'
import { ConflictingCommitError, type Commit, type DocState } from '@kiln/interface'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { alice } from './fixtures/documents.js'
import { fakeNode, sendJSON, type FakeNode, type SeenRequest } from './fixtures/fake-node.js'
import type { ServerResponse } from 'node:http'

// A real in-process node behind a fake HTTP front: the test decides which POSTs the node refuses first.
let node: KilnNode
let server: FakeNode | undefined
let id: DocID
/** The state the writer read before the tip moved. */
let before: DocState
/** The state after another writer (standing for an anchor) extended that tip. */
let winner: DocState

beforeEach(async () => {
  node = await createNode({ doctypes: [tile()], storage: memoryStorage() })
  const created = await node.createDocument('tile', (await makeGenesis({ n: 1 }, {}, alice)).commit)
  id = created.id
  before = created.state
  winner = (await node.applyCommit(id, (await makeUpdate(before, { n: 2 }, alice)).commit)).state
})

afterEach(async () => {
  await server?.close()
  server = undefined
  await node.stop()
})

function tipOf (state: DocState): string {
  return state.log[state.log.length - 1]!.cid.toString()
}

async function cidOf (commit: Commit): Promise<string> {
  if (!isSignedCommit(commit)) throw new Error('expected a signed commit')
  return (await encodeJWS(commit.jws)).cid.toString()
}

/** Answers loads from the node; a POST /commits goes to `onCommit`, which may refuse it or pass it on with `accept`. */
async function front (onCommit: (commit: Commit, res: ServerResponse, accept: () => Promise<void>) => Promise<void>): Promise<FakeNode> {
  server = await fakeNode(async (req: SeenRequest, res) => {
    if (req.method === 'GET' && req.path === `/api/v0/streams/${id.toString()}`) {
      sendJSON(res, 200, { streamId: id.toString(), state: docStateToJSON((await node.load(id)).state, 'tile') })
      return
    }
    if (req.method === 'POST' && req.path === '/api/v0/commits') {
      const commit = commitFromJSON((JSON.parse(req.body) as { commit: unknown }).commit)
      await onCommit(commit, res, async () => {
        const { state } = await node.applyCommit(id, commit)
        sendJSON(res, 200, { streamId: id.toString(), state: docStateToJSON(state, 'tile') })
      })
      return
    }
    sendJSON(res, 404, { error: `no route ${req.method} ${req.path}`, name: 'InvalidRequestError' })
  })
  return server
}

/** The same change each time: add `m: 1` to whatever content the tip has. */
function addM (built: DocState[]): (tip: DocState) => Promise<Commit> {
  return async (tip) => {
    built.push(tip)
    return (await makeUpdate(tip, { ...(tip.content as object), m: 1 }, alice)).commit
  }
}

function refusal (docId: string, commit: string, tip: string): Record<string, unknown> {
  return { error: `Commit ${commit} loses to the tip ${tip} of ${docId}`, name: 'ConflictingCommitError', details: { docId, commit, tip } }
}

describe('applying a commit on the tip', () => {
  it('rebuilds on the tip named in a 409 ConflictingCommitError and succeeds', async () => {
    let refused = 0
    const fake = await front(async (commit, res, accept) => {
      if (refused++ === 0) sendJSON(res, 409, refusal(id.toString(), await cidOf(commit), tipOf(winner)))
      else await accept()
    })
    const built: DocState[] = []
    const result = await httpClient({ url: fake.url }).applyOnTip(id, addM(built), { state: before })
    expect(built.map(tipOf)).toEqual([tipOf(before), tipOf(winner)])
    expect(result.state.content).toEqual({ n: 2, m: 1 })
    expect(result.state.log.map((e) => e.cid.toString()).slice(0, 2)).toEqual(winner.log.map((e) => e.cid.toString()))
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v0/commits', `GET /api/v0/streams/${id.toString()}`, 'POST /api/v0/commits'])
  })

  it('loads the tip first when the caller gives no state', async () => {
    const fake = await front(async (_commit, _res, accept) => { await accept() })
    const built: DocState[] = []
    const result = await httpClient({ url: fake.url }).applyOnTip(id.toString(), addM(built))
    expect(built.map(tipOf)).toEqual([tipOf(winner)])
    expect(result.state.content).toEqual({ n: 2, m: 1 })
  })

  it('rebuilds on the state an older node answers with 200 when that state lacks the commit', async () => {
    let answered = 0
    const fake = await front(async (_commit, res, accept) => {
      // An older node applies the conflict rule silently and answers with the winner's state.
      if (answered++ === 0) sendJSON(res, 200, { streamId: id.toString(), state: docStateToJSON(winner, 'tile') })
      else await accept()
    })
    const built: DocState[] = []
    const result = await httpClient({ url: fake.url }).applyOnTip(id, addM(built), { state: before })
    expect(built.map(tipOf)).toEqual([tipOf(before), tipOf(winner)])
    expect(result.state.content).toEqual({ n: 2, m: 1 })
    expect(fake.requests.map((r) => r.method)).toEqual(['POST', 'POST'])
  })

  it('gives up after the attempts allowed, with a ConflictingCommitError naming the document and the last winning tip', async () => {
    const fake = await front(async (commit, res) => { sendJSON(res, 409, refusal(id.toString(), await cidOf(commit), tipOf(winner))) })
    const built: DocState[] = []
    const err = await httpClient({ url: fake.url }).applyOnTip(id, addM(built), { state: before, attempts: 2 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConflictingCommitError)
    expect(err).toMatchObject({ name: 'ConflictingCommitError', details: { docId: id.toString(), tip: tipOf(winner), attempts: 2 } })
    expect((err as Error).message).toContain(id.toString())
    expect(built).toHaveLength(2)
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(2)
    expect((await node.load(id)).state.log).toHaveLength(2)
  })

  it('throws a ConflictingCommitError that names no winning tip at once, without loading or retrying', async () => {
    const fake = await front(async (_commit, res) => {
      sendJSON(res, 409, { error: 'prev is not a commit of this document', name: 'ConflictingCommitError', details: { docId: id.toString() } })
    })
    const built: DocState[] = []
    await expect(httpClient({ url: fake.url }).applyOnTip(id, addM(built), { state: before })).rejects.toMatchObject({ name: 'ConflictingCommitError', message: 'prev is not a commit of this document' })
    expect(built).toHaveLength(1)
    expect(fake.requests).toHaveLength(1)
  })

  it('refuses attempts that are not a positive integer before sending anything', async () => {
    const fake = await front(async (_commit, _res, accept) => { await accept() })
    for (const attempts of [0, -1, 1.5, Number.NaN]) {
      await expect(httpClient({ url: fake.url }).applyOnTip(id, addM([]), { state: before, attempts })).rejects.toMatchObject({ name: 'InvalidRequestError' })
    }
    expect(fake.requests).toHaveLength(0)
  })
})
