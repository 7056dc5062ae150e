import { StorageError } from '@kiln/interface'
import type { Logger } from '@kiln/interface'
import type { Database, Operation } from './database.js'
import { LAYOUT_KEY, LAYOUT_VERSION } from './key-layout.js'
import { migrateFromLayout1 } from './migrate-layout-1.js'
import { migrateFromLayout2 } from './migrate-layout-2.js'

/** What {@link openLayout} needs besides the database. */
export interface OpenLayoutOptions {
  path: string
  logger?: Logger
  /** Writes one batch (the store's write path, so injected faults reach migrations too). */
  write: (operations: Operation[]) => Promise<void>
}

/**
 * Makes sure the database holds layout {@link LAYOUT_VERSION}: writes it into a new database, migrates a layout-1 or
 * layout-2 database in place (1 → 2 → 3), and refuses any other layout with a StorageError.
 */
export async function openLayout (db: Database, options: OpenLayoutOptions): Promise<void> {
  const { path, logger, write } = options
  const stored = await db.get(LAYOUT_KEY)
  // Layout 1 wrote its version on first open, so a database without one has never been written.
  if (stored === undefined) {
    await write([{ type: 'put', key: LAYOUT_KEY, value: Uint8Array.of(LAYOUT_VERSION) }])
    return
  }
  let version = stored.byteLength === 1 ? stored[0] : undefined
  if (version === LAYOUT_VERSION) return
  if (version === 1) {
    logger?.info({ path }, 'migrating the LevelDB store from key layout 1 to 2')
    const documents = await migrateFromLayout1(db, path, write)
    logger?.info({ path, documents }, 'migrated the LevelDB store from key layout 1 to 2')
    version = 2
  }
  if (version === 2) {
    logger?.info({ path }, 'migrating the LevelDB store from key layout 2 to 3: indexing its documents for queries')
    const documents = await migrateFromLayout2(db, { path, logger, write, now: Date.now() })
    logger?.info({ path, documents }, 'migrated the LevelDB store from key layout 2 to 3: indexed the documents that had no index record')
    return
  }
  const shown = Array.from(stored).join('.')
  const why = version !== undefined && version > LAYOUT_VERSION
    ? `a newer version of @kiln/storage-level wrote it; this version reads layout ${LAYOUT_VERSION} and migrates layouts 1 and 2`
    : `this version reads layout ${LAYOUT_VERSION} and migrates layouts 1 and 2`
  throw new StorageError(`The LevelDB store at ${path} has key layout ${shown}: ${why}`, { details: { operation: 'open', path, layout: shown } })
}
