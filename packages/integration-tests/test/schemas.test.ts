import { signRecord } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { CommitID } from '@kiln/docid'
import { makeSchemaGenesis, makeSchemaUpdate, schema, SCHEMA_CODE } from '@kiln/doctype-schema'
import { DRAFT_07 } from '@kiln/json'
import { makeGenesis, makeUpdate, tile } from '@kiln/doctype-tile'
import { keyDidSigner } from '@kiln/signing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x5c) })

const person = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
  required: ['name']
}
const personV2 = { ...person, properties: { ...person.properties, email: { type: 'string', format: 'email' } }, required: ['name', 'email'] }

/** Awaits a rejection and returns it, so that its name and message can be checked. */
async function rejection (promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, 'expected a rejection').toBeInstanceOf(Error)
  return err as Error
}

describe('tiles that follow a schema, in a node with the tile and schema doctypes', () => {
  let node: KilnNode
  let v1: CommitID
  let v2: CommitID

  beforeEach(async () => {
    node = await createNode({ doctypes: [tile(), schema()], storage: memoryStorage() })
    const doc = await node.createDocument('schema', (await makeSchemaGenesis(person, {}, alice)).commit)
    v1 = doc.id.atCommit(0)
    const next = await node.applyCommit(doc.id, (await makeSchemaUpdate(doc.state, personV2, alice)).commit)
    v2 = doc.id.atCommit(next.state.log[1]!.cid)
  })

  afterEach(async () => { await node.stop() })

  it('accepts content that matches the schema, and keeps the schema CommitID in the metadata', async () => {
    const { state } = await node.createDocument('tile', (await makeGenesis({ name: 'Alice', age: 30 }, { schema: v1 }, alice)).commit)
    expect(state.content).toEqual({ name: 'Alice', age: 30 })
    expect(state.metadata.schema).toBe(v1.toString())
  })

  it('rejects a genesis whose content does not match, naming every failing path, and stores nothing', async () => {
    const genesis = await makeGenesis({ age: 'thirty' }, { schema: v1 }, alice)
    const err = await rejection(node.createDocument('tile', genesis.commit))
    expect(err.name).toBe('SchemaValidationError')
    expect(err.message).toBe(`content does not match schema ${v1.toString()}: (root) must have required property 'name'; /age must be integer`)
    expect((await rejection(node.load(new CommitID('tile', genesis.envelope.cid, 0)))).name).toBe('DocumentNotFoundError')
  })

  it('rejects an update that would break the schema and leaves the state as it was', async () => {
    const doc = await node.createDocument('tile', (await makeGenesis({ name: 'Alice' }, { schema: v1 }, alice)).commit)
    const err = await rejection(node.applyCommit(doc.id, (await makeUpdate(doc.state, { name: 'Alice', age: -1 }, alice)).commit))
    expect(err.name).toBe('SchemaValidationError')
    expect(err.message).toContain('/age must be >= 0')
    const { state } = await node.load(doc.id)
    expect(state.content).toEqual({ name: 'Alice' })
    expect(state.log).toHaveLength(1)
  })

  it('rejects a schema named by a bare DocID: a schema must be pinned to a version', async () => {
    const raw = await signRecord({ header: { controllers: [alice.did], schema: v1.baseID.toString() }, data: { name: 'Alice' } }, alice)
    const err = await rejection(node.createDocument('tile', raw.commit))
    expect(err.name).toBe('InvalidCommitError')
    expect(err.message).toContain(`names the document ${v1.baseID.toString()} without a commit: a schema must be pinned to a version`)
    expect((await rejection(makeGenesis({ name: 'Alice' }, { schema: v1.baseID.toString() }, alice))).name).toBe('InvalidCommitError')
  })

  it('moves a tile to a new schema version only by an update whose content matches the new version', async () => {
    const doc = await node.createDocument('tile', (await makeGenesis({ name: 'Alice' }, { schema: v1 }, alice)).commit)
    const stale = await rejection(node.applyCommit(doc.id, (await makeUpdate(doc.state, null, alice, { schema: v2 })).commit))
    expect(stale.name).toBe('SchemaValidationError')
    expect(stale.message).toContain(`schema ${v2.toString()}: (root) must have required property 'email'`)
    const moved = await node.applyCommit(doc.id, (await makeUpdate(doc.state, { name: 'Alice', email: 'alice@example.com' }, alice, { schema: v2 })).commit)
    expect(moved.state.metadata.schema).toBe(v2.toString())
    // the old version still holds for the old commit, and loading it replays through the schema check
    expect((await node.load(doc.id.atCommit(0))).state.metadata.schema).toBe(v1.toString())
    const later = await rejection(node.applyCommit(doc.id, (await makeUpdate(moved.state, { name: 'Alice', email: 'nope' }, alice)).commit))
    expect(later.message).toContain('/email must match format "email"')
  })

  it('rejects a schema document whose content is not a valid schema, at genesis and by update', async () => {
    const bad = await signRecord({ header: { controllers: [alice.did] }, data: { type: 'object', properties: { age: { type: 'integr' } } } }, alice)
    const err = await rejection(node.createDocument(SCHEMA_CODE, bad.commit))
    expect(err.name).toBe('SchemaValidationError')
    expect(err.message).toContain('/properties/age/type must be equal to one of the allowed values')
    const { state } = await node.load(v1.baseID)
    const breaking = await signRecord({ id: state.log[0]!.cid, prev: state.log[1]!.cid, header: {}, data: [{ op: 'replace', path: '/required', value: 'name' }] }, alice)
    expect((await rejection(node.applyCommit(v1.baseID, breaking.commit))).name).toBe('SchemaValidationError')
    expect((await node.load(v1.baseID)).state.log).toHaveLength(2)
  })

  it('takes a tile holding a schema as the schema, as Ceramic\'s clients publish them, in draft-07 too', async () => {
    const schemaTile = await node.createDocument('tile', (await makeGenesis({ $schema: DRAFT_07, type: 'object', required: ['title'] }, {}, alice)).commit)
    const ref = schemaTile.id.atCommit(0)
    expect((await node.createDocument('tile', (await makeGenesis({ title: 'Note' }, { schema: ref }, alice)).commit)).state.content).toEqual({ title: 'Note' })
    const err = await rejection(node.createDocument('tile', (await makeGenesis({ body: 'no title' }, { schema: ref }, alice)).commit))
    expect(err.message).toContain("(root) must have required property 'title'")
  })

  it('rejects a tile naming as schema a tile whose content is not a schema', async () => {
    const notASchema = await node.createDocument('tile', (await makeGenesis({ type: 'objekt' }, {}, alice)).commit)
    const err = await rejection(node.createDocument('tile', (await makeGenesis({ a: 1 }, { schema: notASchema.id.atCommit(0) }, alice)).commit))
    expect(err.name).toBe('SchemaValidationError')
    expect(err.message).toContain('is not a valid JSON Schema')
  })

  it('rejects a tile whose schema document this node does not have', async () => {
    const elsewhere = new CommitID(SCHEMA_CODE, (await makeSchemaGenesis(person, {}, alice)).envelope.cid, 0)
    const err = await rejection(node.createDocument('tile', (await makeGenesis({ name: 'Alice' }, { schema: elsewhere }, alice)).commit))
    expect(err.name).toBe('DocumentNotFoundError')
  })
})
