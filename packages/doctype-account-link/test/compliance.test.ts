import { signRecord } from '@kiln/codec'
import { accountLink, accountLinkGenesis, bitcoinLinkProof, ethereumLinkProof, linkProofMessage, makeLinkUpdate, type AccountLinkContent, type LinkProof } from '@kiln/doctype-account-link'
import type { DocState, VerifiedCommit } from '@kiln/interface'
import { doctypeTests, verifiedCommit } from '@kiln/interface-tests/doctype'
import { keyDidSigner } from '@kiln/signing'
import { describe } from 'vitest'
import { bip137Sign, btcAccount, btcAddress, btcKey, didOf, ethAccount, ethWallet, rawUpdate, T0 } from './fixtures/link.js'

const alice = didOf(1)
const bob = didOf(2)
const someDid = keyDidSigner({ seed: new Uint8Array(32).fill(3) })

/** How one chain's accounts sign: the account, another account, and proofs by the account's key or another key. */
interface Chain {
  account: string
  otherAccount: string
  proof: (did: string | null, timestamp: number) => Promise<LinkProof>
  /** The link message signed by a key that is not the account's, in the chain's signature format. */
  foreignSignature: (message: string) => Promise<string>
}

const wallet = ethWallet(0x41)
const ethereum: Chain = {
  account: ethAccount(wallet),
  otherAccount: ethAccount(ethWallet(0x42)),
  proof: async (did, timestamp) => await ethereumLinkProof({ account: ethAccount(wallet), did, timestamp, sign: async (m) => await wallet.signMessage(m) }),
  foreignSignature: async (message) => await ethWallet(0x42).signMessage(message)
}

const key = btcKey(0x43)
const bitcoin: Chain = {
  account: btcAccount(btcAddress(key, 'p2wpkh')),
  otherAccount: btcAccount(btcAddress(btcKey(0x44), 'p2wpkh')),
  proof: async (did, timestamp) => await bitcoinLinkProof({ account: btcAccount(btcAddress(key, 'p2wpkh')), did, timestamp, sign: async (m) => bip137Sign(m, key, 'p2wpkh') }),
  foreignSignature: async (message) => bip137Sign(message, btcKey(0x44), 'p2wpkh')
}

async function update (state: DocState<AccountLinkContent>, data: unknown): Promise<VerifiedCommit> {
  return await verifiedCommit(rawUpdate(state, data), 'update')
}

// Three tests of the shared suite skip here, for each chain (6 in all), each naming why in its title: an account link's
// genesis is unsigned and its updates are proved by the account's own signature, so there is no foreign genesis or
// update signer to offer (foreignGenesis, foreignUpdate), and apply() trusts the core's signer check
// (checksSignerInApply is not set).
for (const [name, chain] of [['an Ethereum account', ethereum], ['a Bitcoin account', bitcoin]] as const) {
  describe(`the account-link doctype, for ${name}`, () => {
    doctypeTests<AccountLinkContent>({
      setup: () => ({
        handler: accountLink()({}),
        genesis: async () => await verifiedCommit((await accountLinkGenesis(chain.account)).record, 'genesis'),
        update: async (state) => await verifiedCommit((await makeLinkUpdate(state, await chain.proof(alice, T0))).record, 'update'),
        invalidGeneses: async () => {
          const { record } = await accountLinkGenesis(chain.account)
          const [controller] = record.header.controllers
          return [
            { why: 'data in the genesis', commit: await verifiedCommit({ ...record, data: alice }, 'genesis'), error: 'DoctypeRuleError' },
            { why: 'a unique field', commit: await verifiedCommit({ header: { ...record.header, unique: 'u' } }, 'genesis'), error: 'DoctypeRuleError' },
            { why: 'another chain\'s family', commit: await verifiedCommit({ header: { ...record.header, family: 'caip10-eip155:5' } }, 'genesis'), error: 'DoctypeRuleError' },
            { why: 'the CAIP-10 form as controller', commit: await verifiedCommit({ header: { ...record.header, controllers: [chain.account] } }, 'genesis'), error: 'DoctypeRuleError' },
            { why: 'a malformed account', commit: await verifiedCommit({ header: { ...record.header, controllers: [controller + 'zz'] } }, 'genesis'), error: 'InvalidCommitError' },
            { why: 'a signed genesis', commit: await verifiedCommit(await signRecord(record, someDid), 'genesis'), error: 'DoctypeRuleError' }
          ]
        },
        invalidUpdates: async (state) => {
          const good = await chain.proof(alice, T0)
          const message = linkProofMessage(alice, T0)
          return [
            { why: 'a proof signed by another key', commit: await update(state, { ...good, signature: await chain.foreignSignature(message) }), error: 'InvalidSignatureError' },
            { why: 'a proof used for another DID', commit: await update(state, { ...good, did: bob }), error: 'DoctypeRuleError' },
            { why: 'a proof of another account', commit: await update(state, { ...good, account: chain.otherAccount }), error: 'DoctypeRuleError' },
            { why: 'a proof of version 1', commit: await update(state, { ...good, version: 1 }), error: 'InvalidCommitError' },
            { why: 'data that is not a proof', commit: await update(state, [{ op: 'add', path: '/did', value: alice }]), error: 'InvalidCommitError' },
            { why: 'an update signed by a DID', commit: await verifiedCommit(await signRecord(rawUpdate(state, good), someDid), 'update'), error: 'DoctypeRuleError' }
          ]
        }
      })
    })
  })
}
