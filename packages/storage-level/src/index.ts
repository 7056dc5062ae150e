/**
 * Kiln's embedded storage on LevelDB (classic-level): blocks by CID, document states, pins and the per-document log
 * index in one directory, written atomically per batch.
 * @packageDocumentation
 */
export { levelStorage, type LevelStorageInit } from './level-storage.js'
