import { DAG_JOSE, decodeCar, decodeJWS, decodeRecord, encodeCar, encodeRecord } from '@kiln/codec'
import { isCommitID, parseDocOrCommitID, type DocID } from '@kiln/docid'
import { CodecError, InvalidCommitError, LimitExceededError, type AbortOptions, type Block, type Blockstore, type DocState } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { commitValue, readStoredCommit, type IncomingCommit } from './commit-input.js'

/** Marks the root block of a Kiln document export. */
export const EXPORT_FORMAT = 'kiln-document-export/1'

/** Largest CAR an import reads, in bytes: far above a document with a long log, far below what stalls a node. */
export const MAX_IMPORT_BYTES = 16 * 1024 * 1024

/** Most blocks in a CAR an import reads; every commit of the logs goes through the apply pipeline. */
export const MAX_IMPORT_BLOCKS = 10_000

/** One document of an export: its log, and for each anchor commit the blocks its verification reads. */
export interface ExportedDocument {
  docId: string
  type: number
  /** The log to replay, genesis first (up to the pinned commit for a schema dependency). */
  log: CID[]
  /** Anchor commit CID string → CIDs of the proof, Merkle nodes and chain data its verifier read. */
  anchors: Record<string, CID[]>
}

/** The root block of an export: the documents, dependencies (schemas) first, the exported one last. */
export interface ExportManifest {
  format: typeof EXPORT_FORMAT
  documents: ExportedDocument[]
}

/** What building an export needs from the node. */
export interface ExportSource {
  blocks: Pick<Blockstore, 'get'>
  /** The state of a document (DocID) or at a commit (CommitID). */
  load(id: string, options: AbortOptions): Promise<{ id: DocID, state: DocState }>
  /** Verifies an anchor commit reading blocks through `getBlock` (so the reads can be recorded). */
  verifyAnchor(commit: IncomingCommit, getBlock: (cid: CID, options?: AbortOptions) => Promise<Uint8Array>, options: AbortOptions): Promise<unknown>
}

/**
 * Builds a CAR file of a document: every commit of its log (signed envelopes and their payloads), every anchor commit
 * with the proof, Merkle nodes and chain data its verifier reads, and, when it names a schema, that schema document
 * up to the pinned commit — all a verifier needs offline. The root is a manifest block.
 */
export async function exportDocumentCar (source: ExportSource, id: string, options: AbortOptions = {}): Promise<Uint8Array> {
  const blocks = new Map<string, Block>()
  const documents: ExportedDocument[] = []
  const visited = new Set<string>()
  const add = (block: Block): void => { blocks.set(block.cid.toString(), block) }

  const visit = async (ref: string): Promise<void> => {
    if (visited.has(ref)) return
    visited.add(ref)
    const { id: docId, state } = await source.load(ref, options)
    const schema = state.metadata.schema
    if (typeof schema === 'string') await visit(schema)
    const commits = []
    for (const entry of state.log) commits.push(await readStoredCommit(entry.cid, source.blocks))
    // What the rules stage reads: the rules documents the log names, and the documents its updates cite as evidence
    // (whole, with the anchors that time windows read).
    for (const commit of commits) for (const ref of rulesDependenciesOf(commit.record)) await visit(ref)
    const anchors: Record<string, CID[]> = {}
    for (const [i, entry] of state.log.entries()) {
      const commit = commits[i]!
      for (const block of commit.blocks) add(block)
      if (commit.kind === 'anchor') {
        const read: CID[] = []
        await source.verifyAnchor(commit, async (cid, opts) => {
          const bytes = await source.blocks.get(cid, opts)
          add({ cid, bytes })
          read.push(cid)
          return bytes
        }, options)
        // A verifier may have served part of its check from a cache (a chain transaction seen for an earlier
        // document of the batch): the chain data the proof names is added when the node holds it.
        for (const cid of await chainBlocksOf(commit, source.blocks, options)) {
          if (!read.some((r) => r.equals(cid.cid))) { read.push(cid.cid); add(cid) }
        }
        anchors[entry.cid.toString()] = read
      }
    }
    documents.push({ docId: docId.toString(), type: state.type, log: state.log.map((e) => e.cid), anchors })
  }

  await visit(id)
  const manifest = await encodeRecord({ format: EXPORT_FORMAT, documents } satisfies ExportManifest)
  return await encodeCar([manifest.cid], [manifest, ...blocks.values()])
}

/** The documents the rules stage reads for a commit: its `header.rules` (at that commit) and its evidence (whole). */
function rulesDependenciesOf (record: Record<string, unknown>): string[] {
  const header = record.header
  if (header === null || typeof header !== 'object') return []
  const { rules, evidence } = header as Record<string, unknown>
  const refs: string[] = []
  if (typeof rules === 'string') refs.push(rules)
  if (evidence !== null && typeof evidence === 'object') {
    for (const value of Object.values(evidence)) {
      if (typeof value !== 'string') continue
      try {
        refs.push(parseDocOrCommitID(value).baseID.toString())
      } catch {
        // Not an id: the rules stage refused such a commit, so it is not in a log.
      }
    }
  }
  return refs
}

/** The blocks an anchor's proof links to that the node holds (its chain transaction), with their payloads. */
export async function chainBlocksOf (commit: IncomingCommit, blocks: Pick<Blockstore, 'get'>, options: AbortOptions): Promise<Block[]> {
  const proofCid = CID.asCID(commit.record.proof)
  if (proofCid === null) return []
  const proof = await decodeRecord<Record<string, unknown>>(await blocks.get(proofCid, options), proofCid)
  const found: Block[] = []
  for (const [field, value] of Object.entries(proof)) {
    const cid = CID.asCID(value)
    if (cid === null || field === 'root') continue
    const bytes = await blocks.get(cid, options).catch(() => undefined)
    if (bytes === undefined) continue
    found.push({ cid, bytes })
    if (cid.code === DAG_JOSE) {
      const jws = await decodeJWS(bytes, cid)
      const payload = await blocks.get(jws.link, options).catch(() => undefined)
      if (payload !== undefined) found.push({ cid: jws.link, bytes: payload })
    }
  }
  return found
}

/** One commit of an export, ready for the apply pipeline. */
export interface ExportedCommit {
  docId: string
  type: number
  cid: CID
  kind: IncomingCommit['kind']
  value: ReturnType<typeof commitValue>
  /** For anchor commits: the blocks its verification reads. */
  supporting: Block[]
}

/**
 * Reads a CAR made by `KilnNode.exportDocument`: checks every block against its CID and the manifest's shape, and
 * yields the commits to replay, dependencies first. `CodecError` / `InvalidCommitError` when anything is off,
 * `LimitExceededError` over {@link MAX_IMPORT_BYTES} or {@link MAX_IMPORT_BLOCKS}.
 */
export async function readDocumentCar (bytes: Uint8Array): Promise<{ manifest: ExportManifest, commits: ExportedCommit[] }> {
  if (bytes.length > MAX_IMPORT_BYTES) {
    throw new LimitExceededError(`The export is ${bytes.length} bytes, more than the ${MAX_IMPORT_BYTES} bytes an import reads`, {
      details: { bytes: bytes.length, limit: MAX_IMPORT_BYTES }
    })
  }
  const { roots, blocks } = await decodeCar(bytes)
  if (blocks.length > MAX_IMPORT_BLOCKS) {
    throw new LimitExceededError(`The export has ${blocks.length} blocks, more than the ${MAX_IMPORT_BLOCKS} an import reads`, {
      details: { blocks: blocks.length, limit: MAX_IMPORT_BLOCKS }
    })
  }
  if (roots.length !== 1) throw new CodecError(`A Kiln export has one root, this CAR has ${roots.length}`)
  const byCid = new Map(blocks.map((b) => [b.cid.toString(), b]))
  const get = async (cid: CID): Promise<Uint8Array> => {
    const block = byCid.get(cid.toString())
    if (block === undefined) throw new CodecError(`The export lacks block ${cid.toString()}`, { details: { cid: cid.toString() } })
    return block.bytes
  }
  const manifest = await decodeRecord<ExportManifest>(await get(roots[0]!), roots[0]!)
  if (manifest?.format !== EXPORT_FORMAT || !Array.isArray(manifest.documents) || manifest.documents.length === 0) {
    throw new InvalidCommitError(`The CAR's root is not a ${EXPORT_FORMAT} manifest`)
  }
  const entries = manifest.documents.reduce((sum, doc) => sum + (Array.isArray(doc?.log) ? doc.log.length : 0), 0)
  if (entries > MAX_IMPORT_BLOCKS) {
    // a valid export lists each commit once, and each commit is at least one block
    throw new LimitExceededError(`The export's manifest lists ${entries} commits, more than the ${MAX_IMPORT_BLOCKS} an import replays`, {
      details: { commits: entries, limit: MAX_IMPORT_BLOCKS }
    })
  }
  const commits: ExportedCommit[] = []
  for (const doc of manifest.documents) {
    const ref = checkDocumentEntry(doc)
    for (const [i, raw] of doc.log.entries()) {
      const cid = CID.asCID(raw)
      if (cid === null) throw new InvalidCommitError(`A log entry of ${ref.toString()} is not a CID`)
      const commit = await readStoredCommit(cid, { get })
      // the log starts with the genesis the DocID names, and holds no other: else the import would create another document
      if (i === 0 ? !cid.equals(ref.cid) : commit.kind === 'genesis') {
        throw new InvalidCommitError(`The log of ${ref.toString()} in the export manifest must start with its genesis ${ref.cid.toString()} and hold no other; entry ${i} is the ${commit.kind} ${cid.toString()}`, {
          details: { docId: ref.toString(), commit: cid.toString() }
        })
      }
      const supportingCids = commit.kind === 'anchor' ? supportingOf(doc, ref, cid) : []
      const supporting: Block[] = []
      for (const sc of supportingCids) supporting.push({ cid: sc, bytes: await get(sc) })
      commits.push({ docId: ref.toString(), type: doc.type, cid, kind: commit.kind, value: commitValue(commit), supporting })
    }
  }
  return { manifest, commits }
}

function isMap (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) && CID.asCID(value) === null
}

/** Checks one document entry of a manifest; returns its DocID. `InvalidCommitError` (or `InvalidDocIDError`) naming it. */
function checkDocumentEntry (doc: unknown): DocID {
  if (!isMap(doc)) throw new InvalidCommitError('A document entry of the export manifest is not a map')
  if (typeof doc.docId !== 'string') throw new InvalidCommitError('A document entry of the export manifest has no docId string')
  const ref = parseDocOrCommitID(doc.docId)
  if (isCommitID(ref) || !Array.isArray(doc.log) || doc.log.length === 0) {
    throw new InvalidCommitError(`Malformed document entry in the export manifest: ${doc.docId}`, { details: { docId: doc.docId } })
  }
  // the type the genesis is created with must be the DocID's, or the document written would be another one
  if (doc.type !== ref.type) {
    throw new InvalidCommitError(`The export manifest gives ${doc.docId} the type ${String(doc.type)}, not its DocID's ${ref.type}`, { details: { docId: doc.docId } })
  }
  if (doc.anchors !== undefined && !isMap(doc.anchors)) {
    throw new InvalidCommitError(`The anchors of ${doc.docId} in the export manifest are not a map`, { details: { docId: doc.docId } })
  }
  return ref
}

/** The CIDs of the blocks the verification of anchor commit `cid` reads, as the manifest lists them. */
function supportingOf (doc: ExportedDocument, ref: DocID, cid: CID): CID[] {
  const listed: unknown = Object.hasOwn(doc.anchors ?? {}, cid.toString()) ? doc.anchors[cid.toString()] : []
  const cids = Array.isArray(listed) ? listed.map((s) => CID.asCID(s)) : [null]
  if (cids.includes(null)) {
    throw new InvalidCommitError(`The export manifest lists the blocks of anchor commit ${cid.toString()} of ${ref.toString()} as something other than CIDs`, {
      details: { docId: ref.toString(), commit: cid.toString() }
    })
  }
  return cids as CID[]
}
