import { StorageError, type StorageFactory } from '@kiln/interface'
import { abstractLevelStorage, type Database, type LevelStorageFaults } from '@kiln/storage-level/abstract'
import { BrowserLevel } from 'browser-level'

/** Options of {@link browserStorage}. */
export interface BrowserStorageInit {
  /** Name of the IndexedDB database (and of its one object store), e.g. `kiln`. Created on `start()` when missing. */
  name: string
  /** Prefix of the IndexedDB database's name (browser-level's `prefix`, default `level-`). */
  prefix?: string
  /** The most index records one `query()` call examines (default 10,000), as in `levelStorage`. */
  maxScan?: number
  /** For tests only: failures to inject into the writes. */
  faults?: LevelStorageFaults
}

/** Kiln storage in the browser's IndexedDB database `init.name`. Needs `indexedDB` (a browser, or a web worker). */
export function browserStorage (init: BrowserStorageInit): StorageFactory {
  if (typeof init?.name !== 'string' || init.name === '') {
    throw new StorageError('browserStorage needs a database name: browserStorage({ name: \'kiln\' })', { details: { name: init?.name } })
  }
  const { name, prefix } = init
  return abstractLevelStorage({
    path: `${prefix ?? 'level-'}${name}`,
    kind: 'IndexedDB',
    faults: init.faults,
    maxScan: init.maxScan,
    open: async () => await openBrowserLevel(name, prefix)
  })
}

async function openBrowserLevel (name: string, prefix: string | undefined): Promise<Database> {
  if (typeof indexedDB === 'undefined') {
    throw new StorageError(`Cannot open the IndexedDB database ${name}: this platform has no indexedDB (browserStorage runs in a browser)`, {
      details: { operation: 'open', path: name }
    })
  }
  const db = new BrowserLevel<Uint8Array, Uint8Array>(name, {
    keyEncoding: 'view', valueEncoding: 'view', ...(prefix === undefined ? {} : { prefix })
  })
  try {
    await db.open()
  } catch (err) {
    throw new StorageError(`Cannot open the IndexedDB database ${name}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err, details: { operation: 'open', path: name }
    })
  }
  // browser-level stores keys in IndexedDB's binary order, the byte order the key layout is designed for.
  return db as unknown as Database
}
