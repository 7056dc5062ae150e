import { KilnError } from '@kiln/interface'

/** A batch a Merkle tree cannot be built from: no leaves, two leaves with one key, a key that is not a string, a tip that is not a CID. */
export class InvalidMerkleBatchError extends KilnError {
  override name = 'InvalidMerkleBatchError'
}

/** A key asked of a Merkle tree that has no leaf with that key. */
export class UnknownMerkleLeafError extends KilnError {
  override name = 'UnknownMerkleLeafError'
}
