import type { ClassicLevel } from 'classic-level'

/** The LevelDB database as this package opens it: binary keys and values. */
export type Database = ClassicLevel<Uint8Array, Uint8Array>

/** One write of a LevelDB batch. */
export type Operation = { type: 'put', key: Uint8Array, value: Uint8Array } | { type: 'del', key: Uint8Array }
