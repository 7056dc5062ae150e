import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { AnchorStatus, type WriteObserverComponents, type WrittenDocument } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { anchorOf, manualAnchor } from './fixtures/manual-anchor.js'
import { register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(7) })

/** An observer that records what it is told and the components it was given. */
function recorder (): { factory: (c: WriteObserverComponents) => { written(doc: WrittenDocument): void, start(): void, stop(): void }, seen: WrittenDocument[], events: string[], components: () => WriteObserverComponents } {
  const seen: WrittenDocument[] = []
  const events: string[] = []
  let given: WriteObserverComponents | undefined
  return {
    seen,
    events,
    components: () => given!,
    factory: (components) => {
      given = components
      return { written: (doc) => { seen.push(doc) }, start: () => { events.push('start') }, stop: () => { events.push('stop') } }
    }
  }
}

describe('write observers', () => {
  let node: KilnNode | undefined
  afterEach(async () => { await node?.stop(); node = undefined })

  it('are told of every durable write with its head, and of anchor-status changes, after the write', async () => {
    const observer = recorder()
    const anchor = manualAnchor()
    node = await createNode({ doctypes: [register()], storage: memoryStorage(), anchors: [anchor.factory], observers: [observer.factory] })
    expect(observer.events).toEqual(['start'])
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { v: 0 })).commit)
    const next = await node.applyCommit(id, (await registerUpdate(alice, state, { v: 1 })).commit)
    expect(observer.seen.map((d) => [d.docId, d.head.logLength])).toEqual([[id.toString(), 1], [id.toString(), 2]])
    // The observer reads the rest from the node's storage: the head, the log and each commit's blocks.
    const { storage, blocksOf } = observer.components()
    expect((await storage.getHead(id.toString()))?.tip.equals(next.state.log[1]!.cid)).toBe(true)
    expect((await blocksOf(next.state.log[1]!.cid)).map((b) => b.cid.toString())).toContain(next.state.log[1]!.cid.toString())
    anchor.emit(await anchorOf(anchor.requests.at(-1)!))
    await vi.waitFor(() => { expect(observer.seen.at(-1)?.head.anchorStatus).toBe(AnchorStatus.ANCHORED) })
    expect(observer.seen.at(-1)?.head.logLength).toBe(3)
  })

  it('never fail a write: an observer that throws is logged and the write stands', async () => {
    const warn = vi.fn()
    const logger = { debug: () => {}, info: () => {}, warn, error: () => {} }
    node = await createNode({
      doctypes: [register()], storage: memoryStorage(), logger, observers: [() => ({ written () { throw new Error('observer broke') } })]
    })
    const { id } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { v: 0 })).commit)
    expect((await node.load(id)).state.content).toEqual({ v: 0 })
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ docId: id.toString() }), 'a write observer threw')
  })

  it('are stopped with the node, before its storage', async () => {
    const observer = recorder()
    node = await createNode({ doctypes: [register()], storage: memoryStorage(), observers: [observer.factory] })
    await node.stop()
    node = undefined
    expect(observer.events).toEqual(['start', 'stop'])
  })
})
