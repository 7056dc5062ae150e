import { InvalidSignatureError } from '@kiln/interface'
import { sha256 } from '@noble/hashes/sha2'
import { utf8ToBytes } from '@noble/hashes/utils'
import { address as bitcoinAddress, networks, payments, type Network } from 'bitcoinjs-lib'
import { recoverKey } from './recover.js'

/**
 * The Bitcoin networks Kiln verifies, by CAIP-2 `bip122` reference (the first 32 hex digits of the genesis block
 * hash). Other `bip122` chains (Litecoin, Dogecoin, …) have other address formats and are not supported.
 */
export const BITCOIN_NETWORKS: Readonly<Record<string, { name: string, network: Network }>> = Object.freeze({
  '000000000019d6689c085ae165831e93': { name: 'Bitcoin mainnet', network: networks.bitcoin },
  '000000000933ea01ad0ee984209779ba': { name: 'Bitcoin testnet3', network: networks.testnet },
  '00000000da84f2bafbbc53dee25a72ae': { name: 'Bitcoin testnet4', network: networks.testnet },
  '00000008819873e925422c1ff0f99f7c': { name: 'Bitcoin signet', network: networks.testnet },
  '0f9188f13cb7b2c71f2a335e3a4fc328': { name: 'Bitcoin regtest', network: networks.regtest }
})

/** The kinds of Bitcoin address whose key can sign a BIP-137 message: single-key, with a public key hash. */
export type BitcoinAddressType = 'p2pkh' | 'p2sh' | 'p2wpkh'

/** Decodes a base58check address of `network`: P2PKH or P2SH by version byte, undefined for anything else. */
function decodeBase58 (address: string, network: Network): BitcoinAddressType | undefined {
  let decoded: { version: number, hash: Uint8Array }
  try {
    decoded = bitcoinAddress.fromBase58Check(address)
  } catch {
    return undefined
  }
  if (decoded.hash.length !== 20) return undefined
  if (decoded.version === network.pubKeyHash) return 'p2pkh'
  if (decoded.version === network.scriptHash) return 'p2sh'
  return undefined
}

/**
 * Decodes a Bitcoin address of `network` and returns its canonical spelling (bech32 lower case, base58 unchanged) and
 * type; `undefined` when it is not a valid address of that network, `type` undefined for a segwit program that cannot
 * sign messages (P2WSH, P2TR, …).
 */
export function decodeBitcoinAddress (address: string, network: Network): { address: string, type: BitcoinAddressType | undefined } | undefined {
  const base58 = decodeBase58(address, network)
  if (base58 !== undefined) return { address, type: base58 }
  let segwit: { version: number, prefix: string, data: Uint8Array }
  try {
    // checks the bech32 (v0) or bech32m (v1+) checksum, and refuses mixed case
    segwit = bitcoinAddress.fromBech32(address)
  } catch {
    return undefined
  }
  if (segwit.prefix !== network.bech32 || segwit.version > 16 || segwit.data.length < 2 || segwit.data.length > 40) return undefined
  if (segwit.version === 0 && segwit.data.length !== 20 && segwit.data.length !== 32) return undefined
  return { address: address.toLowerCase(), type: segwit.version === 0 && segwit.data.length === 20 ? 'p2wpkh' : undefined }
}

/** Bitcoin's CompactSize encoding of a length. */
function compactSize (n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.of(n)
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >>> 8)
  return Uint8Array.of(0xfe, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24)
}

/** The BIP-137 hash of a text: double SHA-256 of "\x18Bitcoin Signed Message:\n" ‖ CompactSize(length) ‖ bytes. */
export function bitcoinMessageHash (message: string): Uint8Array {
  const bytes = utf8ToBytes(message)
  const parts = [utf8ToBytes('\x18Bitcoin Signed Message:\n'), compactSize(bytes.length), bytes]
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    data.set(part, at)
    at += part.length
  }
  return sha256(sha256(data))
}

/** Decodes a base64 signature strictly: standard alphabet, padded, no other spelling of the same bytes. */
function decodeBase64Signature (signature: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature) || signature.length % 4 !== 0) return undefined
  const bytes = Uint8Array.from(Buffer.from(signature, 'base64'))
  return Buffer.from(bytes).toString('base64') === signature ? bytes : undefined
}

/**
 * The addresses of `network` whose key made a BIP-137 signature (base64 of header ‖ r ‖ s, 65 bytes) over `message`.
 * The header (27–42) gives the recovery id and whether the key is compressed. An uncompressed key has one address
 * (P2PKH); a compressed key has three (P2PKH, P2SH-P2WPKH, P2WPKH), all returned whatever the header's address flag
 * says, because wallets disagree on it (Electrum signs segwit addresses with a P2PKH header). Throws
 * `InvalidSignatureError` for a malformed or unrecoverable signature.
 */
export function bitcoinSignerAddresses (message: string, signature: string, network: Network): string[] {
  const bytes = decodeBase64Signature(signature)
  if (bytes === undefined || bytes.length !== 65) {
    throw new InvalidSignatureError(`A Bitcoin message signature must be the base64 of 65 bytes, got ${JSON.stringify(signature.slice(0, 120))}`, {
      details: { signature: signature.slice(0, 120) }
    })
  }
  const header = bytes[0]!
  if (header < 27 || header > 42) {
    throw new InvalidSignatureError(`A Bitcoin message signature's header byte must be 27 to 42 (BIP-137), got ${header}`, { details: { signature } })
  }
  const compressed = header >= 31
  const publicKey = recoverKey(bytes.subarray(1), (header - 27) & 3, bitcoinMessageHash(message), compressed, `The Bitcoin signature ${signature.slice(0, 16)}…`)
  const p2pkh = payments.p2pkh({ pubkey: publicKey, network }).address!
  if (!compressed) return [p2pkh]
  const p2wpkh = payments.p2wpkh({ pubkey: publicKey, network })
  return [p2pkh, payments.p2sh({ redeem: p2wpkh, network }).address!, p2wpkh.address!]
}
