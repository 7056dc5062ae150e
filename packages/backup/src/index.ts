/**
 * Backup and restore of a Kiln node: `warehouseMirror()` copies every block, log entry and state to a PostgreSQL
 * warehouse as the node writes them; `archiveDocuments()` writes the pinned documents to a directory of CAR files,
 * incrementally; `restoreFromWarehouse()` and `restoreFromArchive()` rebuild a node from either, every commit through
 * its apply pipeline.
 * @packageDocumentation
 */
export { warehouseMirror, checkWarehouseUrl, type WarehouseMirrorInit, type WarehouseMirror, type MirrorStatus } from './mirror.js'
export { restoreFromWarehouse, DOCUMENT_EXPORT_FORMAT, type WarehouseSource, type RestoreOptions, type RestoreProgress, type RestoreTarget } from './warehouse-restore.js'
export {
  archiveDocuments, restoreFromArchive, decodeArchiveManifest, readArchiveManifest, archiveFileOf, ARCHIVE_FORMAT, ARCHIVE_MANIFEST,
  MAX_ARCHIVE_MANIFEST_BYTES, type ArchiveManifest, type ArchivedDocument, type BackupOptions, type BackupProgress, type BackupResult, type BackupSource
} from './archive.js'
export { rebuildWarehouseDocument, type DocumentRow, type EntryRow, type RebuiltDocument } from './warehouse-document.js'
export { DEFAULT_WAREHOUSE_SCHEMA, WAREHOUSE_VERSION, MIGRATIONS } from './warehouse-schema.js'
export { BackupOptionError, WarehouseUnavailableError, TamperedWarehouseRowError, InvalidArchiveError } from './errors.js'
