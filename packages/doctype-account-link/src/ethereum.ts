import { InvalidSignatureError } from '@kiln/interface'
import { keccak_256 } from '@noble/hashes/sha3'
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils'
import { recoverKey } from './recover.js'

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/
const HEX_SIGNATURE = /^0x[0-9a-fA-F]{130}$/

/** True when `address` is `0x` and 40 hex digits, in any case. */
export function isHexAddress (address: string): boolean {
  return HEX_ADDRESS.test(address)
}

/** The EIP-55 mixed-case checksum form of a hex address (`0x` and 40 hex digits). */
export function toChecksumAddress (address: string): string {
  const lower = address.slice(2).toLowerCase()
  const hash = bytesToHex(keccak_256(utf8ToBytes(lower)))
  let out = '0x'
  for (let i = 0; i < lower.length; i++) {
    // a letter is upper-case when the matching nibble of the hash of the lower-case address is 8 or more
    out += parseInt(hash[i]!, 16) >= 8 ? lower[i]!.toUpperCase() : lower[i]!
  }
  return out
}

/**
 * True when a hex address carries no checksum (all lower or all upper case) or a correct EIP-55 one. A mixed-case
 * address with a wrong checksum is almost certainly a typo.
 */
export function hasValidChecksum (address: string): boolean {
  const digits = address.slice(2)
  if (digits === digits.toLowerCase() || digits === digits.toUpperCase()) return true
  return toChecksumAddress(address) === address
}

/** The EIP-191 `personal_sign` hash of a text: keccak256("\x19Ethereum Signed Message:\n" + byte length + bytes). */
export function ethereumMessageHash (message: string): Uint8Array {
  const bytes = utf8ToBytes(message)
  const prefix = utf8ToBytes(`\x19Ethereum Signed Message:\n${bytes.length}`)
  const data = new Uint8Array(prefix.length + bytes.length)
  data.set(prefix)
  data.set(bytes, prefix.length)
  return keccak_256(data)
}

/**
 * The lower-case address whose key made a `personal_sign` signature (`0x` ‖ r ‖ s ‖ v, 65 bytes, v 27/28 or 0/1)
 * over `message`. Throws `InvalidSignatureError` for a malformed signature, a high `s` or an unrecoverable key.
 */
export function recoverEthereumAddress (message: string, signature: string): string {
  if (!HEX_SIGNATURE.test(signature)) {
    throw new InvalidSignatureError(`An Ethereum signature must be 0x and 130 hex digits (r ‖ s ‖ v), got ${JSON.stringify(signature.slice(0, 140))}`, {
      details: { signature: signature.slice(0, 140) }
    })
  }
  const bytes = hexToBytes(signature.slice(2))
  const v = bytes[64]!
  if (![0, 1, 27, 28].includes(v)) {
    throw new InvalidSignatureError(`An Ethereum signature's v must be 27 or 28 (or 0 or 1), got ${v}`, { details: { signature } })
  }
  const publicKey = recoverKey(bytes.subarray(0, 64), v % 27, ethereumMessageHash(message), false, `The Ethereum signature ${signature.slice(0, 20)}…`)
  // the address is the last 20 bytes of keccak256 of the uncompressed key without its 0x04 prefix
  return '0x' + bytesToHex(keccak_256(publicKey.subarray(1)).subarray(12))
}
