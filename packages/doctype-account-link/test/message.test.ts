import { bitcoinMessageHash, ethereumMessageHash, LINK_MESSAGE_PREFIX, linkProofMessage, MAX_DID_LENGTH } from '@kiln/doctype-account-link'
import { payments } from 'bitcoinjs-lib'
import { ECPairFactory } from 'ecpair'
import { hashMessage } from 'ethers'
import * as ecc from 'tiny-secp256k1'
import { describe, expect, it } from 'vitest'
import vectors from './fixtures/ceramic-link-vectors.json' with { type: 'json' }
import { bip137Sign, didOf, expectThrowsKilnError, T0 } from './fixtures/link.js'

const did = didOf(1)

describe('linkProofMessage', () => {
  it('writes Ceramic\'s consent message: the prefix, the DID, a space, a newline and the timestamp', () => {
    expect(linkProofMessage(did, T0)).toBe(`Link this account to your identity\n\n${did} \nTimestamp: ${T0}`)
    expect(LINK_MESSAGE_PREFIX).toBe('Link this account to your identity\n\n')
  })

  it('writes the unlink message with an empty DID, for null and for \'\', as Ceramic\'s clearDid does', () => {
    expect(linkProofMessage(null, T0)).toBe(`Link this account to your identity\n\n \nTimestamp: ${T0}`)
    expect(linkProofMessage('', T0)).toBe(linkProofMessage(null, T0))
  })

  it('refuses a DID that is not a bare DID, and a timestamp that is not whole unix seconds', () => {
    for (const bad of ['alice', 'did:key', 'did:key:', 'did:KEY:z6Mk', `${did}#key-1`, `${did}?x=1`, `${did}/path`, ` ${did}`, `${did}\nTimestamp: 1`, 'did:key:' + 'z'.repeat(MAX_DID_LENGTH)]) {
      expectThrowsKilnError(() => linkProofMessage(bad, T0), 'DoctypeRuleError', /DID/)
    }
    expect(linkProofMessage('did:pkh:eip155:1:0xab', T0)).toContain('did:pkh:eip155:1:0xab \n')
    expect(linkProofMessage('did:web:example.com%3A8443', T0)).toContain('did:web:example.com%3A8443')
    for (const bad of [0, -1, 1.5, Number.NaN, 1e20, '1700000000' as unknown as number]) {
      expectThrowsKilnError(() => linkProofMessage(did, bad), 'InvalidCommitError', /timestamp/)
    }
  })
})

describe('message hashes', () => {
  it('hashes Ethereum messages as EIP-191 personal_sign does (ethers.hashMessage)', () => {
    for (const message of ['', 'hello', linkProofMessage(did, T0), 'ünïcödé ✓ '.repeat(30)]) {
      expect('0x' + Buffer.from(ethereumMessageHash(message)).toString('hex')).toBe(hashMessage(message))
    }
  })

  it('hashes Bitcoin messages as BIP-137 signers do: a published signature recovers to its address', () => {
    const { wif, address, message, signature } = vectors.bitcoinMessage
    const key = ECPairFactory(ecc).fromWIF(wif)
    expect(payments.p2pkh({ pubkey: key.publicKey }).address).toBe(address)
    // RFC 6979 signatures are deterministic: the fixture's signer reproduces the published one
    expect(bip137Sign(message, key)).toBe(signature)
    const rs = Buffer.from(signature, 'base64').subarray(1)
    const recovered = ecc.recover(bitcoinMessageHash(message), rs, ((Buffer.from(signature, 'base64')[0]! - 27) & 3) as 0 | 1 | 2 | 3, true)
    expect(recovered && Buffer.from(recovered).equals(Buffer.from(key.publicKey))).toBe(true)
  })

  it('encodes a message longer than 252 bytes with a three-byte length, as Bitcoin\'s CompactSize does', () => {
    const key = ECPairFactory(ecc).fromPrivateKey(new Uint8Array(32).fill(9))
    const long = 'x'.repeat(300)
    const signature = Buffer.from(bip137Sign(long, key), 'base64')
    const recovered = ecc.recover(bitcoinMessageHash(long), signature.subarray(1), ((signature[0]! - 27) & 3) as 0 | 1 | 2 | 3, true)
    expect(recovered && Buffer.from(recovered).equals(Buffer.from(key.publicKey))).toBe(true)
  })
})
