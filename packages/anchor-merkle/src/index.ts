/**
 * Merkle batching for anchors: many `(docId, tip)` requests become one root to put on a chain, each document gets its
 * path from the root, and a verifier walks a path back to the tip.
 * @packageDocumentation
 */
export {
  buildMerkleTree,
  verifyMerklePath,
  MAX_PATH_DEPTH,
  type MerkleLeaf,
  type MerkleTree,
  type BuildOptions,
  type GetBlock
} from './tree.js'
export { InvalidMerkleBatchError, UnknownMerkleLeafError } from './errors.js'
/** The request queue every anchor service shares: PENDING, REPLACED, batches on a timer or on request, and `stop()`. */
export { BatchingAnchorService, anchoredEvents, type BatchingServiceInit } from './batching-service.js'
