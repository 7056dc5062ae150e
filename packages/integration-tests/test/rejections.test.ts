import { encodeRecord, decodeRecord, signRecord } from '@kiln/codec'
import { mockAnchor } from '@kiln/anchor-mock'
import type { KilnNode } from '@kiln/core'
import { DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { AnchorStatus, type AnchorEvent, type AnchorRecord, type AnchorResult, type Commit } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import type { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dataDir, durableNode } from './fixtures/node.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xa2) })
const mallory = keyDidSigner({ seed: new Uint8Array(32).fill(0x66) })
const chainSeed = new Uint8Array(32).fill(0xc5)

/** Anchors `tip` on a standalone mock chain and returns the anchor commit and its blocks. */
async function anchorElsewhere (seed: Uint8Array, docId: DocID, genesis: CID, tip: CID): Promise<AnchorResult> {
  const { service } = mockAnchor({ seed, anchorOnRequest: true })({})
  const anchored = new Promise<AnchorResult>((resolve, reject) => {
    service.onEvent((event: AnchorEvent) => {
      if (event.status === AnchorStatus.ANCHORED && event.anchor !== undefined) resolve(event.anchor)
      if (event.status === AnchorStatus.FAILED) reject(new Error(event.message))
    })
  })
  await service.start?.()
  try {
    await service.requestAnchor({ docId: docId.toString(), genesis, tip })
    return await anchored
  } finally {
    await service.stop?.()
  }
}

describe('a durable node rejects bad commits and leaves its storage as it was', () => {
  let node: KilnNode
  let remove: () => Promise<void>

  beforeAll(async () => {
    const dir = await dataDir()
    remove = dir.remove
    // A long interval: no anchor lands while these tests look at the log.
    node = await durableNode(dir.path, chainSeed, 60_000)
  })
  afterAll(async () => {
    await node.stop()
    await remove()
  })

  async function newDoc (content: Record<string, unknown>): Promise<Awaited<ReturnType<KilnNode['createDocument']>>> {
    return await node.createDocument('tile', (await makeGenesis(content, {}, alice)).commit)
  }

  /** Everything the node holds about a document, to compare before and after a rejected commit. */
  async function holdings (id: DocID): Promise<unknown> {
    return {
      state: (await node.load(id)).state,
      log: (await node.loadLog(id)).map((l) => l.cid.toString()),
      pins: (await node.listPins()).map(String).sort()
    }
  }

  async function expectRejected (id: DocID, commit: Commit, name: string, written?: CID, options = {}): Promise<void> {
    const before = await holdings(id)
    await expect(node.applyCommit(id, commit, options)).rejects.toMatchObject({ name })
    expect(await holdings(id)).toEqual(before)
    if (written !== undefined) await expect(node.readBlock(written)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
  }

  it('an update signed by a non-controller: UnauthorizedSignerError', async () => {
    const { id, state } = await newDoc({ owner: 'alice' })
    const forged = await signRecord({ id: state.log[0]!.cid, prev: state.log[0]!.cid, header: {}, data: [{ op: 'replace', path: '/owner', value: 'mallory' }] }, mallory)
    await expectRejected(id, forged.commit, 'UnauthorizedSignerError', forged.envelope.cid)
  })

  it('an update whose id is another document: ConflictingCommitError', async () => {
    const one = await newDoc({ doc: 1 })
    const two = await newDoc({ doc: 2 })
    const forTwo = await makeUpdate(two.state, { doc: 2.5 }, alice)
    await expectRejected(one.id, forTwo.commit, 'ConflictingCommitError', forTwo.envelope.cid)
  })

  it('a replay of an applied commit: accepted, nothing changes', async () => {
    const { id, state } = await newDoc({ n: 1 })
    const update = await makeUpdate(state, { n: 2 }, alice)
    await node.applyCommit(id, update.commit)
    const before = await holdings(id)
    await node.applyCommit(id, update.commit)
    expect(await holdings(id)).toEqual(before)
  })

  it('a tampered payload: CodecError', async () => {
    const { id, state } = await newDoc({ balance: 1 })
    const honest = await makeUpdate(state, { balance: 2 }, alice)
    const other = await makeUpdate(state, { balance: 2000 }, alice)
    await expectRejected(id, { jws: honest.commit.jws, linkedBlock: other.commit.linkedBlock }, 'CodecError', honest.envelope.cid)
  })

  it('a commit for an unknown doctype code: UnknownDoctypeError', async () => {
    const genesis = await makeGenesis({ x: 1 }, {}, alice)
    const unknown = new DocID(77, genesis.envelope.cid)
    await expect(node.createDocument(77, genesis.commit)).rejects.toMatchObject({ name: 'UnknownDoctypeError' })
    await expect(node.applyCommit(unknown, genesis.commit)).rejects.toMatchObject({ name: 'UnknownDoctypeError' })
    await expect(node.readBlock(genesis.envelope.cid)).rejects.toMatchObject({ name: 'BlockNotFoundError' })
    await expect(node.load(unknown)).rejects.toMatchObject({ name: 'DocumentNotFoundError' })
  })

  it('a JSON patch that fails to apply: DoctypeRuleError', async () => {
    const { id, state } = await newDoc({ a: 1 })
    const bad = await signRecord({ id: state.log[0]!.cid, prev: state.log[0]!.cid, header: {}, data: [{ op: 'remove', path: '/missing' }] }, alice)
    await expectRejected(id, bad.commit, 'DoctypeRuleError', bad.envelope.cid)
  })

  it('a forged anchor proof: InvalidAnchorProofError, and a genuine one is accepted', async () => {
    const { id, state } = await newDoc({ anchored: 'soon' })
    const genesis = state.log[0]!.cid

    // Mined by another chain (another key) that claims the same chain id.
    const forged = await anchorElsewhere(new Uint8Array(32).fill(0x99), id, genesis, genesis)
    const forgedRecord = await decodeRecord<AnchorRecord>(forged.commit.bytes, forged.commit.cid)
    await expectRejected(id, forgedRecord, 'InvalidAnchorProofError', forged.commit.cid, { blocks: forged.blocks })

    // Mined by the node's own chain, but the path altered.
    const genuine = await anchorElsewhere(chainSeed, id, genesis, genesis)
    const genuineRecord = await decodeRecord<AnchorRecord>(genuine.commit.bytes, genuine.commit.cid)
    const altered: AnchorRecord = { ...genuineRecord, path: genuineRecord.path === '0' ? '1' : '0' }
    await expectRejected(id, altered, 'InvalidAnchorProofError', (await encodeRecord(altered)).cid, { blocks: genuine.blocks })

    // The genuine one, unaltered, anchors the document.
    const applied = await node.applyCommit(id, genuineRecord, { blocks: genuine.blocks })
    expect(applied.state.anchorStatus).toBe(AnchorStatus.ANCHORED)
    expect(applied.state.log[applied.state.log.length - 1]!.cid.equals(genuine.commit.cid)).toBe(true)
  })
})
