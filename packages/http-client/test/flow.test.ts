import { anchorStatusName } from '@kiln/interface'
import { mockAnchor } from '@kiln/anchor-mock'
import { commitToJSON } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { CommitID, DocID, isDocID } from '@kiln/docid'
import { makeGenesis, makeUpdate, tile } from '@kiln/doctype-tile'
import { httpClient, type KilnHttpClient } from '@kiln/http-client'
import { httpApi, type HttpApi } from '@kiln/http-server'
import { AnchorStatus, type DocReader, type DocSnapshot, type DocWriter } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(1) })
const bob = keyDidSigner({ seed: new Uint8Array(32).fill(2) })
const admin = keyDidSigner({ seed: new Uint8Array(32).fill(0xad) })

/** What an application sees of a Kiln node, wherever it runs. */
type Docs = DocReader<DocID> & DocWriter<DocID>

let node: KilnNode
let api: HttpApi
let client: KilnHttpClient

beforeAll(async () => {
  node = await createNode({ doctypes: [tile()], storage: memoryStorage(), anchors: [mockAnchor({ intervalMs: 50 })] })
  api = httpApi({ port: 0, adminDids: [admin.did] })({ node })
  await api.start()
  client = httpClient({ url: api.url, adminSigner: admin })
})

afterAll(async () => {
  await api?.stop()
  await node?.stop()
})

/** The first state `watch` gives that satisfies `done`; fails the test after 10 s. */
async function waitFor (docs: Docs, id: DocID, done: (s: DocSnapshot<DocID>) => boolean): Promise<DocSnapshot<DocID>> {
  const signal = AbortSignal.timeout(10_000)
  const watching = docs.watch(id, { signal })
  // A state already reached before the watch began is not announced again by an in-process node: look once first.
  const now = await docs.load(id)
  if (done(now)) { await watching.return?.(); return now }
  for await (const snapshot of watching) if (done(snapshot)) return snapshot
  throw new Error(`gave up waiting on ${id.toString()}`)
}

const anchored = (s: DocSnapshot<DocID>): boolean => s.state.anchorStatus === AnchorStatus.ANCHORED

/** One application's code: it only knows the reader/writer interface. */
async function application (docs: Docs): Promise<void> {
  const genesis = await makeGenesis({ title: 'notes', n: 1 }, {}, alice)
  // No anchor yet: an anchor of the genesis landing after the update would start a winning branch without it.
  const created = await docs.createDocument('tile', genesis.commit, { anchor: false })
  expect(isDocID(created.id)).toBe(true)
  expect(created.id.typeName).toBe('tile')
  const updated = await docs.applyCommit(created.id, (await makeUpdate(created.state, { title: 'notes', n: 2 }, alice)).commit, { anchor: false })
  expect(updated.state.content).toEqual({ title: 'notes', n: 2 })
  expect((await docs.load(created.id.toString())).state.content).toEqual({ title: 'notes', n: 2 })
  expect((await docs.load(new CommitID('tile', created.id.cid, 0))).state.content).toEqual({ title: 'notes', n: 1 })
  const log = await docs.loadLog(created.id)
  expect(log.map((i) => i.cid.toString())).toEqual(updated.state.log.map((e) => e.cid.toString()))
  expect(await docs.requestAnchor(created.id)).toBe(AnchorStatus.PENDING)
  const done = await waitFor(docs, created.id, anchored)
  expect(done.state.log.map((e) => e.type)).toEqual([0, 1, 2])
  expect(await docs.requestAnchor(created.id)).toBe(AnchorStatus.ANCHORED)
  await docs.unpin(created.id)
  expect((await docs.listPins()).some((p) => p.equals(created.id))).toBe(false)
  await docs.pin(created.id)
  expect((await docs.listPins()).some((p) => p.equals(created.id))).toBe(true)
  const stranger = { ...updated.state, metadata: { ...updated.state.metadata, controllers: [bob.did] } }
  await expect(docs.applyCommit(created.id, (await makeUpdate(stranger, { n: 0 }, bob)).commit)).rejects.toMatchObject({ name: 'UnauthorizedSignerError' })
  await expect(docs.load(new DocID('tile', (await makeGenesis(null, {}, alice)).block.cid))).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
  await expect(docs.load('kjzl-not-an-id')).rejects.toMatchObject({ name: 'InvalidDocIDError' })
}

describe('the HTTP client against a real node served by @kiln/http-server', () => {
  it('creates and updates a tile; a second client loads it, at its genesis too, and lists its commits', async () => {
    const genesis = await makeGenesis({ name: 'Alice' }, {}, alice)
    const created = await client.createDocument('tile', genesis.commit, { anchor: false })
    expect(created.id.equals(new DocID('tile', genesis.envelope.cid))).toBe(true)
    const updated = await client.applyCommit(created.id, (await makeUpdate(created.state, { name: 'Alice B.' }, alice)).commit, { anchor: false })
    expect(updated.state.content).toEqual({ name: 'Alice B.' })
    expect(updated.state).toEqual((await node.load(created.id)).state)

    const other = httpClient({ url: api.url })
    const loaded = await other.load(created.id.toString())
    expect(loaded.id.equals(created.id)).toBe(true)
    expect(loaded.state).toEqual(updated.state)
    const atGenesis = await other.load(created.id.atCommit(0))
    expect(atGenesis.state.content).toEqual({ name: 'Alice' })
    expect(atGenesis.state.log).toHaveLength(1)

    const log = await other.loadLog(created.id)
    const local = await node.loadLog(created.id)
    expect(log.map((i) => i.cid.toString())).toEqual(local.map((i) => i.cid.toString()))
    expect(log.map((i) => commitToJSON(i.value))).toEqual(local.map((i) => commitToJSON(i.value)))
    expect((await other.loadLog(created.id.atCommit(0))).map((i) => i.cid.toString())).toEqual([local[0]!.cid.toString()])
  })

  it('watches a document until it is ANCHORED, then shows the anchor proof in its log', async () => {
    const genesis = await makeGenesis({ anchored: 'soon' }, {}, alice)
    const controller = new AbortController()
    const created = await client.createDocument('tile', genesis.commit)
    const seen: string[] = []
    const timer = setTimeout(() => { controller.abort() }, 10_000)
    for await (const { id, state } of client.watch(created.id, { signal: controller.signal })) {
      expect(id.equals(created.id)).toBe(true)
      seen.push(anchorStatusName(state.anchorStatus))
      if (state.anchorStatus === AnchorStatus.ANCHORED) break
    }
    clearTimeout(timer)
    expect(seen.at(-1)).toBe('ANCHORED')
    const log = await client.loadLogWithProofs(created.id)
    expect(log.map((i) => i.type)).toEqual([0, 2])
    expect(log[1]!.proof).toMatchObject({ chainId: 'inmemory:12345' })
    expect(log[1]!.timestamp).toEqual(expect.any(Number))
    expect(log[0]!.proof).toBeUndefined()
    expect(await client.requestAnchor(created.id)).toBe(AnchorStatus.ANCHORED)
  })

  it('loads several documents in one multiquery, following paths to linked documents', async () => {
    const friend = await client.createDocument('tile', (await makeGenesis({ name: 'Bob' }, {}, alice)).commit, { anchor: false })
    const me = await client.createDocument('tile', (await makeGenesis({ name: 'Alice', friend: friend.id.toString() }, {}, alice)).commit, { anchor: false })
    const missing = new DocID('tile', (await makeGenesis(null, {}, bob)).block.cid)
    const result = await client.multiQuery([{ id: me.id, paths: ['/friend'] }, { id: missing }], { timeoutMs: 2000 })
    expect(result.get(me.id.toString())!.state.content).toEqual({ name: 'Alice', friend: friend.id.toString() })
    expect(result.get(friend.id.toString())!.state.content).toEqual({ name: 'Bob' })
    expect(result.get(friend.id.toString())!.id.equals(friend.id)).toBe(true)
    expect(result.has(missing.toString())).toBe(false)
  })

  it('adds, lists and removes pins with an admin signer, and refuses them without one', async () => {
    const { id } = await client.createDocument('tile', (await makeGenesis({ pinned: true }, {}, alice)).commit, { anchor: false, pin: false })
    expect(await client.isPinned(id)).toBe(false)
    await client.pin(id)
    expect(await client.isPinned(id)).toBe(true)
    expect((await client.listPins()).map(String)).toContain(id.toString())
    await client.unpin(id)
    expect(await client.isPinned(id)).toBe(false)
    expect((await client.listPins()).map(String)).not.toContain(id.toString())
    await expect(httpClient({ url: api.url }).listPins()).rejects.toMatchObject({ name: 'AdminAuthError' })
    await expect(httpClient({ url: api.url, adminSigner: bob }).pin(id)).rejects.toMatchObject({ name: 'AdminAuthError' })
  })

  it('brings the node\'s errors back as the same named classes', async () => {
    const { id, state } = await client.createDocument('tile', (await makeGenesis({ v: 1 }, {}, alice)).commit, { anchor: false })
    const unknown = new DocID('tile', (await makeGenesis(null, { controllers: [bob.did] })).block.cid)
    await expect(client.load(unknown)).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
    await expect(client.loadLog(unknown)).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
    const forged = { ...state, metadata: { ...state.metadata, controllers: [bob.did] } }
    const err = await client.applyCommit(id, (await makeUpdate(forged, { v: 2 }, bob)).commit).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'UnauthorizedSignerError' })
    expect(err).toBeInstanceOf(Error)
    const elsewhere = await client.createDocument('tile', (await makeGenesis({ w: 1 }, {}, alice)).commit, { anchor: false })
    const misdirected = (await makeUpdate(elsewhere.state, { w: 2 }, alice)).commit
    await expect(client.applyCommit(id, misdirected)).rejects.toMatchObject({ name: 'ConflictingCommitError' })
    await expect(client.load('garbage')).rejects.toMatchObject({ name: 'InvalidDocIDError' })
    await expect(client.createDocument('no-such-doctype', (await makeGenesis({ v: 1 }, {}, alice)).commit)).rejects.toMatchObject({ name: 'UnknownDoctypeError' })
    expect((await client.load(id)).state).toEqual(state)
  })

  it('reads the chains and the health of the node', async () => {
    expect(await client.chains()).toEqual(['inmemory:12345'])
    expect(await client.healthcheck()).toBe(true)
  })

  it('runs the same application code against the in-process node and against the client', async () => {
    await application(node)
    await application(client)
  })
})
