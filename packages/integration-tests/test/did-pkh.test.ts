import { mockAnchor } from '@kiln/anchor-mock'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { memoryNetworkHub } from '@kiln/interface-tests/network'
import type { DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate, tile, type TileSigner } from '@kiln/doctype-tile'
import { httpClient } from '@kiln/http-client'
import { httpApi, type HttpApi } from '@kiln/http-server'
import { AnchorStatus, type Block, type DocState, type SignedCommit } from '@kiln/interface'
import {
  cacaoSessionSigner, capabilityURI, encodeCacao, keyDidSigner, pkhDidOfKey, signCacao, signDagJWS, type Cacao, type SignCacaoInit
} from '@kiln/signing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

// did:pkh accounts write through a session key and a Sign-In with Ethereum CACAO, as Ceramic's did-session does: a
// real Ethereum key signs the SIWE message (EIP-191), the session did:key signs the commits, and the node checks the
// CACAO. The node's clock is a fake one, moved by the tests.

const T0 = Date.parse('2026-06-01T10:00:00.000Z')
const HOUR = 3600 * 1000
const ethKey = new Uint8Array(32).fill(0xe7)
const strangerKey = new Uint8Array(32).fill(0x5a)
const session = keyDidSigner({ seed: new Uint8Array(32).fill(0x5e) })
const otherSession = keyDidSigner({ seed: new Uint8Array(32).fill(0x5f) })
const account = pkhDidOfKey(ethKey)

async function grant (init: Partial<SignCacaoInit> = {}): Promise<Cacao> {
  return await signCacao({
    privateKey: ethKey, chainId: 1, sessionDid: session.did, resources: ['ceramic://*'], issuedAt: new Date(T0), expiresAt: new Date(T0 + HOUR), domain: 'app.example', ...init
  })
}

/**
 * A signer that uses `cacao` whatever it grants: the session key signs, the header names the CACAO and the commit
 * carries it. What an attacker (or a buggy client) would send; `cacaoSessionSigner` refuses to make most of these.
 */
async function anySessionSigner (cacao: Cacao, key = session): Promise<TileSigner & { cacaoBlock: Block }> {
  const block = await encodeCacao(cacao)
  return { did: cacao.p.iss, cacaoBlock: block, createDagJWS: async (cid) => await signDagJWS({ alg: key.alg, kid: key.kid, sign: key.sign, cap: capabilityURI(block.cid) }, cid) }
}

function reasonOf (err: unknown): unknown {
  return [(err as Error).name, (err as { details?: { reason?: unknown } }).details?.reason]
}

describe('a tile controlled by a did:pkh account, written in-process', () => {
  let node: KilnNode
  let clock: number

  beforeEach(async () => {
    clock = T0 + 60_000
    node = await createNode({ doctypes: [tile()], storage: memoryStorage(), now: () => clock })
  })
  afterEach(async () => { await node.stop() })

  async function created (): Promise<{ id: DocID, state: DocState }> {
    const signer = await cacaoSessionSigner(await grant(), session)
    return await node.createDocument('tile', (await makeGenesis({ title: 'v0' }, {}, signer)).commit)
  }

  /** Expects `commit` refused with InvalidCapabilityError for `reason`, and the document as it was. */
  async function expectRefused (id: DocID, before: DocState, commit: SignedCommit, reason: string): Promise<void> {
    const err = await node.applyCommit(id, commit).then(() => undefined, (e: unknown) => e)
    expect(reasonOf(err)).toEqual(['InvalidCapabilityError', reason])
    expect((await node.load(id)).state).toEqual(before)
    expect((await node.loadLog(id)).map((item) => item.cid.toString())).toEqual(before.log.map((e) => e.cid.toString()))
  }

  it('accepts a genesis and updates signed with a real SIWE CACAO, and replays them at any commit', async () => {
    const signer = await cacaoSessionSigner(await grant(), session)
    const { id, state } = await node.createDocument('tile', (await makeGenesis({ title: 'v0' }, {}, signer)).commit)
    expect(state.metadata.controllers).toEqual([account])
    const v1 = await node.applyCommit(id, (await makeUpdate(state, { title: 'v1' }, signer)).commit)
    // A CACAO naming the document itself covers it too.
    const only = await cacaoSessionSigner(await grant({ resources: [`ceramic://${id.toString()}`] }), session)
    const v2 = await node.applyCommit(id, (await makeUpdate(v1.state, { title: 'v2' }, only)).commit)
    expect(v2.state.content).toEqual({ title: 'v2' })
    // The CACAO is stored with each commit and served with it, and a load at an older commit replays them.
    const log = await node.loadLog(id)
    expect(log.map((item) => (item.value as SignedCommit).cacaoBlock !== undefined)).toEqual([true, true, true])
    expect((await node.readBlock(signer.cacaoBlock.cid))).toEqual(signer.cacaoBlock.bytes)
    expect((await node.load(id.atCommit(v1.state.log[1]!.cid))).state.content).toEqual({ title: 'v1' })
  })

  it('exports the CACAO blocks in the CAR, and another node imports the document from it', async () => {
    const signer = await cacaoSessionSigner(await grant(), session)
    const { id, state } = await node.createDocument('tile', (await makeGenesis({ title: 'v0' }, {}, signer)).commit)
    await node.applyCommit(id, (await makeUpdate(state, { title: 'v1' }, signer)).commit)
    const car = await node.exportDocument(id)
    const other = await createNode({ doctypes: [tile()], storage: memoryStorage(), now: () => clock })
    try {
      expect((await other.importDocument(car)).state.content).toEqual({ title: 'v1' })
      expect(await other.readBlock(signer.cacaoBlock.cid)).toEqual(signer.cacaoBlock.bytes)
    } finally {
      await other.stop()
    }
  })

  it('refuses a commit whose CACAO expired by the node clock (past the skew), and accepts it within the skew', async () => {
    const { id, state } = await created()
    const signer = await cacaoSessionSigner(await grant(), session)
    const update = (await makeUpdate(state, { title: 'late' }, signer)).commit
    clock = T0 + HOUR + 5 * 60_000 + 1
    await expectRefused(id, state, update, 'expired')
    clock = T0 + HOUR + 5 * 60_000
    expect((await node.applyCommit(id, update)).state.content).toEqual({ title: 'late' })
  })

  it('refuses a CACAO granted to another session key (wrong audience)', async () => {
    const { id, state } = await created()
    const signer = await anySessionSigner(await grant({ sessionDid: otherSession.did }))
    await expectRefused(id, state, (await makeUpdate(state, { title: 'x' }, signer)).commit, 'audience')
  })

  it('refuses a CACAO for another document (wrong resource), and a genesis under a CACAO naming one document', async () => {
    const { id, state } = await created()
    const other = await created()
    expect(other.id.equals(id)).toBe(false)
    const signer = await cacaoSessionSigner(await grant({ resources: [`ceramic://${other.id.toString()}`] }), session)
    await expectRefused(id, state, (await makeUpdate(state, { title: 'x' }, signer)).commit, 'resource')
    const genesis = (await makeGenesis({ title: 'new' }, {}, signer)).commit
    expect(reasonOf(await node.createDocument('tile', genesis).then(() => undefined, (e: unknown) => e))).toEqual(['InvalidCapabilityError', 'resource'])
    expect((await node.listPins()).length).toBe(2)
  })

  it('refuses a CACAO whose SIWE signature was tampered with', async () => {
    const { id, state } = await created()
    const cacao = await grant()
    const hex = cacao.s.s
    const forged: Cacao = { ...cacao, s: { t: 'eip191', s: `${hex.slice(0, 10)}${hex[10] === '0' ? '1' : '0'}${hex.slice(11)}` } }
    await expectRefused(id, state, (await makeUpdate(state, { title: 'x' }, await anySessionSigner(forged))).commit, 'signature')
  })

  it('refuses a commit whose CACAO was neither sent with it nor stored', async () => {
    const { id, state } = await created()
    const signer = await cacaoSessionSigner(await grant({ nonce: 'never-sent' }), session)
    const { cacaoBlock: _dropped, ...commit } = (await makeUpdate(state, { title: 'x' }, signer)).commit
    await expectRefused(id, state, commit, 'missing')
  })

  it('refuses an update by another Ethereum account with UnauthorizedSignerError', async () => {
    const { id, state } = await created()
    const stranger = await cacaoSessionSigner(await grant({ privateKey: strangerKey }), session)
    const update = await makeUpdate({ ...state, metadata: { ...state.metadata, controllers: [stranger.did] } }, { title: 'x' }, stranger)
    await expect(node.applyCommit(id, update.commit)).rejects.toMatchObject({ name: 'UnauthorizedSignerError' })
    expect((await node.load(id)).state).toEqual(state)
  })
})

describe('a tile controlled by a did:pkh account, over HTTP with the http-client', () => {
  let node: KilnNode
  let api: HttpApi
  let clock: number

  beforeEach(async () => {
    clock = T0 + 60_000
    node = await createNode({ doctypes: [tile()], storage: memoryStorage(), now: () => clock })
    api = httpApi({ host: '127.0.0.1', port: 0 })({ node })
    await api.start()
  })
  afterEach(async () => {
    await api.stop()
    await node.stop()
  })

  it('creates and updates with the CACAO sent as cacaoBlock, and refuses an expired one with InvalidCapabilityError', async () => {
    const client = httpClient({ url: api.url })
    const signer = await cacaoSessionSigner(await grant(), session)
    const { id, state } = await client.createDocument('tile', (await makeGenesis({ title: 'v0' }, {}, signer)).commit, { anchor: false })
    expect(state.metadata.controllers).toEqual([account])
    const updated = await client.applyCommit(id, (await makeUpdate(state, { title: 'v1' }, signer)).commit, { anchor: false })
    expect(updated.state.content).toEqual({ title: 'v1' })
    expect((await node.load(id)).state.content).toEqual({ title: 'v1' })

    clock = T0 + 2 * HOUR
    const late = (await makeUpdate(updated.state, { title: 'late' }, signer)).commit
    const err = await client.applyCommit(id, late, { anchor: false }).then(() => undefined, (e: unknown) => e)
    expect(reasonOf(err)).toEqual(['InvalidCapabilityError', 'expired'])
    expect((await client.load(id)).state.log).toHaveLength(2)
  })
})

describe('did:pkh commits of a peer\'s log', () => {
  it('are judged at their anchor time when anchored, and at the node clock when not', async () => {
    // The mock chain stamps anchors with the real clock: the CACAO is valid now, and the syncing node's clock is two
    // hours ahead, past its expiry.
    const now = Date.now()
    const hub = memoryNetworkHub()
    const chainSeed = new Uint8Array(32).fill(0xc1)
    const source = await createNode({ doctypes: [tile()], storage: memoryStorage(), network: hub.network(), anchors: [mockAnchor({ intervalMs: 20, seed: chainSeed })] })
    // What the syncing node logs when it drops a peer's tip, and why.
    const dropped: Array<Record<string, unknown>> = []
    const ignore = (): void => {}
    const logger = { debug: (obj: unknown, msg?: string) => { if (msg?.startsWith('dropped') === true) dropped.push(obj as Record<string, unknown>) }, info: ignore, warn: ignore, error: ignore }
    const late = await createNode({
      doctypes: [tile()], storage: memoryStorage(), network: hub.network(), anchors: [mockAnchor({ seed: chainSeed })], now: () => now + 2 * HOUR, syncTimeoutMs: 2_000, logger
    })
    try {
      const signer = await cacaoSessionSigner(await grant({ issuedAt: new Date(now - 60_000), expiresAt: new Date(now + HOUR) }), session)
      const { id, state } = await source.createDocument('tile', (await makeGenesis({ title: 'v0' }, {}, signer)).commit, { anchor: false })
      const watching = source.watch(id, { signal: AbortSignal.timeout(10_000) })
      await source.applyCommit(id, (await makeUpdate(state, { title: 'v1' }, signer)).commit)
      for await (const { state: s } of watching) if (s.anchorStatus === AnchorStatus.ANCHORED) break
      // The genesis and the update are anchored by the anchor commit after them: judged at its time, when the
      // CACAO was valid, so the peer's log is accepted.
      const synced = await late.load(id)
      expect(synced.state.content).toEqual({ title: 'v1' })
      expect(synced.state.anchorStatus).toBe(AnchorStatus.ANCHORED)

      // The same judgement for an import of the anchored document's CAR, on a node whose clock is past the expiry.
      const importer = await createNode({ doctypes: [tile()], storage: memoryStorage(), anchors: [mockAnchor({ seed: chainSeed })], now: () => now + 2 * HOUR })
      try {
        expect((await importer.importDocument(await source.exportDocument(id))).state.content).toEqual({ title: 'v1' })
        const bare = await source.createDocument('tile', (await makeGenesis({ title: 'bare' }, {}, signer)).commit, { anchor: false })
        const refused = await importer.importDocument(await source.exportDocument(bare.id)).then(() => undefined, (e: unknown) => e)
        expect(reasonOf(refused)).toEqual(['InvalidCapabilityError', 'expired'])
      } finally {
        await importer.stop()
      }

      // Never anchored: judged at the node clock, past the expiry; nothing of it is written.
      const unanchored = await source.createDocument('tile', (await makeGenesis({ title: 'never anchored' }, {}, signer)).commit, { anchor: false })
      const err = await late.load(unanchored.id).then(() => undefined, (e: unknown) => e)
      expect((err as Error).name).toBe('DocumentNotFoundError')
      // The peer's tip was dropped because its CACAO had expired.
      expect(dropped.some((r) => r.docId === unanchored.id.toString() && r.reason === 'InvalidCapabilityError')).toBe(true)
      await expect(late.readBlock(unanchored.id.cid)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
    } finally {
      await source.stop()
      await late.stop()
    }
  })
})
