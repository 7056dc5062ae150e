import type { AbstractLevel } from 'abstract-level'

/**
 * The database as this package opens it: any abstract-level database (classic-level on disk, browser-level in
 * IndexedDB) with binary keys and values.
 */
export type Database = AbstractLevel<string | Uint8Array, Uint8Array, Uint8Array>

/** One write of a LevelDB batch. */
export type Operation = { type: 'put', key: Uint8Array, value: Uint8Array } | { type: 'del', key: Uint8Array }
