/**
 * Kiln's store on any abstract-level database, without classic-level or node:fs: the key layout, batches, migrations
 * and query index that `levelStorage` runs on LevelDB, for other engines (`@kiln/storage-browser`: IndexedDB).
 * @packageDocumentation
 */
export { abstractLevelStorage, type AbstractLevelStorageInit, type LevelStorageFaults } from './store.js'
export type { Database, Operation } from './database.js'
