import { secp256k1 } from '@noble/curves/secp256k1'
import { keccak_256 } from '@noble/hashes/sha3'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils'

/** The EIP-55 mixed-case checksum form of a hex address (`0x` and 40 hex digits, in any case). */
export function checksumAddress (address: string): string {
  const lower = address.slice(2).toLowerCase()
  const hash = bytesToHex(keccak_256(utf8ToBytes(lower)))
  let out = '0x'
  // a letter is upper-case when the matching nibble of the hash of the lower-case address is 8 or more
  for (let i = 0; i < lower.length; i++) out += parseInt(hash[i]!, 16) >= 8 ? lower[i]!.toUpperCase() : lower[i]!
  return out
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
 * The lower-case address of a secp256k1 public key, compressed or not: the last 20 bytes of keccak256 of the
 * uncompressed key without its 0x04 prefix.
 */
export function ethereumAddressOfKey (publicKey: Uint8Array): string {
  const point = publicKey.length === 65 && publicKey[0] === 0x04 ? publicKey : secp256k1.ProjectivePoint.fromHex(publicKey).toRawBytes(false)
  return '0x' + bytesToHex(keccak_256(point.subarray(1)).subarray(12))
}
