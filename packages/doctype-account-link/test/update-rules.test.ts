import { encodeRecord, signRecord } from '@kiln/codec'
import { accountLinkGenesis, ethereumLinkProof, linkProofMessage, makeLinkUpdate, verifyLinkProof, type AccountLinkContent, type LinkProof } from '@kiln/doctype-account-link'
import { AnchorStatus, LogEntryType, SignatureStatus, type DocState as AnyDocState, type VerifiedCommit } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import vectors from './fixtures/ceramic-link-vectors.json' with { type: 'json' }
import { ctx, didOf, ethAccount, ethWallet, expectKilnError, expectThrowsKilnError, handlerOf, linkNode, rawUpdate, T0 } from './fixtures/link.js'

/** A link document's state. */
type DocState = AnyDocState<AccountLinkContent>

const handler = handlerOf()
const wallet = ethWallet(0x11)
const alice = didOf(1)

async function proof (did: string | null, timestamp: number): Promise<LinkProof> {
  return await ethereumLinkProof({ account: ethAccount(wallet), did, timestamp, sign: async (m) => await wallet.signMessage(m) })
}

/** The state after the genesis of `wallet`'s link, as the core builds it. */
async function genesisState (): Promise<DocState> {
  const genesis = await accountLinkGenesis(ethAccount(wallet))
  const result = await handler.apply(null, { cid: genesis.block.cid, kind: 'genesis', payload: genesis.record }, ctx)
  return { type: 1, ...result, signature: SignatureStatus.GENESIS, anchorStatus: AnchorStatus.NOT_REQUESTED, log: [{ cid: genesis.block.cid, type: LogEntryType.GENESIS }] }
}

async function updateCommit (state: DocState, data: unknown, extra: Record<string, unknown> = {}): Promise<VerifiedCommit> {
  const payload = { ...rawUpdate(state, data), ...extra }
  return { cid: (await encodeRecord(payload)).cid, kind: 'update', payload }
}

describe('account-link updates', () => {
  it('applies the proofs Ceramic\'s EthereumAuthProvider made (earlier message prefix, legacy account, no did field)', async () => {
    const node = await linkNode()
    try {
      const created = await node.createDocument('caip10-link', vectors.genesis)
      const id = created.id
      let state = created.state
      expect(id.equals((await accountLinkGenesis(vectors.account)).docId)).toBe(true)
      const [first, second] = vectors.proofs
      ;({ state } = await node.applyCommit(id, rawUpdate(state, first)))
      expect(state.content).toBe('did:3:testdid1')
      ;({ state } = await node.applyCommit(id, (await makeLinkUpdate(state, second as LinkProof)).record))
      expect(state.content).toBe('did:3:testdid2')
      // Ceramic's own replay test: the first proof again, on top of the second
      await expectKilnError(node.applyCommit(id, rawUpdate(state, first)), 'DoctypeRuleError', /cannot be replayed/)
    } finally {
      await node.stop()
    }
  })

  it('applies a proof in the form Ceramic\'s clients make today: no did field, the lower-case account', async () => {
    const message = linkProofMessage(alice, T0)
    const data = { version: 2, type: 'ethereum-eoa', message, signature: await wallet.signMessage(message), account: `eip155:1:${wallet.address.toLowerCase()}`, timestamp: T0 }
    const result = await handler.apply(await genesisState(), await updateCommit(await genesisState(), data), ctx)
    expect(result.content).toBe(alice)
    expect(verifyLinkProof(data)).toEqual({ account: expect.objectContaining({ caip10: data.account }) as unknown, did: alice, timestamp: T0 })
  })

  it('names nobody as signer: the proof is the authorization', async () => {
    const state = await genesisState()
    expect(handler.signers(state, rawUpdate(state, await proof(alice, T0)))).toEqual([])
  })

  it('rejects malformed proofs with InvalidCommitError', async () => {
    const state = await genesisState()
    const good = await proof(alice, T0)
    const bad: Array<[string, unknown]> = [
      ['not a map', 'proof'],
      ['a list', [good]],
      ['version 1', { ...good, version: 1 }],
      ['no version', { ...good, version: undefined }],
      ['an unknown field', { ...good, chainId: 1 }],
      ['an unknown type', { ...good, type: 'solana' }],
      ['a bitcoin type for an eip155 account', { ...good, type: 'bitcoin' }],
      ['a message that is not a string', { ...good, message: 42 }],
      ['an overlong message', { ...good, message: 'x'.repeat(5000) }],
      ['a signature that is not a string', { ...good, signature: null }],
      ['an account that is not an account', { ...good, account: 'eip155:1:0xnope' }],
      ['a timestamp in milliseconds past year 9999', { ...good, timestamp: T0 * 1000 }],
      ['a fractional timestamp', { ...good, timestamp: T0 + 0.5 }],
      ['a did that is not a string', { ...good, did: 7 }]
    ]
    for (const [why, data] of bad) {
      const clean = typeof data === 'object' && data !== null && !Array.isArray(data) ? Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined)) : data
      const err = await expectKilnError(handler.apply(state, await updateCommit(state, clean), ctx), 'InvalidCommitError')
      expect(err.message, why).toMatch(/link proof/i)
    }
  })

  it('rejects a message that is not exactly the link message of the proof\'s timestamp, or names no valid DID', async () => {
    const state = await genesisState()
    const good = await proof(alice, T0)
    const variants = [
      { ...good, timestamp: T0 + 1 },
      { ...good, message: good.message.replace(' \nTimestamp', '\nTimestamp') },
      { ...good, message: `Please sign\n\n${alice} \nTimestamp: ${T0}` },
      { ...good, message: good.message + '\n' }
    ]
    for (const data of variants) await expectKilnError(handler.apply(state, await updateCommit(state, data), ctx), 'DoctypeRuleError', /link message/)
    const notADid = { ...good, did: undefined, message: linkProofMessage(null, T0).replace('\n\n', '\n\nalice') }
    delete notADid.did
    await expectKilnError(handler.apply(state, await updateCommit(state, notADid), ctx), 'DoctypeRuleError', /only be linked to a DID/)
  })

  it('refuses contract-wallet (erc1271) proofs: checking them needs the chain', async () => {
    const state = await genesisState()
    await expectKilnError(handler.apply(state, await updateCommit(state, { ...(await proof(alice, T0)), type: 'erc1271' }), ctx), 'DoctypeRuleError', /erc1271/)
  })

  it('rejects an update that changes metadata or carries unknown fields', async () => {
    const state = await genesisState()
    const data = await proof(alice, T0)
    await expectKilnError(handler.apply(state, await updateCommit(state, data, { header: { family: 'x' } }), ctx), 'DoctypeRuleError', /metadata/)
    await expectKilnError(handler.apply(state, await updateCommit(state, data, { extra: true }), ctx), 'InvalidCommitError', /unknown fields/)
    expect((await handler.apply(state, await updateCommit(state, data, { header: {} }), ctx)).content).toBe(alice)
  })

  it('rejects an update signed by a DID, directly and through a node', async () => {
    const state = await genesisState()
    const signer = keyDidSigner({ seed: new Uint8Array(32).fill(9) })
    const commit = { ...(await updateCommit(state, await proof(alice, T0))), signer: signer.did }
    await expectKilnError(handler.apply(state, commit, ctx), 'DoctypeRuleError', signer.did)
    const node = await linkNode()
    try {
      const doc = await node.createDocument('caip10-link', (await accountLinkGenesis(ethAccount(wallet))).record)
      const signed = await signRecord(rawUpdate(doc.state, await proof(alice, T0)), signer)
      await expectKilnError(node.applyCommit(doc.id, signed.commit), 'DoctypeRuleError', /unsigned/)
    } finally {
      await node.stop()
    }
  })

  it('rejects a proof older than the latest anchor of the document, as Ceramic does', async () => {
    const base = await genesisState()
    const anchored: DocState = {
      ...base,
      anchorStatus: AnchorStatus.ANCHORED,
      log: [{ ...base.log[0]!, timestamp: T0 + 100 }, { cid: CID.parse('bafyreigdmqpykrgxyaxtlafqpqhzrb7qy2rh75nldvfd4tucqmqqme5yje'), type: LogEntryType.ANCHOR, timestamp: T0 + 100 }]
    }
    const err = await expectKilnError(handler.apply(anchored, await updateCommit(anchored, await proof(alice, T0 + 99)), ctx), 'DoctypeRuleError', /latest anchor/)
    expect(err.message).toContain(alice)
    expect((await handler.apply(anchored, await updateCommit(anchored, await proof(alice, T0 + 100)), ctx)).content).toBe(alice)
  })

  it('rejects a genesis given with a state and an update given without one', async () => {
    const state = await genesisState()
    const genesis = await accountLinkGenesis(ethAccount(wallet))
    await expectKilnError(handler.apply(state, { cid: genesis.block.cid, kind: 'genesis', payload: genesis.record }, ctx), 'InvalidCommitError', /already has a genesis/)
    await expectKilnError(handler.apply(null, await updateCommit(state, await proof(alice, T0)), ctx), 'InvalidCommitError', /no genesis yet/)
  })

  it('refuses to build an update for a state that is not an account link', async () => {
    const header = { controllers: [alice], family: 'profile' }
    const state: AnyDocState = { type: 0, content: {}, metadata: header, signature: 0, anchorStatus: 0, log: [{ cid: (await encodeRecord({ header })).cid, type: 0 }] }
    await expectKilnError(makeLinkUpdate(state, await proof(alice, T0)), 'InvalidCommitError', /not a caip10-link/)
  })

  it('builds the update Ceramic\'s setDidProof sends: {id, prev, data}, unsigned', async () => {
    const state = await genesisState()
    const data = await proof(alice, T0)
    const update = await makeLinkUpdate(state, data)
    expect(update.record).toEqual({ id: state.log[0]!.cid, prev: state.log[0]!.cid, data })
    expect(update.block.cid.equals((await encodeRecord(update.record)).cid)).toBe(true)
    expect(update.record.data).not.toBe(data)
  })

  it('refuses to build a proof for the wrong chain or with a bad DID', async () => {
    const sign = async (m: string): Promise<string> => await wallet.signMessage(m)
    await expectKilnError(ethereumLinkProof({ account: 'bip122:000000000019d6689c085ae165831e93:1F3sAm6ZtwLAUnj7d38pGFxtP3RVEvtsbV', did: alice, timestamp: T0, sign }), 'InvalidAccountIdError', /eip155/)
    await expectKilnError(ethereumLinkProof({ account: ethAccount(wallet), did: 'alice', timestamp: T0, sign }), 'DoctypeRuleError', /DID/)
    await expectKilnError(ethereumLinkProof({ account: ethAccount(wallet), did: alice, timestamp: T0, sign: async () => 42 as unknown as string }), 'InvalidSignatureError', /number/)
    const now = Math.floor(Date.now() / 1000)
    const fresh = await ethereumLinkProof({ account: ethAccount(wallet), did: alice, sign })
    expect(fresh.timestamp).toBeGreaterThanOrEqual(now)
    expectThrowsKilnError(() => verifyLinkProof({ ...fresh, signature: '0x00' }), 'InvalidSignatureError', /130 hex digits/)
  })
})
