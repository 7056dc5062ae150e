import { signRecord } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { COUNTER_CODE, counter, type CounterContent } from '@kiln/example-custom-doctype'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const owner = keyDidSigner({ seed: new Uint8Array(32).fill(42) })
const stranger = keyDidSigner({ seed: new Uint8Array(32).fill(43) })

describe('a bespoke node with the counter doctype', () => {
  let node: KilnNode
  beforeEach(async () => { node = await createNode({ doctypes: [counter({ maxStep: 10 })], storage: memoryStorage() }) })
  afterEach(async () => { await node.stop() })

  async function newCounter (start: number): Promise<Awaited<ReturnType<KilnNode['createDocument']>>> {
    const genesis = await signRecord({ header: { controllers: [owner.did], unique: 'c1' }, data: { start } }, owner)
    return await node.createDocument('counter', genesis.commit)
  }

  async function add (snapshot: Awaited<ReturnType<KilnNode['createDocument']>>, amount: unknown, signer = owner): Promise<Awaited<ReturnType<KilnNode['applyCommit']>>> {
    const { log } = snapshot.state
    const update = await signRecord({ id: log[0]!.cid, prev: log[log.length - 1]!.cid, data: { add: amount } }, signer)
    return await node.applyCommit(snapshot.id, update.commit)
  }

  it('registers under its own code and name', async () => {
    expect(node.doctypes.get('counter').code).toBe(COUNTER_CODE)
    const doc = await newCounter(5)
    expect(doc.id.type).toBe(COUNTER_CODE)
    // The node's registry is its own: it does not add 'counter' to @kiln/docid's process-wide table of names.
    expect(() => doc.id.typeName).toThrow()
    expect(doc.state.content).toEqual({ count: 5 })
  })

  it('grows by signed updates of its controller', async () => {
    let doc = await newCounter(0)
    for (const step of [1, 2, 3]) doc = await add(doc, step)
    expect((doc.state.content as CounterContent).count).toBe(6)
    expect((await node.load(doc.id.atCommit(doc.state.log[1]!.cid))).state.content).toEqual({ count: 1 })
  })

  it('refuses to shrink, to jump too far, and a stranger', async () => {
    const doc = await newCounter(0)
    await expect(add(doc, -1)).rejects.toMatchObject({ name: 'DoctypeRuleError' })
    await expect(add(doc, 11)).rejects.toMatchObject({ name: 'DoctypeRuleError' })
    await expect(add(doc, 1, stranger)).rejects.toMatchObject({ name: 'UnauthorizedSignerError' })
    expect((await node.load(doc.id)).state.content).toEqual({ count: 0 })
  })

  it('rejects a malformed genesis', async () => {
    const bad = await signRecord({ header: { controllers: [owner.did] }, data: { start: 'zero' } }, owner)
    await expect(node.createDocument(COUNTER_CODE, bad.commit)).rejects.toMatchObject({ name: 'InvalidCommitError' })
  })
})
