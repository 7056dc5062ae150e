/**
 * Kiln's embedded storage on LevelDB (classic-level): blocks by CID, document heads, per-document logs and commit
 * indexes, checkpoints, anchor-status records, pins and the query index in one directory, written atomically per batch.
 * @packageDocumentation
 */
export { levelStorage, type LevelStorageInit, type LevelStorageFaults } from './level-storage.js'
