import { AnchorStatus, type DocState, type VerifiedCommit } from '@kiln/interface'
import { makeRulesGenesis, makeRulesUpdate, RULES_DOCTYPE_CODE, RULES_DOCTYPE_NAME, rulesDoctype, type RulesContent } from '@kiln/rules'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { ADMIN1, ADMIN2, commitIdOf, docIdOf, OUTSIDER } from './fixtures/transitions.js'

const cid = (label: string): CID => CID.createV1(0x71, sha256.digest(new TextEncoder().encode(label)) as never)
const handler = rulesDoctype()({})
const ctx = { loadDocument: async () => { throw new Error('the rules doctype loads nothing') } }

const RULES = { version: 1, rules: [{ name: 'admins', who: { anyOf: [ADMIN1] } }] }

function genesis (data: unknown, header: Record<string, unknown> = {}, signer: string | null = ADMIN1): VerifiedCommit {
  return { cid: cid('genesis'), kind: 'genesis', payload: { header: { controllers: [ADMIN1], ...header }, ...(data === undefined ? {} : { data }) }, ...(signer === null ? {} : { signer }) }
}

function update (data: unknown, header?: Record<string, unknown>, signer = ADMIN1): VerifiedCommit {
  return { cid: cid('update'), kind: 'update', payload: { id: cid('genesis'), prev: cid('genesis'), data, ...(header === undefined ? {} : { header }) }, signer }
}

async function created (): Promise<DocState<RulesContent>> {
  const result = await handler.apply(null, genesis(RULES), ctx)
  return {
    type: RULES_DOCTYPE_CODE,
    content: result.content,
    metadata: result.metadata,
    signature: 0,
    anchorStatus: AnchorStatus.NOT_REQUESTED,
    log: [{ cid: cid('genesis'), type: 0 }]
  } as unknown as DocState<RulesContent>
}

async function refusal (promise: Promise<unknown>): Promise<{ name: string, details: Record<string, unknown> }> {
  return await promise.then(() => { throw new Error('accepted') }, (err: { name: string, details: Record<string, unknown> }) => err)
}

describe('the rules doctype', () => {
  it('is named rules, code 65, and names its controller as the signer of every commit', async () => {
    expect({ name: handler.name, code: handler.code }).toEqual({ name: RULES_DOCTYPE_NAME, code: 65 })
    expect(handler.signers(null, genesis(RULES).payload)).toEqual([ADMIN1])
    expect(handler.signers(await created(), update([]).payload)).toEqual([ADMIN1])
  })

  it('creates a document from a genesis carrying a valid rule set', async () => {
    const state = await created()
    expect(state.content).toEqual(RULES)
    expect(state.metadata).toEqual({ controllers: [ADMIN1] })
  })

  it('refuses a genesis whose content is not a rule set with InvalidRulesError naming the path', async () => {
    const err = await refusal(handler.apply(null, genesis({ version: 1, rules: [{ name: 'a', who: { threshold: 3, of: [ADMIN1] } }] }), ctx))
    expect(err.name).toBe('InvalidRulesError')
    expect(err.details.path).toBe('/rules/0/who/threshold')
  })

  it('refuses a genesis without content, unsigned, with two controllers, or naming a schema', async () => {
    expect((await refusal(handler.apply(null, genesis(undefined), ctx))).name).toBe('DoctypeRuleError')
    expect((await refusal(handler.apply(null, genesis(RULES, {}, null), ctx))).name).toBe('UnauthorizedSignerError')
    expect((await refusal(handler.apply(null, genesis(RULES, { controllers: [ADMIN1, ADMIN2] }), ctx))).name).toBe('DoctypeRuleError')
    expect((await refusal(handler.apply(null, genesis(RULES, { schema: 'k3y52' }), ctx))).name).toBe('DoctypeRuleError')
  })

  it('applies a JSON-Patch update that keeps a valid rule set, leaving the old state as it was', async () => {
    const state = await created()
    const before = structuredClone(state.content)
    const result = await handler.apply(state, update([{ op: 'add', path: '/default', value: 'allow' }], { tags: ['team'] }), ctx)
    expect(result.content).toEqual({ ...RULES, default: 'allow' })
    expect(result.metadata).toEqual({ controllers: [ADMIN1], tags: ['team'] })
    expect(state.content).toEqual(before)
  })

  it('refuses an update that would make the rule set invalid, with InvalidRulesError', async () => {
    const err = await refusal(handler.apply(await created(), update([{ op: 'replace', path: '/rules/0/who', value: { anyOf: ['bob'] } }]), ctx))
    expect(err.name).toBe('InvalidRulesError')
    expect(err.details.path).toBe('/rules/0/who/anyOf/0')
  })

  it('refuses an update by a non-controller, a patch that does not apply, and a header field fixed at genesis', async () => {
    const state = await created()
    expect((await refusal(handler.apply(state, update([], undefined, OUTSIDER), ctx))).name).toBe('UnauthorizedSignerError')
    expect((await refusal(handler.apply(state, update([{ op: 'remove', path: '/nope' }]), ctx))).name).toBe('DoctypeRuleError')
    expect((await refusal(handler.apply(state, update([], { unique: 'x' }), ctx))).name).toBe('DoctypeRuleError')
    expect((await refusal(handler.apply(state, update([], { controllers: [ADMIN1, ADMIN2] }), ctx))).name).toBe('DoctypeRuleError')
  })

  it('hands the document over to a new controller, and changes the rules it follows itself', async () => {
    const result = await handler.apply(await created(), update([], { controllers: [ADMIN2], rules: commitIdOf('rules', 'v2') }), ctx)
    expect(result.metadata).toEqual({ controllers: [ADMIN2], rules: commitIdOf('rules', 'v2') })
    expect((await refusal(handler.apply(await created(), update([], { rules: docIdOf('rules') }), ctx))).name).toBe('InvalidCommitError')
  })
})

describe('makeRulesGenesis and makeRulesUpdate', () => {
  it('build signed commits the rules doctype applies, and refuse an invalid rule set before signing', async () => {
    const { keyDidSigner, seedFromHex } = await import('@kiln/signing')
    const signer = keyDidSigner({ seed: seedFromHex('01'.repeat(32)) })
    const rules = { version: 1, rules: [{ name: 'owner', who: { controllers: true } }] }
    const genesis = await makeRulesGenesis(rules, signer, { tags: ['team'] })
    const created = await handler.apply(null, { cid: genesis.envelope.cid, kind: 'genesis', payload: genesis.record, signer: signer.did }, ctx)
    expect(created.content).toEqual(rules)
    expect(created.metadata).toMatchObject({ controllers: [signer.did], tags: ['team'] })
    const state = { type: RULES_DOCTYPE_CODE, ...created, log: [{ cid: genesis.envelope.cid }] } as unknown as DocState<RulesContent>
    const next = { ...rules, default: 'allow' }
    const update = await makeRulesUpdate(state, next, signer)
    expect(update.record.data).toEqual([{ op: 'add', path: '/default', value: 'allow' }])
    const updated = await handler.apply(state, { cid: update.envelope.cid, kind: 'update', payload: update.record, signer: signer.did }, ctx)
    expect(updated.content).toEqual(next)
    await expect(makeRulesGenesis({ version: 1, rules: [{ name: 'x', who: { anyOf: [] } }] }, signer)).rejects.toMatchObject({ name: 'InvalidRulesError', details: { path: '/rules/0/who/anyOf' } })
    await expect(makeRulesUpdate(state, next, keyDidSigner({ seed: seedFromHex('02'.repeat(32)) }))).rejects.toMatchObject({ name: 'UnauthorizedSignerError' })
  })
})
