import type { KilnNode } from '@kiln/core'
import { accountLinkGenesis, ethereumLinkProof, linkProofMessage, makeLinkUpdate, type LinkProof } from '@kiln/doctype-account-link'
import type { DocID } from '@kiln/docid'
import type { DocState } from '@kiln/interface'
import { Signature, type Wallet } from 'ethers'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { didOf, ethAccount, ethWallet, expectKilnError, linkNode, rawUpdate, T0 } from './fixtures/link.js'

const wallet = ethWallet(0x11)
const stranger = ethWallet(0x22)
const alice = didOf(1)
const bob = didOf(2)

/** A proof signed by `signer` with ethers' `signMessage` (EIP-191 personal_sign). */
async function proofBy (signer: Wallet, did: string | null, timestamp: number, account = ethAccount(wallet)): Promise<LinkProof> {
  return await ethereumLinkProof({ account, did, timestamp, sign: async (message) => await signer.signMessage(message) })
}

describe('linking an Ethereum account through a node', () => {
  let node: KilnNode
  let id: DocID
  let state: DocState

  beforeEach(async () => {
    node = await linkNode()
    ;({ id, state } = await node.createDocument('caip10-link', (await accountLinkGenesis(ethAccount(wallet))).record))
  })
  afterEach(async () => { await node.stop() })

  async function apply (proof: LinkProof): Promise<DocState> {
    ;({ state } = await node.applyCommit(id, (await makeLinkUpdate(state, proof)).record))
    return state
  }

  async function current (): Promise<unknown> {
    return (await node.load(id)).state.content
  }

  it('links the account to a did:key with a proof its own wallet signed', async () => {
    const proof = await proofBy(wallet, alice, T0)
    expect(proof).toEqual({
      version: 2,
      type: 'ethereum-eoa',
      message: linkProofMessage(alice, T0),
      signature: expect.stringMatching(/^0x[0-9a-f]{130}$/) as string,
      account: `eip155:1:${wallet.address.toLowerCase()}`,
      timestamp: T0,
      did: alice
    })
    const linked = await apply(proof)
    expect(linked.content).toBe(alice)
    expect(linked.metadata).toEqual({ controllers: [`${wallet.address.toLowerCase()}@eip155:1`], family: 'caip10-eip155:1', lastUpdate: T0 })
    expect(linked.log).toHaveLength(2)
    expect(await current()).toBe(alice)
  })

  it('relinks to another DID with a newer proof, and unlinks with a proof that names no DID', async () => {
    await apply(await proofBy(wallet, alice, T0))
    expect((await apply(await proofBy(wallet, bob, T0 + 10))).content).toBe(bob)
    const unlink = await proofBy(wallet, null, T0 + 20)
    expect(unlink.message).toBe(`Link this account to your identity\n\n \nTimestamp: ${T0 + 20}`)
    expect((await apply(unlink)).content).toBeNull()
    expect((await apply(await proofBy(wallet, alice, T0 + 30))).content).toBe(alice)
    expect((await node.load(id.atCommit(state.log[2]!.cid))).state.content).toBe(bob)
  })

  it('accepts a proof whose account is written checksummed or in lower case', async () => {
    const lower = await proofBy(wallet, alice, T0, `eip155:1:${wallet.address.toLowerCase()}`)
    await apply(lower)
    // Ceramic's clients write the lower-case account; a checksummed one is the same account
    const checksummed = { ...(await proofBy(wallet, bob, T0 + 1)), account: ethAccount(wallet) }
    expect(checksummed.account).not.toBe(checksummed.account.toLowerCase())
    ;({ state } = await node.applyCommit(id, rawUpdate(state, checksummed)))
    expect(state.content).toBe(bob)
  })

  it('rejects a proof signed by another key, naming the account and the DID, and writes nothing', async () => {
    await expectKilnError(proofBy(stranger, alice, T0), 'InvalidSignatureError', stranger.address.toLowerCase())
    const message = linkProofMessage(alice, T0)
    const forged = { version: 2, type: 'ethereum-eoa', message, signature: await stranger.signMessage(message), account: ethAccount(wallet), timestamp: T0, did: alice }
    const err = await expectKilnError(node.applyCommit(id, rawUpdate(state, forged)), 'InvalidSignatureError', /not signed by the account's key/)
    expect(err.message).toContain(wallet.address.toLowerCase())
    expect(err.message).toContain(alice)
    expect(await current()).toBeNull()
    expect((await node.load(id)).state.log).toHaveLength(1)
  })

  it('rejects a proof used for another DID than the one it was signed for', async () => {
    const proof = await proofBy(wallet, alice, T0)
    const err = await expectKilnError(node.applyCommit(id, rawUpdate(state, { ...proof, did: bob })), 'DoctypeRuleError', /signed for DID/)
    expect(err.message).toContain(alice)
    expect(err.message).toContain(bob)
    // rewriting the message to name the other DID breaks the signature instead
    const rewritten = { ...proof, did: bob, message: linkProofMessage(bob, T0) }
    await expectKilnError(node.applyCommit(id, rawUpdate(state, rewritten)), 'InvalidSignatureError', bob)
    await expectKilnError(node.applyCommit(id, rawUpdate(state, { ...proof, did: '' })), 'DoctypeRuleError', /cannot link no DID/)
    expect(await current()).toBeNull()
  })

  it('rejects a replayed older proof, and one no newer than the current proof', async () => {
    const first = await proofBy(wallet, alice, T0)
    await apply(first)
    await apply(await proofBy(wallet, bob, T0 + 10))
    const err = await expectKilnError(node.applyCommit(id, rawUpdate(state, first)), 'DoctypeRuleError', /cannot be replayed/)
    expect(err.message).toContain(alice)
    expect(err.message).toContain(String(T0 + 10))
    await expectKilnError(node.applyCommit(id, rawUpdate(state, await proofBy(wallet, alice, T0 + 10))), 'DoctypeRuleError', /not later than/)
    await expectKilnError(makeLinkUpdate(state, first), 'DoctypeRuleError', /replayed/)
    expect(await current()).toBe(bob)
  })

  it('rejects a replay of an unlink older than the current link', async () => {
    const unlink = await proofBy(wallet, null, T0)
    await apply(unlink)
    await apply(await proofBy(wallet, alice, T0 + 5))
    await expectKilnError(node.applyCommit(id, rawUpdate(state, unlink)), 'DoctypeRuleError', /no DID \(an unlink\)/)
    expect(await current()).toBe(alice)
  })

  it('rejects a valid proof of another account, and of the same address on another chain', async () => {
    const theirs = await proofBy(stranger, alice, T0, ethAccount(stranger))
    const err = await expectKilnError(node.applyCommit(id, rawUpdate(state, theirs)), 'DoctypeRuleError', /cannot update the link of account/)
    expect(err.message).toContain(stranger.address.toLowerCase())
    expect(err.message).toContain(wallet.address.toLowerCase())
    const polygon = await proofBy(wallet, alice, T0, ethAccount(wallet, 137))
    await expectKilnError(node.applyCommit(id, rawUpdate(state, polygon)), 'DoctypeRuleError', /eip155:137/)
    await expectKilnError(makeLinkUpdate(state, theirs), 'DoctypeRuleError')
  })

  it('accepts a signature with v 0/1 (as hardware wallets give it) and refuses the high-s twin of a valid one', async () => {
    const proof = await proofBy(wallet, alice, T0)
    const sig = Signature.from(proof.signature)
    const v01 = sig.r + sig.s.slice(2) + (sig.v - 27).toString(16).padStart(2, '0')
    const twin = Signature.from(proof.signature)
    // s' = n - s with the other parity recovers the same key: the malleable twin of the signature
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const highS = twin.r + (n - BigInt(twin.s)).toString(16).padStart(64, '0') + (twin.v === 27 ? '1c' : '1b')
    await expectKilnError(node.applyCommit(id, rawUpdate(state, { ...proof, signature: highS })), 'InvalidSignatureError', /high s/)
    ;({ state } = await node.applyCommit(id, rawUpdate(state, { ...proof, signature: v01 })))
    expect(state.content).toBe(alice)
  })
})
