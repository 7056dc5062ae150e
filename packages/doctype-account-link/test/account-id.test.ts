import { MAX_ACCOUNT_ID_LENGTH, parseAccountId } from '@kiln/doctype-account-link'
import { networks } from 'bitcoinjs-lib'
import { describe, expect, it } from 'vitest'
import { BTC_MAINNET, BTC_TESTNET, btcAccount, btcAddress, btcKey, ethWallet, expectThrowsKilnError } from './fixtures/link.js'

const wallet = ethWallet(0x11)
const checksummed = wallet.address
const lower = checksummed.toLowerCase()

describe('parseAccountId', () => {
  it('reads an Ethereum account given checksummed, lower case or upper case, and keeps it in lower case', () => {
    for (const address of [checksummed, lower, '0x' + lower.slice(2).toUpperCase()]) {
      expect(parseAccountId(`eip155:1:${address}`)).toEqual({
        namespace: 'eip155',
        reference: '1',
        chainId: 'eip155:1',
        address: lower,
        caip10: `eip155:1:${lower}`,
        legacy: `${lower}@eip155:1`
      })
    }
    expect(checksummed).not.toBe(lower)
  })

  it('reads Ceramic\'s legacy address@chainId form as the same account', () => {
    expect(parseAccountId(`${checksummed}@eip155:137`)).toEqual(parseAccountId(`eip155:137:${lower}`))
    const address = btcAddress(btcKey(1), 'p2wpkh')
    expect(parseAccountId(`${address}@bip122:${BTC_MAINNET}`).caip10).toBe(btcAccount(address))
  })

  it('refuses a mixed-case Ethereum address whose EIP-55 checksum is wrong', () => {
    // flip the case of the first letter of the checksummed address
    const at = checksummed.slice(2).search(/[a-fA-F]/) + 2
    const ch = checksummed[at]!
    const typo = checksummed.slice(0, at) + (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()) + checksummed.slice(at + 1)
    expectThrowsKilnError(() => parseAccountId(`eip155:1:${typo}`), 'InvalidAccountIdError', /checksum/)
  })

  it('reads P2PKH (compressed and uncompressed keys), P2SH-P2WPKH and P2WPKH Bitcoin addresses', () => {
    const key = btcKey(2)
    const addresses = [btcAddress(key, 'p2pkh'), btcAddress(btcKey(2, false), 'p2pkh'), btcAddress(key, 'p2sh-p2wpkh'), btcAddress(key, 'p2wpkh')]
    expect(addresses.map((a) => a[0])).toEqual(['1', '1', '3', 'b'])
    for (const address of addresses) {
      expect(parseAccountId(btcAccount(address))).toMatchObject({ namespace: 'bip122', reference: BTC_MAINNET, address, caip10: btcAccount(address) })
    }
  })

  it('keeps bech32 addresses in lower case: an upper-case one is the same account', () => {
    const address = btcAddress(btcKey(3), 'p2wpkh')
    expect(parseAccountId(btcAccount(address.toUpperCase())).address).toBe(address)
  })

  it('checks a Bitcoin address against its chain: a testnet address is not a mainnet account', () => {
    const testnet = btcAddress(btcKey(4, true, networks.testnet), 'p2wpkh', networks.testnet)
    expect(parseAccountId(btcAccount(testnet, BTC_TESTNET)).address).toBe(testnet)
    expectThrowsKilnError(() => parseAccountId(btcAccount(testnet)), 'InvalidAccountIdError', /Bitcoin mainnet/)
    expectThrowsKilnError(() => parseAccountId(btcAccount(btcAddress(btcKey(4), 'p2pkh'), BTC_TESTNET)), 'InvalidAccountIdError', /testnet/)
  })

  it('refuses Bitcoin addresses that cannot sign messages (P2WSH, P2TR)', () => {
    const p2wsh = 'bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3'
    const p2tr = 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0'
    for (const address of [p2wsh, p2tr]) expectThrowsKilnError(() => parseAccountId(btcAccount(address)), 'InvalidAccountIdError', /cannot sign|only P2PKH/)
  })

  it('refuses malformed account ids with InvalidAccountIdError naming the value', () => {
    const bad = [
      '',
      'eip155:1',
      'eip155',
      `eip155:1:${lower}:extra`,
      `eip155::${lower}`,
      `:1:${lower}`,
      `EIP155:1:${lower}`,
      `eip155:01:${lower}`,
      `eip155:one:${lower}`,
      'eip155:1:0x1234',
      `eip155:1:${lower}00`,
      `eip155:1:${lower.slice(0, -1)}g`,
      `eip155:1:${lower.slice(2)}`,
      `eip155:1: ${lower}`,
      `${lower}@eip155`,
      `${lower}@eip155:1@x`,
      `bip122:${BTC_MAINNET}:1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMX`,
      `bip122:${BTC_MAINNET}:bc1qnotanaddress`,
      `bip122:${BTC_MAINNET}:${btcAddress(btcKey(5), 'p2wpkh').replace('q', 'Q')}`,
      'x'.repeat(MAX_ACCOUNT_ID_LENGTH + 1)
    ]
    for (const input of bad) {
      const err = expectThrowsKilnError(() => parseAccountId(input), 'InvalidAccountIdError')
      expect(err.message).toContain(JSON.stringify(input.slice(0, 30)).slice(1, -1))
    }
    expectThrowsKilnError(() => parseAccountId(42 as unknown as string), 'InvalidAccountIdError', /string/)
  })

  it('refuses chains it cannot verify with UnsupportedChainError', () => {
    expectThrowsKilnError(() => parseAccountId('cosmos:cosmoshub-3:cosmos1t2uflqwqe0fsj0shcfkrvpukewcw40yjj6hdc0'), 'UnsupportedChainError', /cosmos/)
    expectThrowsKilnError(() => parseAccountId('bip122:12a765e31ffd4059bada1e25190f6e98:LM2WMpR1Rp6j3Sa59cMXMs1SPzj9eXpGc1'), 'UnsupportedChainError', /12a765e31ffd4059bada1e25190f6e98/)
  })
})
