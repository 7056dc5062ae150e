import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DocID } from '@kiln/docid'
import type { KilnNodeApi } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { InvalidArchiveError } from './errors.js'
import type { RestoreOptions, RestoreProgress, RestoreTarget } from './warehouse-restore.js'

/** Marks the manifest of a Kiln CAR archive directory. */
export const ARCHIVE_FORMAT = 'kiln-backup-archive/1'

/** The manifest's file name in an archive directory. */
export const ARCHIVE_MANIFEST = 'manifest.json'

/** Largest manifest a restore reads, in bytes (about 200 bytes a document: a million documents). */
export const MAX_ARCHIVE_MANIFEST_BYTES = 256 * 1024 * 1024

/** One document of an archive: the tip its CAR holds and where the CAR is. */
export interface ArchivedDocument {
  /** The CID of the last commit in the CAR. */
  tip: string
  logLength: number
  /** The CAR's path, relative to the archive directory: `cars/<docId>.<tip>.car`. */
  file: string
  /** When this CAR was written (ISO 8601). */
  archivedAt: string
}

/** The manifest of an archive directory: each archived document's CAR. */
export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT
  documents: Record<string, ArchivedDocument>
}

/** How far a backup has come: documents examined out of those pinned, and how many CARs it wrote. */
export interface BackupProgress {
  done: number
  total: number
  written: number
}

/** What {@link archiveDocuments} did. */
export interface BackupResult extends BackupProgress {
  /** Pinned documents whose tip had not changed since the last run. */
  unchanged: number
}

/** Options of {@link archiveDocuments}. */
export interface BackupOptions {
  signal?: AbortSignal
  onProgress?: (progress: BackupProgress) => void
  /** Documents exported at once; 8 by default. */
  concurrency?: number
}

/** What a backup needs of the node: its pins, their states and their exports (a local node or an HTTP client). */
export type BackupSource = Pick<KilnNodeApi, 'listPins' | 'load' | 'exportDocument'>

/** Where the CAR of a document at a tip lives in an archive: `cars/<docId>.<tip>.car`. */
export function archiveFileOf (docId: string, tip: string): string {
  return `cars/${docId}.${tip}.car`
}

const ENTRY_FIELDS = new Set(['tip', 'logLength', 'file', 'archivedAt'])

const FILE = /^cars\/([a-z0-9]{1,200})\.([a-z0-9]{1,200})\.car$/

function fail (message: string, details: Record<string, unknown> = {}): never {
  throw new InvalidArchiveError(`Invalid archive manifest: ${message}`, { details })
}

/** Reads an archive manifest from its JSON text, checking every field; `InvalidArchiveError` naming what is wrong. */
export function decodeArchiveManifest (text: string): ArchiveManifest {
  if (text.length > MAX_ARCHIVE_MANIFEST_BYTES) fail(`it is over ${MAX_ARCHIVE_MANIFEST_BYTES} bytes`)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    fail(`not JSON (${(err as Error).message})`)
  }
  if (!isObject(value)) fail('not a JSON object')
  if (value.format !== ARCHIVE_FORMAT) fail(`its format is ${JSON.stringify(value.format)}, not ${ARCHIVE_FORMAT}`, { field: 'format' })
  if (!isObject(value.documents)) fail('documents is not an object', { field: 'documents' })
  // A field this version does not know is refused, not dropped: a later format has its own name.
  const extra = Object.keys(value).find((key) => key !== 'format' && key !== 'documents')
  if (extra !== undefined) fail(`it has the unknown field ${JSON.stringify(extra.slice(0, 100))}`, { field: extra.slice(0, 100) })
  const documents: Record<string, ArchivedDocument> = Object.create(null) as Record<string, ArchivedDocument>
  for (const [docId, entry] of Object.entries(value.documents)) {
    let id: DocID
    try {
      id = DocID.fromString(docId)
    } catch {
      fail(`${JSON.stringify(docId.slice(0, 100))} is not a DocID`, { field: 'documents', docId: docId.slice(0, 100) })
    }
    if (id.toString() !== docId) fail(`${docId} is not a DocID in its canonical form`, { field: 'documents', docId })
    if (!isObject(entry)) fail(`the entry of ${docId} is not an object`, { docId })
    const { tip, logLength, file, archivedAt } = entry
    const unknown = Object.keys(entry).find((key) => !ENTRY_FIELDS.has(key))
    if (unknown !== undefined) fail(`the entry of ${docId} has the unknown field ${JSON.stringify(unknown.slice(0, 100))}`, { docId, field: unknown.slice(0, 100) })
    if (typeof tip !== 'string') fail(`the tip of ${docId} is not a string`, { docId, field: 'tip' })
    let tipCid: CID
    try {
      tipCid = CID.parse(tip)
    } catch {
      fail(`the tip of ${docId} is not a CID`, { docId, field: 'tip' })
    }
    if (tipCid.toString() !== tip) fail(`the tip of ${docId} is not a CID in its canonical form`, { docId, field: 'tip' })
    if (typeof logLength !== 'number' || !Number.isSafeInteger(logLength) || logLength < 1) fail(`the logLength of ${docId} is not a positive integer`, { docId, field: 'logLength' })
    // The file is always where this package puts it: a manifest cannot make a restore read outside the archive.
    if (typeof file !== 'string' || file !== archiveFileOf(docId, tip) || !FILE.test(file)) fail(`the file of ${docId} is not ${archiveFileOf(docId, tip)}`, { docId, field: 'file' })
    if (typeof archivedAt !== 'string' || Number.isNaN(Date.parse(archivedAt))) fail(`the archivedAt of ${docId} is not a date`, { docId, field: 'archivedAt' })
    documents[docId] = { tip, logLength, file, archivedAt }
  }
  return { format: ARCHIVE_FORMAT, documents }
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The manifest of an archive directory; an empty one when the directory has none yet. */
export async function readArchiveManifest (dir: string): Promise<ArchiveManifest> {
  let text: string
  try {
    text = await readFile(join(dir, ARCHIVE_MANIFEST), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { format: ARCHIVE_FORMAT, documents: Object.create(null) as Record<string, ArchivedDocument> }
    throw new InvalidArchiveError(`Cannot read the archive manifest in ${dir}: ${(err as Error).message}`, { cause: err })
  }
  return decodeArchiveManifest(text)
}

/** Writes a file whole or not at all: to a temporary name, then renamed over the old one. */
async function writeAtomically (path: string, bytes: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, bytes)
  await rename(temporary, path)
}

/** Documents between two saves of the manifest: an interrupted backup keeps what it wrote before the last save. */
const SAVE_EVERY = 100

/**
 * Writes the node's pinned documents to `dir` as CAR files, incrementally: the manifest records each document's
 * archived tip, and a run writes a new CAR only for a document whose tip changed (the old CAR is removed once the
 * manifest names the new one). Documents unpinned since stay in the archive.
 */
export async function archiveDocuments (source: BackupSource, dir: string, options: BackupOptions = {}): Promise<BackupResult> {
  await mkdir(join(dir, 'cars'), { recursive: true })
  const manifest = await readArchiveManifest(dir)
  const pins = await source.listPins({ signal: options.signal })
  const progress: BackupProgress = { done: 0, total: pins.length, written: 0 }
  let unchanged = 0
  let sinceSave = 0
  const stale: string[] = []
  // Saves run one after another (the workers share the manifest); a CAR replaced is removed once the manifest is saved.
  let saving = Promise.resolve()
  const save = async (): Promise<void> => {
    sinceSave = 0
    saving = saving.then(async () => {
      const removable = stale.splice(0)
      await writeAtomically(join(dir, ARCHIVE_MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`)
      for (const file of removable) await rm(join(dir, file), { force: true })
    })
    await saving
  }
  options.onProgress?.({ ...progress })
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < pins.length) {
      options.signal?.throwIfAborted()
      const docId = pins[next++]!.toString()
      const { state } = await source.load(docId, { signal: options.signal })
      const tip = state.log[state.log.length - 1]!.cid.toString()
      const known = manifest.documents[docId]
      if (known?.tip === tip) {
        unchanged++
      } else {
        const car = await source.exportDocument(docId, { signal: options.signal })
        const file = archiveFileOf(docId, tip)
        await writeAtomically(join(dir, file), car)
        if (known !== undefined && known.file !== file) stale.push(known.file)
        manifest.documents[docId] = { tip, logLength: state.log.length, file, archivedAt: new Date().toISOString() }
        progress.written++
        if (++sinceSave >= SAVE_EVERY) await save()
      }
      progress.done++
      options.onProgress?.({ ...progress })
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, async () => { await worker() }))
  await save()
  return { ...progress, unchanged }
}

/**
 * Rebuilds a node from an archive directory: each CAR is imported through the node's apply pipeline (schemas travel
 * in each CAR), and the tip each import reaches must be the one the manifest records.
 */
export async function restoreFromArchive (dir: string, target: RestoreTarget, options: RestoreOptions = {}): Promise<RestoreProgress> {
  const manifest = await readArchiveManifest(dir)
  const entries = Object.entries(manifest.documents)
  if (entries.length === 0) throw new InvalidArchiveError(`${dir} holds no archive (no ${ARCHIVE_MANIFEST}, or it lists no document)`)
  const progress: RestoreProgress = { done: 0, total: entries.length }
  options.onProgress?.({ ...progress })
  for (const [docId, entry] of entries) {
    options.signal?.throwIfAborted()
    let car: Uint8Array
    try {
      car = new Uint8Array(await readFile(join(dir, entry.file)))
    } catch (err) {
      throw new InvalidArchiveError(`Cannot read the CAR of ${docId} (${entry.file}): ${(err as Error).message}`, { cause: err, details: { docId, file: entry.file } })
    }
    const { state } = await target.importDocument(car, { signal: options.signal, publish: false })
    const tip = state.log[state.log.length - 1]!.cid.toString()
    if (tip !== entry.tip) {
      throw new InvalidArchiveError(`The CAR of ${docId} (${entry.file}) restores the tip ${tip}, not the ${entry.tip} the manifest records`, { details: { docId, file: entry.file } })
    }
    progress.done++
    options.onProgress?.({ ...progress })
  }
  return progress
}
