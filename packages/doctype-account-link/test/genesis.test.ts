import { encodeRecord, signRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { ACCOUNT_LINK_CODE, ACCOUNT_LINK_NAME, accountLinkGenesis, parseAccountId } from '@kiln/doctype-account-link'
import { keyDidSigner } from '@kiln/signing'
import { describe, expect, it } from 'vitest'
import vectors from './fixtures/ceramic-link-vectors.json' with { type: 'json' }
import { BTC_MAINNET, btcAccount, btcAddress, btcKey, ctx, ethAccount, ethWallet, expectKilnError, handlerOf, linkNode } from './fixtures/link.js'

const handler = handlerOf()
const wallet = ethWallet(0x11)

async function genesisCommit (payload: unknown): Promise<Parameters<typeof handler.apply>[1]> {
  const block = await encodeRecord(payload)
  return { cid: block.cid, kind: 'genesis', payload }
}

describe('account-link genesis', () => {
  it('has Ceramic\'s code and name', () => {
    expect([handler.code, handler.name]).toEqual([1, 'caip10-link'])
    expect([ACCOUNT_LINK_CODE, ACCOUNT_LINK_NAME]).toEqual([1, 'caip10-link'])
  })

  it('writes what Ceramic\'s Caip10Link.makeGenesis writes: the lower-case legacy account and the chain\'s family', async () => {
    const genesis = await accountLinkGenesis(vectors.account)
    expect(genesis.record).toEqual(vectors.genesis)
    expect(genesis.block.cid.equals((await encodeRecord(vectors.genesis)).cid)).toBe(true)
    expect(genesis.docId.type).toBe(1)
    expect(genesis.docId.typeName).toBe('caip10-link')
    expect(genesis.docId.equals(new DocID('caip10-link', genesis.block.cid))).toBe(true)
  })

  it('gives one account one DocID however its address is spelled, and another chain or account another one', async () => {
    const id = async (account: string): Promise<string> => (await accountLinkGenesis(account)).docId.toString()
    const lower = `eip155:1:${wallet.address.toLowerCase()}`
    expect(await id(ethAccount(wallet))).toBe(await id(lower))
    expect(await id(`${wallet.address}@eip155:1`)).toBe(await id(lower))
    expect(await id(ethAccount(wallet))).toBe(await id(ethAccount(wallet)))
    expect(await id(ethAccount(wallet, 137))).not.toBe(await id(lower))
    expect(await id(ethAccount(ethWallet(0x12)))).not.toBe(await id(lower))
    const segwit = btcAddress(btcKey(1), 'p2wpkh')
    expect(await id(btcAccount(segwit.toUpperCase()))).toBe(await id(btcAccount(segwit)))
    expect((await accountLinkGenesis(parseAccountId(lower))).docId.toString()).toBe(await id(lower))
  })

  it('writes a Bitcoin account\'s genesis with its chain id as family', async () => {
    const address = btcAddress(btcKey(1), 'p2pkh')
    const genesis = await accountLinkGenesis(btcAccount(address))
    expect(genesis.record).toEqual({ header: { controllers: [`${address}@bip122:${BTC_MAINNET}`], family: `caip10-bip122:${BTC_MAINNET}` } })
  })

  it('applies the genesis unsigned: no signers, content null, metadata the header', async () => {
    const genesis = await accountLinkGenesis(ethAccount(wallet))
    expect(handler.signers(null, genesis.record)).toEqual([])
    const result = await handler.apply(null, { cid: genesis.block.cid, kind: 'genesis', payload: genesis.record }, ctx)
    expect(result).toEqual({ content: null, metadata: genesis.record.header })
  })

  it('creates the document through a node under the DocID computed offline, and again gives the same document', async () => {
    const node = await linkNode()
    try {
      const genesis = await accountLinkGenesis(ethAccount(wallet))
      const { id, state } = await node.createDocument('caip10-link', genesis.record)
      expect(id.equals(genesis.docId)).toBe(true)
      expect(state.content).toBeNull()
      expect(state.signature).toBe(0)
      expect(state.metadata).toEqual({ controllers: [`${wallet.address.toLowerCase()}@eip155:1`], family: 'caip10-eip155:1' })
      const again = await node.createDocument(ACCOUNT_LINK_CODE, (await accountLinkGenesis(`eip155:1:${wallet.address.toLowerCase()}`)).record)
      expect(again.id.equals(id)).toBe(true)
    } finally {
      await node.stop()
    }
  })

  it('rejects a genesis that is not exactly the canonical one of its account, so one account has one document', async () => {
    const { record } = await accountLinkGenesis(ethAccount(wallet))
    const legacy = record.header.controllers[0]!
    const family = record.header.family!
    const bad: Array<[string, unknown, RegExp]> = [
      ['data', { ...record, data: { did: 'did:key:z6Mk' } }, /no data/],
      ['unique', { header: { ...record.header, unique: 'x' } }, /only controllers and family/],
      ['tags', { header: { ...record.header, tags: ['t'] } }, /only controllers and family/],
      ['a top-level field', { ...record, extra: 1 }, /unknown fields/],
      ['two controllers', { header: { controllers: [legacy, legacy], family } }, /exactly one controller/],
      ['a checksummed controller', { header: { controllers: [`${wallet.address}@eip155:1`], family } }, new RegExp(`must be written "${legacy}"`)],
      ['a CAIP-10 controller', { header: { controllers: [`eip155:1:${wallet.address.toLowerCase()}`], family } }, /address@chainId/],
      ['another family', { header: { controllers: [legacy], family: 'caip10-eip155:137' } }, /family/],
      ['no family', { header: { controllers: [legacy] } }, /family/]
    ]
    for (const [why, payload, message] of bad) {
      const err = await expectKilnError(handler.apply(null, await genesisCommit(payload), ctx), 'DoctypeRuleError', message)
      expect(err.message, why).toMatch(/caip10-link genesis/)
    }
  })

  it('rejects a genesis naming a malformed account with InvalidCommitError, and an unsupported chain with UnsupportedChainError', async () => {
    await expectKilnError(handler.apply(null, await genesisCommit({ header: { controllers: ['0x1234@eip155:1'], family: 'caip10-eip155:1' } }), ctx), 'InvalidCommitError', /0x1234/)
    await expectKilnError(handler.apply(null, await genesisCommit({ header: { controllers: ['not an account'], family: 'caip10-eip155:1' } }), ctx), 'InvalidCommitError')
    await expectKilnError(handler.apply(null, await genesisCommit({ header: { controllers: ['abc@solana:4sGjMW1sUnHzSxGspuhpqLDx6wiyjNtZ'], family: 'caip10-solana:4sGjMW1sUnHzSxGspuhpqLDx6wiyjNtZ' } }), ctx), 'UnsupportedChainError')
  })

  it('rejects a genesis signed by a DID, directly and through a node: a signature would give the account a second DocID', async () => {
    const { record } = await accountLinkGenesis(ethAccount(wallet))
    const alice = keyDidSigner({ seed: new Uint8Array(32).fill(7) })
    const signed = await signRecord(record, alice)
    await expectKilnError(handler.apply(null, { cid: signed.envelope.cid, kind: 'genesis', payload: record, signer: alice.did }, ctx), 'DoctypeRuleError', alice.did)
    const node = await linkNode()
    try {
      await expectKilnError(node.createDocument('caip10-link', signed.commit), 'DoctypeRuleError', /unsigned/)
    } finally {
      await node.stop()
    }
  })

  it('refuses to build a genesis for a malformed account', async () => {
    await expectKilnError(accountLinkGenesis('eip155:1:0xnope'), 'InvalidAccountIdError')
  })
})
