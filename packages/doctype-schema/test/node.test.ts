import { signRecord } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { makeSchemaGenesis, makeSchemaUpdate, schema, SCHEMA_CODE } from '@kiln/doctype-schema'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { expectKilnError, person, signerOf } from './fixtures/schema.js'

const alice = signerOf(1)
const bob = signerOf(2)

describe('schema documents in a node', () => {
  let node: KilnNode
  beforeEach(async () => { node = await createNode({ doctypes: [schema()], storage: memoryStorage() }) })
  afterEach(async () => { await node.stop() })

  it('creates, updates and loads a schema document at each of its versions', async () => {
    const doc = await node.createDocument('schema', (await makeSchemaGenesis(person, {}, alice)).commit)
    expect(doc.id.type).toBe(SCHEMA_CODE)
    expect(doc.id.typeName).toBe('schema')
    const v2 = { ...person, required: ['name', 'age'] }
    const next = await node.applyCommit(doc.id, (await makeSchemaUpdate(doc.state, v2, alice)).commit)
    expect(next.state.content).toEqual(v2)
    expect((await node.load(doc.id.atCommit(0))).state.content).toEqual(person)
    expect((await node.load(doc.id)).state.content).toEqual(v2)
  })

  it('refuses a schema that does not compile, and an update that would break it, writing nothing', async () => {
    const bad = await signRecord({ header: { controllers: [alice.did] }, data: { type: 'objekt' } }, alice)
    await expectKilnError(node.createDocument(SCHEMA_CODE, bad.commit), 'SchemaValidationError', /not a valid JSON Schema/)

    const doc = await node.createDocument('schema', (await makeSchemaGenesis(person, {}, alice)).commit)
    const breaking = await signRecord({ id: doc.state.log[0]!.cid, prev: doc.state.log[0]!.cid, header: {}, data: [{ op: 'replace', path: '/required', value: 'name' }] }, alice)
    await expectKilnError(node.applyCommit(doc.id, breaking.commit), 'SchemaValidationError', /\/required must be array/)
    const stranger = await signRecord({ id: doc.state.log[0]!.cid, prev: doc.state.log[0]!.cid, header: {}, data: [] }, bob)
    await expectKilnError(node.applyCommit(doc.id, stranger.commit), 'UnauthorizedSignerError')
    const now = await node.load(doc.id)
    expect(now.state.content).toEqual(person)
    expect(now.state.log).toHaveLength(1)
  })
})
