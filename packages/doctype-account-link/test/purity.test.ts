import { encodeRecord } from '@kiln/codec'
import { accountLinkGenesis, ethereumLinkProof, type AccountLinkContent } from '@kiln/doctype-account-link'
import { AnchorStatus, LogEntryType, SignatureStatus, type DocState as AnyDocState, type VerifiedCommit } from '@kiln/interface'
import { deepFreeze } from '@kiln/interface-tests/doctype'
import { describe, expect, it } from 'vitest'
import { ctx, didOf, ethAccount, ethWallet, expectKilnError, handlerOf, rawUpdate, T0 } from './fixtures/link.js'

/** A link document's state. */
type DocState = AnyDocState<AccountLinkContent>

const handler = handlerOf()
const wallet = ethWallet(0x11)
const alice = didOf(1)
const bob = didOf(2)

async function linkUpdate (state: DocState, did: string | null, timestamp: number): Promise<VerifiedCommit> {
  const data = await ethereumLinkProof({ account: ethAccount(wallet), did, timestamp, sign: async (m) => await wallet.signMessage(m) })
  const payload = rawUpdate(state, data)
  return { cid: (await encodeRecord(payload)).cid, kind: 'update', payload }
}

/** The state after the genesis and one link to alice at T0. */
async function linkedState (): Promise<DocState> {
  const genesis = await accountLinkGenesis(ethAccount(wallet))
  const first = await handler.apply(null, { cid: genesis.block.cid, kind: 'genesis', payload: genesis.record }, ctx)
  const base: DocState = { type: 1, ...first, signature: SignatureStatus.GENESIS, anchorStatus: AnchorStatus.NOT_REQUESTED, log: [{ cid: genesis.block.cid, type: LogEntryType.GENESIS }] }
  const commit = await linkUpdate(base, alice, T0)
  const next = await handler.apply(base, commit, ctx)
  return { ...base, ...next, signature: SignatureStatus.SIGNED, log: [...base.log, { cid: commit.cid, type: LogEntryType.SIGNED }] }
}

function snapshot (value: unknown): unknown {
  return JSON.parse(JSON.stringify(value))
}

describe('purity', () => {
  it('applies an update to a deep-frozen linked state and payload, returning new objects and changing neither', async () => {
    const state = deepFreeze(await linkedState())
    const commit = await linkUpdate(state, bob, T0 + 1)
    const payload = deepFreeze(commit.payload)
    const before = snapshot([state, payload])
    const result = await handler.apply(state, { ...commit, payload }, ctx)
    expect(result).toEqual({ content: bob, metadata: { ...state.metadata, lastUpdate: T0 + 1 } })
    expect(snapshot([state, payload])).toEqual(before)
    expect(result.metadata).not.toBe(state.metadata)
    expect(result.metadata.controllers).not.toBe(state.metadata.controllers)
    expect(Object.isFrozen(result.metadata)).toBe(false)
  })

  it('leaves a deep-frozen state unchanged when a replayed proof is rejected, and gives equal results for equal inputs', async () => {
    const state = deepFreeze(await linkedState())
    const before = snapshot(state)
    await expectKilnError(handler.apply(state, await linkUpdate(state, bob, T0), ctx), 'DoctypeRuleError', /replayed/)
    expect(snapshot(state)).toEqual(before)
    const commit = await linkUpdate(state, null, T0 + 5)
    expect(await handler.apply(state, commit, ctx)).toEqual(await handler.apply(state, commit, ctx))
  })
})
