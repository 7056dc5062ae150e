import { crypto } from 'bitcoinjs-lib'

/** Bitcoin's block Merkle trees are at most this deep here: 2^32 transactions is far beyond any block. */
export const MAX_BRANCH_LENGTH = 32

/**
 * The Merkle root reached from `leaf` (a txid, internal byte order) through `branch` at position `index`: at each level
 * the sibling goes on the left when that bit of `index` is 1, and the pair is double-SHA256 hashed.
 */
export function merkleRootFromBranch (leaf: Uint8Array, branch: readonly Uint8Array[], index: number): Uint8Array {
  let hash = leaf
  let position = index
  for (const sibling of branch) {
    hash = position % 2 === 1 ? hashPair(sibling, hash) : hashPair(hash, sibling)
    position = Math.floor(position / 2)
  }
  return hash
}

/** The branch from the transaction at `index` of `hashes` (txids, internal byte order) to the block's Merkle root. */
export function merkleBranch (hashes: readonly Uint8Array[], index: number): Uint8Array[] {
  const branch: Uint8Array[] = []
  let level = [...hashes]
  let position = index
  while (level.length > 1) {
    // Bitcoin pairs an odd last hash with itself.
    if (level.length % 2 === 1) level.push(level[level.length - 1]!)
    branch.push(level[position % 2 === 1 ? position - 1 : position + 1]!)
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) next.push(hashPair(level[i]!, level[i + 1]!))
    level = next
    position = Math.floor(position / 2)
  }
  return branch
}

/** The Merkle root of `hashes` (internal byte order), as in a block header. */
export function merkleRootOf (hashes: readonly Uint8Array[]): Uint8Array {
  return merkleRootFromBranch(hashes[0]!, merkleBranch(hashes, 0), 0)
}

function hashPair (left: Uint8Array, right: Uint8Array): Uint8Array {
  const pair = new Uint8Array(64)
  pair.set(left, 0)
  pair.set(right, 32)
  return crypto.hash256(pair)
}
