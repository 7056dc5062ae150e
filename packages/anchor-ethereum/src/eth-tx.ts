import { InvalidAnchorProofError } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { DAG_CBOR } from '@kiln/codec'

/** Multicodec of an Ethereum transaction (`eth-tx`): the codec of a proof's `txHash` CID. */
export const ETH_TX_CODEC = 0x93

/** Multihash code of keccak-256: an Ethereum transaction hash is one. */
export const KECCAK_256 = 0x1b

const SHA2_256 = 0x12

/** Wraps a transaction hash (`0x` + 64 hex digits) as the CID a proof names it by: eth-tx, keccak-256. */
export function txHashToCID (txHash: string): CID {
  return CID.create(1, ETH_TX_CODEC, createDigest(KECCAK_256, hexToBytes(txHash, 32, 'transaction hash')))
}

/** The transaction hash (`0x…`) a proof's `txHash` CID wraps; `InvalidAnchorProofError` for any other kind of CID. */
export function cidToTxHash (cid: CID): string {
  if (cid.code !== ETH_TX_CODEC || cid.multihash.code !== KECCAK_256 || cid.multihash.digest.length !== 32) {
    throw new InvalidAnchorProofError(`txHash ${cid.toString()} is not an Ethereum transaction CID (codec eth-tx 0x93, keccak-256 multihash of 32 bytes)`, {
      details: { txHash: cid.toString() }
    })
  }
  return bytesToHex(cid.multihash.digest)
}

/** The 32 bytes that go on chain for a Merkle root: its sha2-256 digest. The root must be a dag-cbor, sha2-256 CID. */
export function rootToBytes32 (root: CID): string {
  if (root.code !== DAG_CBOR || root.multihash.code !== SHA2_256 || root.multihash.digest.length !== 32) {
    throw new InvalidAnchorProofError(`root ${root.toString()} is not a dag-cbor CID with a sha2-256 hash`, { details: { root: root.toString() } })
  }
  return bytesToHex(root.multihash.digest)
}

/** The Merkle root CID (dag-cbor, sha2-256) whose digest is `bytes32` (`0x` + 64 hex digits). */
export function bytes32ToRoot (bytes32: string): CID {
  return CID.createV1(DAG_CBOR, createDigest(SHA2_256, hexToBytes(bytes32, 32, 'root')))
}

function hexToBytes (hex: string, length: number, what: string): Uint8Array {
  if (typeof hex !== 'string' || !new RegExp(`^0x[0-9a-fA-F]{${length * 2}}$`).test(hex)) {
    throw new InvalidAnchorProofError(`a ${what} must be 0x and ${length * 2} hex digits, got ${JSON.stringify(hex)}`, { details: { value: String(hex) } })
  }
  return Uint8Array.from(Buffer.from(hex.slice(2), 'hex'))
}

function bytesToHex (bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex')}`
}
