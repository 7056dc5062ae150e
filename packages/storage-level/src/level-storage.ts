import { mkdir } from 'node:fs/promises'
import { StorageError, type StorageFactory } from '@kiln/interface'
import { ClassicLevel } from 'classic-level'
import type { Database } from './database.js'
import { abstractLevelStorage, describe, hasCode, type LevelStorageFaults } from './store.js'

export type { LevelStorageFaults } from './store.js'

/** Options of {@link levelStorage}. */
export interface LevelStorageInit {
  /** Directory of the LevelDB database; created (with its parents) on `start()` when missing. */
  path: string
  /** For tests only: failures to inject into the writes, to show what a failed write leaves behind. */
  faults?: LevelStorageFaults
  /**
   * The most index records one `query()` call examines (default 10,000): a scan that reaches it returns a short page
   * with a cursor to go on from, and a count or a content sort that would need more is a `QueryTooBroadError`.
   */
  maxScan?: number
}

/** Kiln storage on LevelDB (classic-level) in the directory `init.path`. */
export function levelStorage (init: LevelStorageInit): StorageFactory {
  if (typeof init?.path !== 'string' || init.path === '') {
    throw new StorageError('levelStorage needs a directory: levelStorage({ path: \'./kiln-data\' })', { details: { path: init?.path } })
  }
  const { path } = init
  if (init.maxScan !== undefined && (!Number.isSafeInteger(init.maxScan) || init.maxScan < 1)) {
    throw new StorageError(`levelStorage's maxScan must be a positive integer, not ${String(init.maxScan)}`, { details: { maxScan: init.maxScan } })
  }
  return abstractLevelStorage({
    path,
    kind: 'LevelDB',
    faults: init.faults,
    maxScan: init.maxScan,
    open: async () => await openClassicLevel(path)
  })
}

/** Creates the directory and opens LevelDB in it, or says why it cannot. */
async function openClassicLevel (path: string): Promise<Database> {
  try {
    await mkdir(path, { recursive: true })
  } catch (err) {
    throw new StorageError(`Cannot create the directory ${path} for LevelDB: ${describe(err)}`, { cause: err, details: { operation: 'open', path } })
  }
  const db: Database = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: true })
  try {
    await db.open()
  } catch (err) {
    const reason = hasCode(err, 'LEVEL_LOCKED')
      ? 'it is locked: another levelStorage (in this or another process) already has it open; LevelDB allows one at a time'
      : describe(err)
    throw new StorageError(`Cannot open the LevelDB store at ${path}: ${reason}`, { cause: err, details: { operation: 'open', path } })
  }
  return db
}
