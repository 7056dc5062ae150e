import { InvalidSignatureError } from '@kiln/interface'
import { checksumAddress, ethereumAddressOfKey, ethereumMessageHash } from '@kiln/signing'
import { hexToBytes } from '@noble/hashes/utils'
import { recoverKey } from './recover.js'

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/
const HEX_SIGNATURE = /^0x[0-9a-fA-F]{130}$/

/** True when `address` is `0x` and 40 hex digits, in any case. */
export function isHexAddress (address: string): boolean {
  return HEX_ADDRESS.test(address)
}

/**
 * True when a hex address carries no checksum (all lower or all upper case) or a correct EIP-55 one. A mixed-case
 * address with a wrong checksum is almost certainly a typo.
 */
export function hasValidChecksum (address: string): boolean {
  const digits = address.slice(2)
  if (digits === digits.toLowerCase() || digits === digits.toUpperCase()) return true
  return checksumAddress(address) === address
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
  return ethereumAddressOfKey(publicKey)
}

export { ethereumMessageHash }
