import { UnsupportedChainError } from '@kiln/interface'
import { BITCOIN_NETWORKS, decodeBitcoinAddress } from './bitcoin.js'
import { InvalidAccountIdError } from './errors.js'
import { hasValidChecksum, isHexAddress } from './ethereum.js'

/** The chain namespaces whose account links Kiln can verify. */
export type AccountNamespace = 'eip155' | 'bip122'

/** A parsed CAIP-10 account id, its address in the one canonical spelling Kiln uses for it. */
export interface AccountId {
  namespace: AccountNamespace
  /** The CAIP-2 reference: the chain id for `eip155`, 32 hex digits of the genesis block hash for `bip122`. */
  reference: string
  /** The CAIP-2 chain id, `namespace:reference`. */
  chainId: string
  /** Lower case for Ethereum and bech32 addresses; base58 addresses as they are (their case is significant). */
  address: string
  /** The CAIP-10 form, `chainId:address`. */
  caip10: string
  /** The legacy form Ceramic keeps in a link's controllers, `address@chainId`. */
  legacy: string
}

/** The longest CAIP-10 id: an 8-character namespace, a 32-character reference and a 128-character address. */
export const MAX_ACCOUNT_ID_LENGTH = 8 + 1 + 32 + 1 + 128

const NAMESPACE = /^[-a-z0-9]{3,8}$/
const REFERENCE = /^[-_a-zA-Z0-9]{1,32}$/
const ADDRESS = /^[-.%a-zA-Z0-9]{1,128}$/
const EIP155_REFERENCE = /^[1-9][0-9]*$/

function quote (value: string): string {
  return JSON.stringify(value.length > 200 ? value.slice(0, 200) + '…' : value)
}

function invalid (input: string, reason: string): never {
  throw new InvalidAccountIdError(`Invalid CAIP-10 account id ${quote(input)}: ${reason}`, { details: { value: input.slice(0, 200) } })
}

/** Splits the CAIP-10 form `ns:ref:address` or the legacy form `address@ns:ref`. */
function split (input: string): [string, string, string] {
  if (input.includes('@')) {
    const [address, chainId, ...rest] = input.split('@')
    const [namespace, reference, ...more] = (chainId ?? '').split(':')
    if (rest.length > 0 || more.length > 0 || reference === undefined) invalid(input, 'the legacy form is address@namespace:reference')
    return [namespace!, reference, address!]
  }
  const [namespace, reference, address, ...rest] = input.split(':')
  if (address === undefined || rest.length > 0) invalid(input, 'expected namespace:reference:address, e.g. eip155:1:0xab…')
  return [namespace!, reference!, address]
}

function canonicalAddress (input: string, namespace: string, reference: string, address: string): string {
  if (namespace === 'eip155') {
    if (!EIP155_REFERENCE.test(reference)) invalid(input, `an eip155 reference is a decimal chain id, got ${quote(reference)}`)
    if (!isHexAddress(address)) invalid(input, 'an Ethereum address is 0x and 40 hex digits')
    if (!hasValidChecksum(address)) invalid(input, 'the mixed-case address has a wrong EIP-55 checksum (a typo?); give it checksummed or in lower case')
    // one spelling for one account, as Ceramic does: the same account always gives the same link document
    return address.toLowerCase()
  }
  if (namespace === 'bip122') {
    const chain = BITCOIN_NETWORKS[reference]
    if (chain === undefined) {
      throw new UnsupportedChainError(`Account links on the bip122 chain ${reference} are not supported: only Bitcoin's mainnet, testnets, signet and regtest are (${quote(input)})`, {
        details: { chainId: `bip122:${reference}`, value: input }
      })
    }
    const decoded = decodeBitcoinAddress(address, chain.network)
    if (decoded === undefined) invalid(input, `not a valid address on ${chain.name}`)
    if (decoded.type === undefined) {
      invalid(input, 'only P2PKH, P2SH-P2WPKH and P2WPKH addresses can sign messages (BIP-137); this one pays to another script')
    }
    return decoded.address
  }
  throw new UnsupportedChainError(`Account links on chain namespace ${quote(namespace)} are not supported: only eip155 and bip122 are (${quote(input)})`, {
    details: { chainId: `${namespace}:${reference}`, value: input }
  })
}

/**
 * Parses a CAIP-10 account id (`eip155:1:0xab…`, `bip122:000000000019d6689c085ae165831e93:1A1z…`; the legacy
 * `address@chainId` form is read too) and checks its address on its chain. Ethereum addresses may be checksummed or
 * lower case. Throws `InvalidAccountIdError` for bad input, `UnsupportedChainError` for a chain Kiln cannot verify.
 */
export function parseAccountId (input: string): AccountId {
  if (typeof input !== 'string') {
    throw new InvalidAccountIdError(`A CAIP-10 account id must be a string, got ${input === null ? 'null' : typeof input}`, { details: { found: typeof input } })
  }
  if (input.length > MAX_ACCOUNT_ID_LENGTH) invalid(input, `longer than ${MAX_ACCOUNT_ID_LENGTH} characters`)
  const [namespace, reference, address] = split(input)
  if (!NAMESPACE.test(namespace)) invalid(input, 'the namespace must be 3 to 8 characters of a-z, 0-9 and -')
  if (!REFERENCE.test(reference)) invalid(input, 'the reference must be 1 to 32 characters of a-z, A-Z, 0-9, - and _')
  if (!ADDRESS.test(address)) invalid(input, 'the address must be 1 to 128 characters of a-z, A-Z, 0-9, -, . and %')
  const canonical = canonicalAddress(input, namespace, reference, address)
  const chainId = `${namespace}:${reference}`
  return {
    namespace: namespace as AccountNamespace,
    reference,
    chainId,
    address: canonical,
    caip10: `${chainId}:${canonical}`,
    legacy: `${canonical}@${chainId}`
  }
}
