import { DocID } from '@kiln/docid'
import { DEFAULT_MAX_SCHEMA_BYTES, SCHEMA_CODE, SCHEMA_NAME, makeSchemaGenesis, makeSchemaUpdate, schema, type SchemaContent } from '@kiln/doctype-schema'
import { DRAFT_07 } from '@kiln/json'
import type { DocState } from '@kiln/interface'
import { verifiedCommit } from '@kiln/interface-tests/doctype'
import { beforeAll, describe, expect, it } from 'vitest'
import { created, ctx, expectKilnError, handlerOf, person, rawGenesis, rawUpdate, signerOf, updated } from './fixtures/schema.js'

const alice = signerOf(1)
const bob = signerOf(2)
const handler = handlerOf()

describe('schema genesis', () => {
  it('has its own code and name, outside Ceramic\'s 0–4', () => {
    expect([handler.code, handler.name]).toEqual([SCHEMA_CODE, SCHEMA_NAME])
    expect([SCHEMA_CODE, SCHEMA_NAME]).toEqual([64, 'schema'])
  })

  it('applies a signed genesis whose data is a JSON Schema: the content is the schema, the metadata the header', async () => {
    const genesis = await makeSchemaGenesis(person, { family: 'people', tags: ['v1'] }, alice)
    const commit = await verifiedCommit(genesis, 'genesis')
    expect(handler.signers(null, commit.payload)).toEqual([alice.did])
    const result = await handler.apply(null, commit, ctx)
    expect(result.content).toEqual(person)
    expect(result.metadata).toEqual({ controllers: [alice.did], family: 'people', tags: ['v1'], unique: genesis.record.header.unique })
    expect(new DocID(SCHEMA_CODE, genesis.envelope.cid).type).toBe(64)
  })

  it('accepts draft-07 schemas', async () => {
    const draft07 = { $schema: DRAFT_07, type: 'object', properties: { n: { type: 'number' } }, additionalProperties: false }
    expect((await handler.apply(null, await verifiedCommit(await makeSchemaGenesis(draft07, {}, alice), 'genesis'), ctx)).content).toEqual(draft07)
  })

  it('rejects a genesis whose content is not a valid schema, listing the failing paths', async () => {
    const commit = await rawGenesis({ header: { controllers: [alice.did] }, data: { type: 'object', properties: { age: { type: 'integr' } } } })
    const err = await expectKilnError(handler.apply(null, commit, ctx), 'SchemaValidationError', /not a valid JSON Schema \(draft 2020-12\): \/properties\/age\/type must be equal to one of the allowed values/)
    expect(err.details.errors).toBeInstanceOf(Array)
    await expectKilnError(makeSchemaGenesis({ type: 'integr' }, {}, alice), 'SchemaValidationError', /not a valid JSON Schema/)
  })

  const badContent: Array<[string, unknown, RegExp]> = [
    ['an array', [{ type: 'string' }], /must be a JSON object, got an array/],
    ['a boolean schema', true, /must be a JSON object, got a boolean/],
    ['bytes', { const: new Uint8Array([1]) }, /at \/const it holds bytes/],
    ['NaN', { minimum: Number.NaN }, /non-finite number NaN/]
  ]

  it.each(badContent)('rejects content that is %s with DoctypeRuleError', async (_what, data, message) => {
    const { cid } = await rawGenesis({ header: { controllers: [alice.did] }, data: {} })
    await expectKilnError(handler.apply(null, { cid, kind: 'genesis', payload: { header: { controllers: [alice.did] }, data }, signer: alice.did }, ctx), 'DoctypeRuleError', message)
  })

  it('rejects a schema over the size limit', async () => {
    const small = schema({ maxContentBytes: 50 })({})
    const big = await rawGenesis({ header: { controllers: [alice.did] }, data: { description: 'x'.repeat(50) } })
    await expectKilnError(small.apply(null, big, ctx), 'DoctypeRuleError', /more than the limit of 50 bytes/)
    expect(DEFAULT_MAX_SCHEMA_BYTES).toBe(262144)
    for (const maxContentBytes of [0, -1, 1.5]) expect(() => schema({ maxContentBytes })).toThrow(RangeError)
  })

  it('rejects a genesis without data, unsigned, or signed by someone else', async () => {
    await expectKilnError(handler.apply(null, await rawGenesis({ header: { controllers: [alice.did] } }), ctx), 'DoctypeRuleError', /has no data/)
    const unsigned = { ...await rawGenesis({ header: { controllers: [alice.did] }, data: person }), signer: undefined }
    await expectKilnError(handler.apply(null, unsigned, ctx), 'UnauthorizedSignerError', /is not signed/)
    const foreign = await rawGenesis({ header: { controllers: [alice.did] }, data: person }, bob)
    expect(handler.signers(null, foreign.payload)).toEqual([alice.did])
    await expectKilnError(handler.apply(null, foreign, ctx), 'UnauthorizedSignerError', bob.did)
    await expectKilnError(makeSchemaGenesis(person, { controllers: [alice.did] }, bob), 'UnauthorizedSignerError', bob.did)
  })

  it('rejects a header.schema (a schema document follows the meta-schema of its $schema) and unknown header fields', async () => {
    const withSchema = await rawGenesis({ header: { controllers: [alice.did], schema: 'k3y52l7qbv1fry…' }, data: person })
    await expectKilnError(handler.apply(null, withSchema, ctx), 'DoctypeRuleError', /has no `header.schema`/)
    const unknown = await rawGenesis({ header: { controllers: [alice.did], model: 'm' }, data: person })
    await expectKilnError(handler.apply(null, unknown, ctx), 'InvalidCommitError', /`header.model` is not allowed/)
    const flag = await rawGenesis({ header: { controllers: [alice.did], forbidControllerChange: 'yes' }, data: person })
    await expectKilnError(handler.apply(null, flag, ctx), 'InvalidCommitError', /forbidControllerChange/)
  })

  it('gives equal DocIDs to equal deterministic schemas, and different ones otherwise', async () => {
    const a = await makeSchemaGenesis(person, { deterministic: true }, alice)
    const b = await makeSchemaGenesis(person, { deterministic: true }, alice)
    const c = await makeSchemaGenesis(person, {}, alice)
    expect(a.envelope.cid.equals(b.envelope.cid)).toBe(true)
    expect(a.record.header.unique).toBeUndefined()
    expect(c.envelope.cid.equals(a.envelope.cid)).toBe(false)
    await expectKilnError(makeSchemaGenesis(person, { deterministic: true, unique: 'u' }, alice), 'InvalidCommitError', /deterministic/)
  })
})

describe('schema updates', () => {
  let state: DocState<SchemaContent>

  beforeAll(async () => {
    state = await created(handler, await verifiedCommit(await makeSchemaGenesis(person, { tags: ['v1'] }, alice), 'genesis'))
  })

  it('moves to a new version of the schema by a JSON-Patch', async () => {
    const v2 = { ...person, properties: { ...person.properties as object, email: { type: 'string', format: 'email' } }, required: ['name', 'email'] }
    const update = await makeSchemaUpdate(state, v2, alice, { tags: ['v2'] })
    expect(update.record.header).toEqual({ tags: ['v2'] })
    expect(update.record.data).toContainEqual({ op: 'add', path: '/properties/email', value: { type: 'string', format: 'email' } })
    const next = await updated(handler, state, await verifiedCommit(update, 'update'))
    expect(next.content).toEqual(v2)
    expect(next.metadata).toEqual({ ...state.metadata, tags: ['v2'] })
    expect(state.content).toEqual(person)
  })

  it('rejects an update that leaves content that is not a valid schema', async () => {
    const update = await rawUpdate(state, [{ op: 'replace', path: '/properties/age/minimum', value: 'zero' }])
    await expectKilnError(handler.apply(state, update, ctx), 'SchemaValidationError', /\/properties\/age\/minimum must be number/)
    await expectKilnError(makeSchemaUpdate(state, { type: 'integr' }, alice), 'SchemaValidationError', /not a valid JSON Schema/)
    const toArray = await rawUpdate(state, [{ op: 'replace', path: '', value: [] }])
    await expectKilnError(handler.apply(state, toArray, ctx), 'DoctypeRuleError', /must be a JSON object, got an array/)
  })

  it('rejects a patch that fails, naming the operation', async () => {
    const err = await expectKilnError(handler.apply(state, await rawUpdate(state, [{ op: 'add', path: '/x', value: 1 }, { op: 'remove', path: '/missing' }]), ctx), 'DoctypeRuleError', /operation 1/)
    expect(err.details.index).toBe(1)
    await expectKilnError(handler.apply(state, await rawUpdate(state, { type: 'string' }), ctx), 'DoctypeRuleError', /schema update data must be a JSON-Patch array/)
  })

  it('stops a patch whose copies grow the schema over the limit', async () => {
    const small = schema({ maxContentBytes: 300 })({})
    const data = Array.from({ length: 20 }, (_, i) => ({ op: 'copy', from: '/properties', path: `/$defs${i}` }))
    await expectKilnError(small.apply(state, await rawUpdate(state, data), ctx), 'DoctypeRuleError', /operation \d+ .*more than the limit of 300 bytes/)
  })

  it('hands the document to a new controller; refuses an unsigned update, a stranger and a header.schema', async () => {
    const handover = await updated(handler, state, await verifiedCommit(await makeSchemaUpdate(state, null, alice, { controllers: [bob.did] }), 'update'))
    expect(handover.metadata.controllers).toEqual([bob.did])
    expect(handler.signers(handover, {})).toEqual([bob.did])
    await expectKilnError(handler.apply(handover, await rawUpdate(handover, []), ctx), 'UnauthorizedSignerError', alice.did)
    await expectKilnError(handler.apply(state, { ...await rawUpdate(state, []), signer: undefined }, ctx), 'UnauthorizedSignerError', /is not signed/)
    await expectKilnError(handler.apply(state, await rawUpdate(state, [], { schema: 'k…' }), ctx), 'DoctypeRuleError', /has no `header.schema`/)
    await expectKilnError(makeSchemaUpdate(state, null, bob), 'UnauthorizedSignerError', bob.did)
  })

  it('rejects malformed header changes', async () => {
    for (const header of [{ controllers: [] }, { family: 1 }, { tags: [''] }, { unique: 'new' }, { forbidControllerChange: true }]) {
      await expectKilnError(handler.apply(state, await rawUpdate(state, [], header), ctx), 'InvalidCommitError')
    }
  })

  it('keeps the controllers under forbidControllerChange, accepting them repeated', async () => {
    const fixed = await created(handler, await verifiedCommit(await makeSchemaGenesis(person, { forbidControllerChange: true }, alice), 'genesis'))
    await expectKilnError(handler.apply(fixed, await rawUpdate(fixed, [], { controllers: [bob.did] }), ctx), 'DoctypeRuleError', /forbidControllerChange/)
    expect((await handler.apply(fixed, await rawUpdate(fixed, [], { controllers: [alice.did] }), ctx)).metadata.controllers).toEqual([alice.did])
    await expectKilnError(makeSchemaUpdate(fixed, null, alice, { controllers: [bob.did] }), 'DoctypeRuleError', /forbidControllerChange/)
  })

  it('refuses to build an update for a state of another doctype', async () => {
    await expectKilnError(makeSchemaUpdate({ ...state, type: 0 }, person, alice), 'InvalidCommitError', /not a schema \(64\)/)
  })
})
