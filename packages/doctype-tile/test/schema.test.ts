import { signRecord } from '@kiln/codec'
import { CommitID } from '@kiln/docid'
import { makeGenesis, makeUpdate, tile, type TileContent } from '@kiln/doctype-tile'
import type { DocState } from '@kiln/interface'
import { beforeAll, describe, expect, it } from 'vitest'
import { commitIdOf, contextWith, expectKilnError, handlerOf, signerOf, stateFrom, unsignedGenesis, verified } from './fixtures/tile.js'

const alice = signerOf(1)
const SCHEMA_CODE = 64

const person = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } }, required: ['name'] }
const personV2 = { ...person, properties: { ...person.properties, email: { type: 'string', format: 'email' } }, required: ['name', 'email'] }

describe('tile schema enforcement', () => {
  let v1: string
  let v2: string
  let ctx: ReturnType<typeof contextWith>

  beforeAll(async () => {
    v1 = await commitIdOf(SCHEMA_CODE, 'person v1')
    v2 = await commitIdOf(SCHEMA_CODE, 'person v2')
  })

  function freshContext (): ReturnType<typeof contextWith> {
    ctx = contextWith({ [v1]: { type: SCHEMA_CODE, content: person }, [v2]: { type: SCHEMA_CODE, content: personV2 } })
    return ctx
  }

  async function created (content: TileContent, schema = v1, handler = handlerOf()): Promise<DocState<TileContent>> {
    const commit = await verified(await makeGenesis(content, { schema }, alice), 'genesis', alice.did)
    return stateFrom(await handler.apply(null, commit, freshContext()), commit)
  }

  it('accepts genesis content that matches the schema, loading the schema at its CommitID', async () => {
    const state = await created({ name: 'Alice', age: 30 })
    expect(state.content).toEqual({ name: 'Alice', age: 30 })
    expect(state.metadata.schema).toBe(v1)
    expect(ctx.loads).toEqual([v1])
  })

  it('rejects genesis content that does not match, listing every failing path', async () => {
    const commit = await verified(await makeGenesis({ age: 1.5 }, { schema: v1 }, alice), 'genesis', alice.did)
    const err = await expectKilnError(handlerOf().apply(null, commit, freshContext()), 'SchemaValidationError', `content does not match schema ${v1}`)
    expect(err.message).toContain('/age must be integer')
    expect(err.message).toContain("(root) must have required property 'name'")
    expect((err as unknown as { details: { schema: string, errors: unknown[] } }).details).toMatchObject({
      schema: v1,
      errors: [{ path: '', keyword: 'required' }, { path: '/age', message: 'must be integer', keyword: 'type' }]
    })
  })

  it('validates the empty content of a genesis without data too, as Ceramic does', async () => {
    const genesis = unsignedGenesis(await makeGenesis(null, { controllers: [alice.did], schema: v1 }))
    await expectKilnError(handlerOf().apply(null, genesis, freshContext()), 'SchemaValidationError', /required property 'name'/)
    const open = await commitIdOf(SCHEMA_CODE, 'anything goes')
    const loose = unsignedGenesis(await makeGenesis(null, { controllers: [alice.did], schema: open }))
    expect((await handlerOf().apply(null, loose, contextWith({ [open]: { type: SCHEMA_CODE, content: { type: 'object' } } }))).content).toEqual({})
  })

  it('rejects an update that would break the schema', async () => {
    const state = await created({ name: 'Alice' })
    const update = await verified(await makeUpdate(state, { name: 'Alice', age: -1 }, alice), 'update', alice.did)
    await expectKilnError(handlerOf().apply(state, update, freshContext()), 'SchemaValidationError', '/age must be >= 0')
  })

  it('validates an update that changes the schema against the new version only', async () => {
    const state = await created({ name: 'Alice' })
    // valid under v1, but v2 requires an email: the move is refused
    const without = await verified(await makeUpdate(state, null, alice, { schema: v2 }), 'update', alice.did)
    await expectKilnError(handlerOf().apply(state, without, freshContext()), 'SchemaValidationError', `schema ${v2}: (root) must have required property 'email'`)
    const bad = await verified(await makeUpdate(state, { name: 'Alice', email: 'not an email' }, alice, { schema: v2 }), 'update', alice.did)
    await expectKilnError(handlerOf().apply(state, bad, freshContext()), 'SchemaValidationError', '/email must match format "email"')
    const moved = await verified(await makeUpdate(state, { name: 'Alice', email: 'alice@example.com' }, alice, { schema: v2 }), 'update', alice.did)
    const result = await handlerOf().apply(state, moved, freshContext())
    expect(result.metadata.schema).toBe(v2)
    expect(ctx.loads).toEqual([v2])
  })

  it('accepts a tile whose content is a schema, as Ceramic\'s clients publish them', async () => {
    const tileSchema = await commitIdOf(0, 'a tile holding a schema')
    const commit = await verified(await makeGenesis({ n: 'x' }, { schema: tileSchema }, alice), 'genesis', alice.did)
    const schemaTile = { type: 0, content: { type: 'object', properties: { n: { type: 'number' } } } }
    await expectKilnError(handlerOf().apply(null, commit, contextWith({ [tileSchema]: schemaTile })), 'SchemaValidationError', '/n must be number')
  })

  it('rejects a schema document of another doctype, and one whose content is not a schema', async () => {
    const counter = await commitIdOf(1042, 'a counter')
    const notASchema = await commitIdOf(0, 'a tile that is no schema')
    const ctx = contextWith({ [counter]: { type: 1042, content: { count: 1 } }, [notASchema]: { type: 0, content: { type: 'objekt' } } })
    const handler = handlerOf()
    const apply = async (schema: string): Promise<unknown> => await handler.apply(null, await verified(await makeGenesis({ a: 1 }, { schema }, alice), 'genesis', alice.did), ctx)
    await expectKilnError(apply(counter), 'SchemaValidationError', `schema ${counter} is a document of doctype 1042`)
    await expectKilnError(apply(notASchema), 'SchemaValidationError', `the content of schema ${notASchema} is not a valid JSON Schema (draft 2020-12): /type must be equal to one of the allowed values`)
  })

  it('passes on the error of a schema document the node does not have', async () => {
    const missing = await commitIdOf(SCHEMA_CODE, 'nowhere')
    const commit = await verified(await makeGenesis({ a: 1 }, { schema: missing }, alice), 'genesis', alice.did)
    await expectKilnError(handlerOf().apply(null, commit, contextWith({})), 'DocumentNotFoundError', missing)
  })

  it('rejects a bare DocID as schema in a genesis, an update and the helpers, saying the schema must be pinned', async () => {
    const docId = CommitID.fromString(v1).baseID.toString()
    const pinned = /names the document .* without a commit: a schema must be pinned to a version/
    await expectKilnError(makeGenesis({ name: 'A' }, { schema: docId }, alice), 'InvalidCommitError', pinned)
    const raw = await verified(await signRecord({ header: { controllers: [alice.did], schema: docId }, data: { name: 'A' } }, alice), 'genesis', alice.did)
    await expectKilnError(handlerOf().apply(null, raw, freshContext()), 'InvalidCommitError', pinned)
    const state = await created({ name: 'Alice' })
    await expectKilnError(makeUpdate(state, null, alice, { schema: docId }), 'InvalidCommitError', pinned)
    const update = await verified(await signRecord({ id: state.log[0]!.cid, prev: state.log[0]!.cid, header: { schema: docId }, data: [] }, alice), 'update', alice.did)
    await expectKilnError(handlerOf().apply(state, update, freshContext()), 'InvalidCommitError', pinned)
    expect(ctx.loads).toEqual([])
  })

  it('compiles a schema once per CommitID and handler, and loads it only until then', async () => {
    const handler = tile({ schemaCacheSize: 10 })({})
    const state = await created({ name: 'Alice' }, v1, handler)
    for (const age of [1, 2, 3]) {
      const update = await verified(await makeUpdate(state, { name: 'Alice', age }, alice), 'update', alice.did)
      await handler.apply(state, update, freshContext())
      expect(ctx.loads).toEqual([])
    }
    expect(() => tile({ schemaCacheSize: 0 })).toThrow(RangeError)
  })
})
