import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import type { Hook, HookAdmin, HookComponents, HookEvent } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(9) })

describe('hook plugins', () => {
  let node: KilnNode | undefined
  afterEach(async () => { await node?.stop(); node = undefined })

  it('are called after each durable write with the DocID, tip, CommitID and the new state, as the HTTP API serves it', async () => {
    const seen: HookEvent[] = []
    const events: string[] = []
    let components: HookComponents | undefined
    const hook = (c: HookComponents): Hook => {
      components = c
      return { name: 'recorder', written: (event) => { seen.push(event) }, start: () => { events.push('start') }, stop: () => { events.push('stop') } }
    }
    node = await createNode({ doctypes: [register()], storage: memoryStorage(), hooks: [hook] })
    expect(events).toEqual(['start'])
    const { id, state } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { v: 0 })).commit)
    const next = await node.applyCommit(id, (await registerUpdate(alice, state, { v: 1 })).commit)
    const tip = next.state.log[1]!.cid.toString()
    expect(seen.map((e) => [e.docId, e.tip])).toEqual([[id.toString(), state.log[0]!.cid.toString()], [id.toString(), tip]])
    expect(seen[1]!.commitId).toBe(id.atCommit(tip).toString())
    expect(seen[1]!.state.content).toEqual({ v: 1 })
    const json = seen[1]!.json()
    expect(json).toMatchObject({ content: { v: 1 }, anchorStatus: 'NOT_REQUESTED' })
    expect((json.log as Array<{ cid: string }>).map((e) => e.cid)).toEqual(next.state.log.map((e) => e.cid.toString()))
    // What a hook reads after a crash: the current state as the event a write would give.
    expect((await components!.current(id.toString()))?.tip).toBe(tip)
    expect(await components!.current('kjzl6cwe1jw145cjbvnfnnu4f2yxjv6d7c1vwd7n7hnjv0f6cke8ka8s0xm5amz')).toBeUndefined()
    await node.stop()
    node = undefined
    expect(events).toEqual(['start', 'stop'])
  })

  it('never fail a write: a hook that throws is logged and the write stands', async () => {
    const warn = vi.fn()
    const logger = { debug: () => {}, info: () => {}, warn, error: () => {} }
    node = await createNode({
      doctypes: [register()], storage: memoryStorage(), logger, hooks: [() => ({ name: 'broken', written () { throw new Error('hook broke') } })]
    })
    const { id } = await node.createDocument(REGISTER_CODE, (await registerGenesis(alice, { v: 0 })).commit)
    expect((await node.load(id)).state.content).toEqual({ v: 0 })
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ docId: id.toString(), hook: 'broken' }), 'a hook threw')
  })

  it('give the node its hooks admin: the first hook that has one', async () => {
    const admin = { add: vi.fn(), list: vi.fn(), remove: vi.fn() } as unknown as HookAdmin
    node = await createNode({ doctypes: [register()], storage: memoryStorage(), hooks: [() => ({ name: 'a', written () {} }), () => ({ name: 'b', written () {}, admin })] })
    expect(node.hooks).toBe(admin)
    const plain = await createNode({ doctypes: [register()], storage: memoryStorage() })
    expect(plain.hooks).toBeUndefined()
    await plain.stop()
  })
})
