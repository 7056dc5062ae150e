import { signRecord } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import type { DocID } from '@kiln/docid'
import type { DoctypeFactory, Storage } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { anchorOf, manualAnchor, type ManualAnchor } from './fixtures/manual-anchor.js'
import { register, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

/** The register doctype, keeping the genesis header's family and tags in the metadata, as tiles do. */
function taggedRegister (): DoctypeFactory<Record<string, unknown>> {
  return (components) => {
    const inner = register()(components)
    return {
      ...inner,
      async apply (state, commit, context) {
        const next = await inner.apply(state, commit, context)
        if (state !== null) return next
        const { family, tags } = (commit.payload as { header: { family?: string, tags?: string[] } }).header
        return { ...next, metadata: { ...next.metadata, ...(family === undefined ? {} : { family }), ...(tags === undefined ? {} : { tags }) } }
      }
    }
  }
}

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x31) })
const bob = keyDidSigner({ seed: new Uint8Array(32).fill(0x32) })

/** Ids of a page, as strings, in order. */
function idsOf (page: { items: Array<{ id: DocID }> }): string[] {
  return page.items.map((item) => item.id.toString())
}

describe('queries on a node', () => {
  let node: KilnNode
  let storage: Storage
  let chain: ManualAnchor

  beforeEach(async () => {
    chain = manualAnchor(1_700_000_000)
    const inner = memoryStorage()
    node = await createNode({ doctypes: [taggedRegister()], storage: (c) => (storage = inner(c)), anchors: [chain.factory] })
  })
  afterEach(async () => {
    vi.useRealTimers()
    await node.stop()
  })

  /** Creates a register document of `signer` with `header` fields besides its controller. */
  async function create (data: Record<string, unknown>, header: Record<string, unknown> = {}, signer = alice): Promise<DocID> {
    const genesis = await signRecord({ header: { controllers: [signer.did], unique: Math.random().toString(36), ...header }, data }, signer)
    return (await node.createDocument(REGISTER_CODE, genesis.commit, { anchor: false })).id
  }

  it('writes the index record with the head: metadata, content, links and times', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(1_000_000)
    const target = await create({ name: 'target' })
    const id = await create({ see: [`ceramic://${target.toString()}`, target.atCommit(0).toString(), 'not a link'] }, { family: 'notes', tags: ['a', 'b'] }, bob)
    const record = await storage.getIndexRecord(id.toString())
    expect(record).toEqual({
      doctype: REGISTER_CODE, controllers: [bob.did], family: 'notes', tags: ['a', 'b'],
      content: { see: [`ceramic://${target.toString()}`, target.atCommit(0).toString(), 'not a link'] },
      links: [target.toString()], createdAt: 1_000_000, updatedAt: 1_000_000
    })
  })

  it('follows updates: new content matches, old content no longer does, and createdAt stays', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(2_000_000)
    const id = await create({ status: 'open' })
    const { state } = await node.load(id)
    vi.setSystemTime(3_000_000)
    await node.applyCommit(id, (await registerUpdate(alice, state, { status: 'done' })).commit, { anchor: false })
    expect(idsOf(await node.query({ filter: { content: { path: '/status', equalTo: 'done' } } }))).toEqual([id.toString()])
    expect(idsOf(await node.query({ filter: { content: { path: '/status', equalTo: 'open' } } }))).toEqual([])
    expect(await storage.getIndexRecord(id.toString())).toMatchObject({ createdAt: 2_000_000, updatedAt: 3_000_000 })
    expect(idsOf(await node.query({ filter: { updated: { after: 2_500_000 } } }))).toEqual([id.toString()])
    expect(idsOf(await node.query({ filter: { created: { after: 2_500_000 } } }))).toEqual([])
  })

  it('answers each document with its latest state, in the order asked, page by page', async () => {
    const ids: string[] = []
    for (let rank = 0; rank < 5; rank++) ids.push((await create({ rank }, { family: 'ranked' })).toString())
    await create({ rank: 99 }, { family: 'other' })
    const query = { filter: { family: 'ranked' }, sort: { by: 'content' as const, path: '/rank', order: 'desc' as const }, first: 2, count: true }
    const first = await node.query(query)
    expect(first.count).toBe(5)
    expect(first.items.map((item) => item.state.content)).toEqual([{ rank: 4 }, { rank: 3 }])
    const seen = idsOf(first)
    let page = first
    while (page.pageInfo.hasNextPage) {
      page = await node.query({ ...query, after: page.pageInfo.endCursor })
      seen.push(...idsOf(page))
    }
    expect(seen).toEqual([...ids].reverse())
  })

  it('finds backlinks, and a document that drops its link is no longer one', async () => {
    const target = await create({ name: 'target' })
    const linking = await create({ ref: target.toString() })
    const elsewhere = await create({ name: 'another target' })
    await create({ ref: elsewhere.toString() })
    expect(idsOf(await node.backlinks(target))).toEqual([linking.toString()])
    const { state } = await node.load(linking)
    await node.applyCommit(linking, (await registerUpdate(alice, state, { ref: null })).commit, { anchor: false })
    expect(idsOf(await node.backlinks(target))).toEqual([])
  })

  it('indexes the chain time of the latest anchor', async () => {
    const id = await create({ anchored: true })
    const other = await create({ anchored: false })
    await node.requestAnchor(id)
    await vi.waitFor(() => { expect(chain.requests).toHaveLength(1) })
    const anchored = new Promise<void>((resolve) => { node.onAnchorEvent((event) => { if (event.status === 3) resolve() }) })
    chain.emit(await anchorOf(chain.requests[0]!))
    await anchored
    expect(await storage.getIndexRecord(id.toString())).toMatchObject({ anchoredAt: 1_700_000_000_000 })
    expect((await storage.getIndexRecord(other.toString()))?.anchoredAt).toBeUndefined()
    expect(idsOf(await node.query({ filter: { anchored: { after: '2023-01-01T00:00:00Z' } } }))).toEqual([id.toString()])
  })

  it('refuses a malformed query with InvalidQueryError and an unknown doctype by name', async () => {
    await expect(node.query({ filter: { nope: 1 } } as never)).rejects.toMatchObject({ name: 'InvalidQueryError' })
    await expect(node.query({ first: 5000 })).rejects.toMatchObject({ name: 'InvalidQueryError' })
    await expect(node.query({ filter: { doctype: 'no-such-doctype' } })).rejects.toMatchObject({ name: expect.stringMatching(/^(InvalidQueryError|UnknownDoctypeError)$/) })
  })
})
