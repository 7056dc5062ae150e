import type { KilnNode } from '@kiln/core'
import { accountLinkGenesis, bitcoinLinkProof, linkProofMessage, makeLinkUpdate, type LinkProof } from '@kiln/doctype-account-link'
import type { DocID } from '@kiln/docid'
import type { DocState } from '@kiln/interface'
import { networks } from 'bitcoinjs-lib'
import type { ECPairInterface } from 'ecpair'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bip137Sign, BTC_TESTNET, btcAccount, btcAddress, btcKey, didOf, expectKilnError, linkNode, rawUpdate, T0, type BtcAddressType } from './fixtures/link.js'

const alice = didOf(1)
const bob = didOf(2)
const key = btcKey(0x31)
const uncompressed = btcKey(0x31, false)
const stranger = btcKey(0x32)

type Flavour = Parameters<typeof bip137Sign>[2]

/** A proof for `account` whose message `signer` signs with the BIP-137 header of `flavour`. */
async function proofBy (signer: ECPairInterface, account: string, did: string | null, timestamp: number, flavour?: Flavour): Promise<LinkProof> {
  return await bitcoinLinkProof({ account, did, timestamp, sign: async (message) => bip137Sign(message, signer, flavour) })
}

describe('linking a Bitcoin account through a node', () => {
  let node: KilnNode

  beforeEach(async () => { node = await linkNode() })
  afterEach(async () => { await node.stop() })

  async function create (account: string): Promise<{ id: DocID, state: DocState }> {
    return await node.createDocument('caip10-link', (await accountLinkGenesis(account)).record)
  }

  async function apply (doc: { id: DocID, state: DocState }, proof: LinkProof): Promise<DocState> {
    return (await node.applyCommit(doc.id, (await makeLinkUpdate(doc.state, proof)).record)).state
  }

  const cases: Array<[string, ECPairInterface, BtcAddressType, Flavour]> = [
    ['a legacy P2PKH address of a compressed key', key, 'p2pkh', 'p2pkh'],
    ['a legacy P2PKH address of an uncompressed key', uncompressed, 'p2pkh', 'p2pkh-uncompressed'],
    ['a P2SH-P2WPKH (nested segwit) address', key, 'p2sh-p2wpkh', 'p2sh-p2wpkh'],
    ['a P2WPKH (native segwit) address', key, 'p2wpkh', 'p2wpkh']
  ]
  for (const [what, signer, type, flavour] of cases) {
    it(`links ${what} to a did:key with a BIP-137 signature of its key`, async () => {
      const account = btcAccount(btcAddress(signer, type))
      const doc = await create(account)
      const proof = await proofBy(signer, account, alice, T0, flavour)
      expect(proof).toMatchObject({ version: 2, type: 'bitcoin', message: linkProofMessage(alice, T0), account, timestamp: T0, did: alice })
      expect(Buffer.from(proof.signature, 'base64')).toHaveLength(65)
      const state = await apply(doc, proof)
      expect(state.content).toBe(alice)
      expect(state.metadata.lastUpdate).toBe(T0)
    })
  }

  it('accepts a segwit address signed with a P2PKH header, as Electrum signs', async () => {
    for (const type of ['p2wpkh', 'p2sh-p2wpkh'] as const) {
      const account = btcAccount(btcAddress(key, type))
      expect((await apply(await create(account), await proofBy(key, account, alice, T0, 'p2pkh'))).content).toBe(alice)
    }
  })

  it('links a testnet address on the testnet chain', async () => {
    const testKey = btcKey(0x33, true, networks.testnet)
    const account = btcAccount(btcAddress(testKey, 'p2wpkh', networks.testnet), BTC_TESTNET)
    expect((await apply(await create(account), await proofBy(testKey, account, alice, T0, 'p2wpkh'))).content).toBe(alice)
  })

  it('relinks with a newer proof and unlinks with a proof that names no DID', async () => {
    const account = btcAccount(btcAddress(key, 'p2wpkh'))
    const doc = await create(account)
    doc.state = await apply(doc, await proofBy(key, account, alice, T0))
    doc.state = await apply(doc, await proofBy(key, account, bob, T0 + 60))
    expect(doc.state.content).toBe(bob)
    doc.state = await apply(doc, await proofBy(key, account, null, T0 + 120))
    expect(doc.state.content).toBeNull()
  })

  it('rejects a proof signed by another key, naming the account and the DID', async () => {
    const account = btcAccount(btcAddress(key, 'p2wpkh'))
    const doc = await create(account)
    await expectKilnError(proofBy(stranger, account, alice, T0), 'InvalidSignatureError', /not signed by the account's key/)
    const message = linkProofMessage(alice, T0)
    const forged = { version: 2, type: 'bitcoin', message, signature: bip137Sign(message, stranger, 'p2wpkh'), account, timestamp: T0, did: alice }
    const err = await expectKilnError(node.applyCommit(doc.id, rawUpdate(doc.state, forged)), 'InvalidSignatureError', account)
    expect(err.message).toContain(alice)
    expect(err.message).toContain(btcAddress(stranger, 'p2wpkh'))
    expect((await node.load(doc.id)).state.content).toBeNull()
  })

  it('tells a compressed key from an uncompressed one: each has its own P2PKH address', async () => {
    const compressedAccount = btcAccount(btcAddress(key, 'p2pkh'))
    const uncompressedAccount = btcAccount(btcAddress(uncompressed, 'p2pkh'))
    expect(compressedAccount).not.toBe(uncompressedAccount)
    await expectKilnError(proofBy(key, uncompressedAccount, alice, T0), 'InvalidSignatureError')
    await expectKilnError(proofBy(uncompressed, compressedAccount, alice, T0), 'InvalidSignatureError')
  })

  it('rejects a proof for another DID and a replayed older proof', async () => {
    const account = btcAccount(btcAddress(key, 'p2sh-p2wpkh'))
    const doc = await create(account)
    const first = await proofBy(key, account, alice, T0)
    await expectKilnError(node.applyCommit(doc.id, rawUpdate(doc.state, { ...first, did: bob })), 'DoctypeRuleError', /signed for DID/)
    doc.state = await apply(doc, first)
    doc.state = await apply(doc, await proofBy(key, account, bob, T0 + 1))
    await expectKilnError(node.applyCommit(doc.id, rawUpdate(doc.state, first)), 'DoctypeRuleError', /cannot be replayed/)
    expect((await node.load(doc.id)).state.content).toBe(bob)
  })

  it('rejects malformed signatures with InvalidSignatureError', async () => {
    const account = btcAccount(btcAddress(key, 'p2wpkh'))
    const doc = await create(account)
    const proof = await proofBy(key, account, alice, T0)
    const bytes = Buffer.from(proof.signature, 'base64')
    const header = (value: number): string => Buffer.concat([Buffer.from([value]), bytes.subarray(1)]).toString('base64')
    const bad: Array<[string, RegExp]> = [
      ['not base64!', /base64 of 65 bytes/],
      [bytes.subarray(0, 64).toString('base64'), /base64 of 65 bytes/],
      [proof.signature.replace(/=$/, ''), /base64 of 65 bytes/],
      [bytes.toString('base64url'), /base64 of 65 bytes/],
      [header(26), /header byte/],
      [header(43), /header byte/],
      [Buffer.concat([bytes.subarray(0, 1), Buffer.alloc(64)]).toString('base64'), /not a valid secp256k1 signature/]
    ]
    for (const [signature, message] of bad) {
      await expectKilnError(node.applyCommit(doc.id, rawUpdate(doc.state, { ...proof, signature })), 'InvalidSignatureError', message)
    }
  })
})
