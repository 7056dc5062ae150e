/**
 * The Kiln node: `createNode()` assembles doctype, storage, anchor and network plugins given explicitly and runs the
 * apply pipeline — decode, check document and `prev`, verify the signer, apply the doctype, resolve conflicts, write
 * atomically, then tell watchers, the anchor service and the network.
 * @packageDocumentation
 */
export { createNode, type KilnNode, type NodeInit, type WriteOptions, type DocSnapshot, type LogItem } from './node.js'
export { pickWinningBranch, compareBytes, type BranchChoice } from './conflict.js'
export { createDoctypeRegistry, type DoctypeRegistry } from './registry.js'
export { memoryStorage } from './memory-storage.js'
export { readDocumentCar, EXPORT_FORMAT, MAX_IMPORT_BYTES, MAX_IMPORT_BLOCKS, type ExportManifest, type ExportedDocument, type ExportedCommit } from './export.js'
export {
  MAX_FETCHED_COMMITS, MAX_SYNCS_IN_FLIGHT, MAX_PEER_BLOCK_BYTES, BLOCK_FETCH_TIMEOUT_MS, SYNC_DEADLINE_MS, DEFAULT_SYNC_TIMEOUT_MS
} from './network-sync.js'
