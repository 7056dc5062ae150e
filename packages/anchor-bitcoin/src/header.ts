import { Block, crypto } from 'bitcoinjs-lib'
import { InvalidAnchorProofError } from '@kiln/interface'

/** An 80-byte Bitcoin block header, parsed. Hashes are in Bitcoin's internal (little-endian) byte order. */
export interface BlockHeader {
  version: number
  prevHash: Uint8Array
  merkleRoot: Uint8Array
  /** Unix seconds. */
  timestamp: number
  bits: number
  nonce: number
  /** Double SHA-256 of the 80 bytes, internal byte order. */
  hash: Uint8Array
  /** The block hash as Bitcoin Core shows it: hex of the reversed hash. */
  id: string
}

/** Parses exactly 80 bytes as a block header; throws `InvalidAnchorProofError` otherwise. */
export function parseHeader (bytes: Uint8Array): BlockHeader {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 80) {
    throw new InvalidAnchorProofError(`a Bitcoin block header is 80 bytes, got ${bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes}`)
  }
  const block = Block.fromBuffer(bytes)
  const hash = crypto.hash256(bytes)
  return {
    version: block.version,
    prevHash: block.prevHash!,
    merkleRoot: block.merkleRoot!,
    timestamp: block.timestamp,
    bits: block.bits,
    nonce: block.nonce,
    hash,
    id: displayHex(hash)
  }
}

/**
 * Decodes a compact target (`nBits`) as Bitcoin Core's `arith_uint256::SetCompact` does; a negative, overflowing or
 * zero target is `undefined`, which no header can meet.
 */
export function targetFromBits (bits: number): bigint | undefined {
  const size = bits >>> 24
  let word = BigInt(bits & 0x007fffff)
  if (word === 0n) return undefined
  if ((bits & 0x00800000) !== 0) return undefined
  if (size > 34 || (word > 0xffn && size > 33) || (word > 0xffffn && size > 32)) return undefined
  word = size <= 3 ? word >> BigInt(8 * (3 - size)) : word << BigInt(8 * (size - 3))
  return word === 0n ? undefined : word
}

/** A hash in internal byte order as the number proof of work compares with the target. */
export function hashToNumber (hash: Uint8Array): bigint {
  let n = 0n
  for (let i = hash.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(hash[i]!)
  return n
}

/** Whether the header's hash is at most the target its `bits` claim. */
export function meetsTarget (header: BlockHeader): boolean {
  const target = targetFromBits(header.bits)
  return target !== undefined && hashToNumber(header.hash) <= target
}

/** Hex of the reversed bytes: how Bitcoin shows txids and block hashes. */
export function displayHex (hash: Uint8Array): string {
  return Buffer.from(hash).reverse().toString('hex')
}

/** The internal byte order of a hash shown as hex (txid, block hash). */
export function fromDisplayHex (hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex').reverse())
}
