import { KilnError } from '@kiln/interface'

/** An option of the warehouse mirror, the archive or a restore that cannot be used (a bad URL, schema name, number). */
export class BackupOptionError extends KilnError {
  override name = 'BackupOptionError'
}

/** The warehouse (PostgreSQL) could not be reached or answered with an error; the same call may succeed later. */
export class WarehouseUnavailableError extends KilnError {
  override name = 'WarehouseUnavailableError'
}

/**
 * A warehouse row a restore refuses: a block whose bytes do not hash to its CID, a log missing an entry or a block, or a
 * commit the apply pipeline refuses (a signature that does not verify, a broken link). `details` name the `table`, the
 * row's `key` and the `docId`; nothing of that document is imported.
 */
export class TamperedWarehouseRowError extends KilnError {
  override name = 'TamperedWarehouseRowError'
}

/** A CAR archive directory a restore or a backup cannot use: a malformed manifest, a missing CAR, a tip that differs. */
export class InvalidArchiveError extends KilnError {
  override name = 'InvalidArchiveError'
}
