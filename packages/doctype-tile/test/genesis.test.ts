import { base64ToBytes, signRecord } from '@kiln/codec'
import { CommitID, DocID } from '@kiln/docid'
import { makeGenesis, TILE_CODE, TILE_NAME } from '@kiln/doctype-tile'
import { describe, expect, it } from 'vitest'
import { contextWith, ctx, expectKilnError, handlerOf, signerOf, unsignedGenesis, verified } from './fixtures/tile.js'

const alice = signerOf(1)
const bob = signerOf(2)

describe('tile genesis', () => {
  const handler = handlerOf()

  it('has Ceramic\'s code and name', () => {
    expect(handler.code).toBe(0)
    expect(handler.name).toBe('tile')
    expect([TILE_CODE, TILE_NAME]).toEqual([0, 'tile'])
  })

  it('applies a signed genesis: the content is the data, the metadata the header', async () => {
    const genesis = await makeGenesis({ title: 'hello', list: [1, { a: null }] }, { family: 'notes', tags: ['x'] }, alice)
    const commit = await verified(genesis, 'genesis', alice.did)
    const result = await handler.apply(null, commit, ctx)
    expect(result.content).toEqual({ title: 'hello', list: [1, { a: null }] })
    expect(result.metadata).toEqual({ controllers: [alice.did], family: 'notes', tags: ['x'], unique: genesis.record.header.unique })
    expect(new DocID('tile', genesis.envelope.cid).type).toBe(0)
  })

  it('requires the genesis controllers to sign a genesis with data, and nobody for one without', async () => {
    const signed = await makeGenesis({ a: 1 }, {}, alice)
    expect(handler.signers(null, signed.record)).toEqual([alice.did])
    const unsigned = await makeGenesis(null, { controllers: [alice.did], family: 'f', deterministic: true })
    expect(handler.signers(null, unsigned.record)).toEqual([])
  })

  it('rejects a signed genesis whose signer is not its controller', async () => {
    const genesis = await makeGenesis({ a: 1 }, {}, alice)
    await expectKilnError(handler.apply(null, await verified(genesis, 'genesis', bob.did), ctx), 'UnauthorizedSignerError', bob.did)
  })

  it('accepts a signed genesis without data from its controller only: content {}', async () => {
    const record = { header: { controllers: [alice.did], family: 'f' } }
    expect(handler.signers(null, record)).toEqual([])
    const signed = await signRecord(record, alice)
    expect(await handler.apply(null, await verified(signed, 'genesis', alice.did), ctx)).toEqual({ content: {}, metadata: record.header })
    await expectKilnError(handler.apply(null, await verified(await signRecord(record, bob), 'genesis', bob.did), ctx), 'UnauthorizedSignerError')
  })

  it('gives an unsigned genesis without data the content {}', async () => {
    const genesis = await makeGenesis(null, { controllers: [alice.did], family: 'profile', deterministic: true })
    const result = await handler.apply(null, unsignedGenesis(genesis), ctx)
    expect(result).toEqual({ content: {}, metadata: { controllers: [alice.did], family: 'profile' } })
    expect(genesis.record).toEqual({ header: { controllers: [alice.did], family: 'profile' } })
  })

  it('rejects an unsigned genesis that carries data', async () => {
    const genesis = await makeGenesis(null, { controllers: [alice.did], family: 'f', deterministic: true })
    const payload = { ...genesis.record, data: { sneaky: true } }
    expect(handler.signers(null, payload)).toEqual([alice.did])
    await expectKilnError(handler.apply(null, { ...unsignedGenesis(genesis), payload }, ctx), 'DoctypeRuleError', /not signed/)
  })

  it('gives deterministic tiles with the same header the same DocID, and another family another one', async () => {
    const make = async (family: string, controller = alice.did): Promise<string> => {
      const { block } = await makeGenesis(null, { controllers: [controller], family, tags: ['t'], deterministic: true })
      return new DocID('tile', block.cid).toString()
    }
    expect(await make('profile')).toBe(await make('profile'))
    expect(await make('profile')).not.toBe(await make('settings'))
    expect(await make('profile')).not.toBe(await make('profile', bob.did))
  })

  it('makes every other genesis unique by default: base64 of 12 random bytes', async () => {
    const one = await makeGenesis(null, { controllers: [alice.did], family: 'profile' })
    const two = await makeGenesis(null, { controllers: [alice.did], family: 'profile' })
    expect(one.block.cid.equals(two.block.cid)).toBe(false)
    expect(base64ToBytes(one.record.header.unique)).toHaveLength(12)
    const a = await makeGenesis({ same: 1 }, {}, alice)
    const b = await makeGenesis({ same: 1 }, {}, alice)
    expect(a.envelope.cid.equals(b.envelope.cid)).toBe(false)
    const c = await makeGenesis({ same: 1 }, { unique: 'fixed' }, alice)
    const d = await makeGenesis({ same: 1 }, { unique: 'fixed' }, alice)
    expect(c.envelope.cid.equals(d.envelope.cid)).toBe(true)
  })

  it('keeps schema, tags, forbidControllerChange and extra header fields in the metadata', async () => {
    const schema = new CommitID('tile', (await makeGenesis(null, { controllers: [alice.did], deterministic: true })).block.cid, 0).toString()
    const genesis = await makeGenesis({ a: 1 }, { schema, tags: ['a', 'b'], forbidControllerChange: true, unique: 'u' }, alice)
    const result = await handler.apply(null, await verified(genesis, 'genesis', alice.did), contextWith({ [schema]: { type: 0, content: {} } }))
    expect(result.metadata).toEqual({ controllers: [alice.did], schema, tags: ['a', 'b'], forbidControllerChange: true, unique: 'u' })
    const extra = { header: { controllers: [alice.did], model: 'm' } }
    const unsigned = { ...unsignedGenesis(await makeGenesis(null, { controllers: [alice.did], deterministic: true })), payload: extra }
    expect((await handler.apply(null, unsigned, ctx)).metadata).toEqual({ controllers: [alice.did], model: 'm' })
  })

  it('rejects malformed genesis records with InvalidCommitError', async () => {
    const base = unsignedGenesis(await makeGenesis(null, { controllers: [alice.did], deterministic: true }))
    const bad = [
      null,
      [],
      { data: {} },
      { header: { controllers: [] } },
      { header: { controllers: alice.did } },
      { header: { controllers: [alice.did], tags: 'x' } },
      { header: { controllers: [alice.did], schema: 'not a commit id' } },
      { header: { controllers: [alice.did], forbidControllerChange: 'yes' } }
    ]
    for (const payload of bad) {
      await expectKilnError(handler.apply(null, { ...base, payload }, ctx), 'InvalidCommitError')
    }
    expect(() => handler.signers(null, { data: {} })).toThrow(expect.objectContaining({ name: 'InvalidCommitError' }) as Error)
  })

  it('rejects a header field nested deeper than content may be, naming the field, and keeps one at the limit', async () => {
    const base = unsignedGenesis(await makeGenesis(null, { controllers: [alice.did], deterministic: true }))
    const nested = (levels: number): unknown => { let value: unknown = 1; for (let i = 0; i < levels; i++) value = [value]; return value }
    // 2,500 levels: deep enough for JSON.stringify to overflow when the state is served, shallow enough to encode.
    for (const levels of [1001, 2500, 100_000]) {
      const payload = { header: { controllers: [alice.did], family: 'f', deep: nested(levels) } }
      await expectKilnError(handler.apply(null, { ...base, payload }, ctx), 'InvalidCommitError', 'Invalid tile genesis: `header.deep` nests deeper than 1000 levels')
    }
    const atLimit = { header: { controllers: [alice.did], deep: nested(1000), unique: new Uint8Array([1]) } }
    expect((await handler.apply(null, { ...base, payload: atLimit }, ctx)).metadata).toEqual(atLimit.header)
  })

  it('rejects a genesis with a DocID as schema: the schema must be pinned to a commit', async () => {
    const docId = new DocID('tile', (await makeGenesis(null, { controllers: [alice.did], deterministic: true })).block.cid).toString()
    const base = unsignedGenesis(await makeGenesis(null, { controllers: [alice.did], deterministic: true }))
    const err = await expectKilnError(handler.apply(null, { ...base, payload: { header: { controllers: [alice.did], schema: docId } } }, ctx), 'InvalidCommitError', /CommitID/)
    expect(err.message).toContain(`names the document ${docId} without a commit: a schema must be pinned to a version`)
  })

  it('rejects a genesis with more than one controller, as Ceramic does', async () => {
    const base = unsignedGenesis(await makeGenesis(null, { controllers: [alice.did], deterministic: true }))
    await expectKilnError(handler.apply(null, { ...base, payload: { header: { controllers: [alice.did, bob.did] } } }, ctx), 'DoctypeRuleError', /exactly one controller/)
  })

  it('rejects an update commit given without a state', async () => {
    const genesis = await makeGenesis({ a: 1 }, {}, alice)
    await expectKilnError(handler.apply(null, await verified(genesis, 'update', alice.did), ctx), 'InvalidCommitError')
  })
})

describe('makeGenesis', () => {
  it('defaults the controller to the signer and signs the record with it', async () => {
    const genesis = await makeGenesis({ a: 1 }, {}, alice)
    expect(genesis.record.header.controllers).toEqual([alice.did])
    expect(genesis.commit.jws.link?.equals(genesis.payload.cid)).toBe(true)
    expect(genesis.envelope.cid.code).toBe(0x85)
  })

  it('refuses what no node would accept, before signing', async () => {
    await expectKilnError(makeGenesis(null, {}), 'InvalidCommitError', /controller/)
    await expectKilnError(makeGenesis({ a: 1 }, { controllers: [alice.did] }), 'InvalidCommitError', /signer/)
    await expectKilnError(makeGenesis({ a: 1 }, { deterministic: true }, alice), 'InvalidCommitError', /deterministic/)
    await expectKilnError(makeGenesis(null, { controllers: [alice.did], deterministic: true, unique: 'x' }), 'InvalidCommitError', /unique/)
    await expectKilnError(makeGenesis({ a: 1 }, { controllers: [bob.did] }, alice), 'UnauthorizedSignerError', alice.did)
    await expectKilnError(makeGenesis({ a: 1 }, { controllers: [alice.did, bob.did] }, alice), 'DoctypeRuleError', /exactly one/)
    await expectKilnError(makeGenesis({ a: 1 }, { schema: 'nope' }, alice), 'InvalidCommitError', /CommitID/)
    await expectKilnError(makeGenesis({ a: Number.NaN }, {}, alice), 'DoctypeRuleError', /NaN/)
    await expectKilnError(makeGenesis([1] as unknown as Record<string, unknown>, {}, alice), 'DoctypeRuleError', /JSON object/)
  })

  it('takes a CommitID object as schema', async () => {
    const schema = new CommitID('tile', (await makeGenesis(null, { controllers: [alice.did], deterministic: true })).block.cid, 0)
    const genesis = await makeGenesis(null, { controllers: [alice.did], schema })
    expect(genesis.record.header.schema).toBe(schema.toString())
  })
})
