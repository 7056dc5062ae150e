/**
 * Kiln storage in the browser: IndexedDB through browser-level, with the key layout, atomic batches, migrations and
 * query index of `@kiln/storage-level` (its abstract-level core), so the store compliance suite holds for both.
 * @packageDocumentation
 */
export { browserStorage, type BrowserStorageInit } from './browser-storage.js'
