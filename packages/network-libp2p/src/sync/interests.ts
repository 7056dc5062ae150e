import { DAG_CBOR, DAG_JOSE, decodeJWS, decodeRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { CodecError, LimitExceededError, type Block, type HeldCommit } from '@kiln/interface'
import { compareKeys, syncDocumentHash, type SyncRange } from './keys.js'
import { memorySyncKeyStore, type SyncKeyStore } from './store.js'
import { toHex } from '#platform/bytes'

// Interests beyond key ranges: a node may want only the documents of some schemas, of some controllers, or some
// documents by DocID (its pinned ones). Unlike a family, none of these is in a key, so they travel in the hello as a
// filter, and each side evaluates both sides' filters on what the document's *genesis* header says (its schema and
// first controller, which no later commit changes in a held document's genesis), so that both reach the same verdict.

/** The most strings a filter holds, over its three lists. */
export const MAX_SYNC_FILTER_ENTRIES = 1000
/** The longest string of a filter, in UTF-8 bytes. */
export const MAX_SYNC_FILTER_STRING_BYTES = 256

/**
 * Which documents a node wants, besides its ranges: those whose genesis `schema` is in `schemas`, or whose genesis
 * first controller is in `controllers`, or whose DocID is in `docs`. A list left out asks nothing; a filter with no
 * list is no filter. On the wire each list is strictly ascending (UTF-8 bytewise) and the lists hold at most
 * {@link MAX_SYNC_FILTER_ENTRIES} strings together, each at most {@link MAX_SYNC_FILTER_STRING_BYTES} bytes.
 */
export interface SyncFilter {
  schemas?: string[]
  controllers?: string[]
  docs?: string[]
}

/** What a filter reads of a document: its DocID and its genesis header's schema and first controller. */
export interface SyncDocumentFacts {
  docId: string
  schema?: string
  controller?: string
}

const FILTER_FIELDS = ['controllers', 'docs', 'schemas'] as const
const utf8 = new TextEncoder()
const compareText = (a: string, b: string): number => compareKeys(utf8.encode(a), utf8.encode(b))
const hex = toHex

/** `filter` as it travels: each list sorted and without duplicates; `undefined` when it asks nothing. */
export function normaliseSyncFilter (filter: SyncFilter | undefined): SyncFilter | undefined {
  if (filter === undefined) return undefined
  const out: SyncFilter = {}
  for (const field of FILTER_FIELDS) {
    const list = filter[field]
    if (list !== undefined) out[field] = [...new Set(list)].sort(compareText)
  }
  return Object.keys(out).length === 0 ? undefined : out
}

/**
 * The filter in a decoded hello's `filter` field, checked: a map of one to three of `schemas`, `controllers`, `docs`,
 * each a strictly ascending list of strings; `LimitExceededError` past the caps, `CodecError` for anything else.
 */
export function syncFilterOf (value: unknown, where = 'hello.filter'): SyncFilter {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) fail(`${where} must be a map`, where)
  const fields = Object.keys(value)
  if (fields.length === 0 || !fields.every((f) => (FILTER_FIELDS as readonly string[]).includes(f))) {
    fail(`${where} must have one or more of the fields ${FILTER_FIELDS.join(', ')}`, where)
  }
  const out: SyncFilter = {}
  let entries = 0
  for (const field of FILTER_FIELDS) {
    if (!Object.hasOwn(value, field)) continue
    const list = (value as Record<string, unknown>)[field]
    if (!Array.isArray(list)) fail(`${where}.${field} must be a list`, `${where}.${field}`)
    entries += list.length
    if (entries > MAX_SYNC_FILTER_ENTRIES) {
      throw new LimitExceededError(`A sync filter with more than ${MAX_SYNC_FILTER_ENTRIES} entries is over the limit`, { details: { value: entries, limit: MAX_SYNC_FILTER_ENTRIES } })
    }
    const strings = list.map((s: unknown, i) => {
      if (typeof s !== 'string') fail(`${where}.${field}[${i}] must be a string`, `${where}.${field}`)
      if (utf8.encode(s).length > MAX_SYNC_FILTER_STRING_BYTES) fail(`${where}.${field}[${i}] is longer than ${MAX_SYNC_FILTER_STRING_BYTES} bytes`, `${where}.${field}`)
      return s
    })
    for (let i = 1; i < strings.length; i++) {
      if (compareText(strings[i - 1]!, strings[i]!) >= 0) fail(`${where}.${field} must be in strictly ascending order`, `${where}.${field}`)
    }
    out[field] = strings
  }
  return out
}

function fail (reason: string, field: string): never {
  throw new CodecError(`Invalid sync message: ${reason}`, { details: { field } })
}

/** Whether `filter` wants the document `facts` describes; no filter wants everything, unknown facts nothing. */
export function syncFilterMatches (filter: SyncFilter | undefined, facts: SyncDocumentFacts | undefined): boolean {
  if (filter === undefined) return true
  if (facts === undefined) return false
  return (facts.schema !== undefined && filter.schemas?.includes(facts.schema) === true) ||
    (facts.controller !== undefined && filter.controllers?.includes(facts.controller) === true) ||
    filter.docs?.includes(facts.docId) === true
}

/**
 * The genesis facts of the documents a node holds, by document hash (what a key names), learnt from the held commits
 * the node tells (the genesis commit of each document carries them).
 */
export class SyncDocumentIndex {
  readonly #byHash = new Map<string, SyncDocumentFacts>()
  /** The documents noted already: their genesis is not hashed again for a commit that tells nothing new. */
  readonly #noted = new Set<string>()

  /** Notes what `commit` tells of its document. */
  note (commit: HeldCommit): void {
    const told = commit.schema !== undefined || commit.controller !== undefined
    if (!told && this.#noted.has(commit.docId)) return
    this.#noted.add(commit.docId)
    const id = hex(syncDocumentHash(commit.genesis))
    if (!told && this.#byHash.has(id)) return
    this.#byHash.set(id, {
      docId: commit.docId,
      ...(commit.schema === undefined ? {} : { schema: commit.schema }),
      ...(commit.controller === undefined ? {} : { controller: commit.controller })
    })
  }

  /** The facts of the document whose key holds `documentHash`, if it is held. */
  factsOf (documentHash: Uint8Array): SyncDocumentFacts | undefined {
    return this.#byHash.get(hex(documentHash))
  }

  /** The DocID of the document whose key holds `documentHash`, if it is held: a key holds only the hash. */
  docIdOf (documentHash: Uint8Array): string | undefined {
    return this.factsOf(documentHash)?.docId
  }

  /** The facts of the document a key names (bytes 17–48 of a key). */
  factsOfKey (key: Uint8Array): SyncDocumentFacts | undefined {
    return this.factsOf(key.subarray(17, 49))
  }
}

/**
 * A session's own set when a filter is present: the keys of `store` in `ranges` whose documents `keep` accepts, in a
 * new in-memory store. Costs one pass over the keys in the ranges (O(n) time and memory per session).
 */
export function filteredSyncKeyStore (store: SyncKeyStore, ranges: readonly SyncRange[], keep: (key: Uint8Array) => boolean): SyncKeyStore {
  const kept: Uint8Array[] = []
  for (const range of ranges) for (const key of store.keys(range)) if (keep(key)) kept.push(key)
  return memorySyncKeyStore(kept)
}

/**
 * The genesis facts of a document a peer sent, from its genesis commit among `blocks` (checked against its CID);
 * `undefined` when the genesis is not there or does not decode.
 */
export async function genesisFactsOfBlocks (docId: string, blocks: readonly Block[]): Promise<SyncDocumentFacts | undefined> {
  try {
    const genesis = DocID.fromString(docId).cid
    const find = (cid: { equals: (other: unknown) => boolean }): Block | undefined => blocks.find((b) => cid.equals(b.cid))
    const block = find(genesis)
    if (block === undefined) return undefined
    let record: unknown
    if (genesis.code === DAG_JOSE) {
      const jws = await decodeJWS(block.bytes, genesis)
      const payload = find(jws.link)
      if (payload === undefined) return undefined
      record = await decodeRecord(payload.bytes, jws.link)
    } else if (genesis.code === DAG_CBOR) {
      record = await decodeRecord(block.bytes, genesis)
    } else {
      return undefined
    }
    const header = (record as { header?: { schema?: unknown, controllers?: unknown } } | null)?.header
    if (typeof header !== 'object' || header === null) return undefined
    const controller = Array.isArray(header.controllers) ? header.controllers[0] as unknown : undefined
    return {
      docId,
      ...(typeof header.schema === 'string' ? { schema: header.schema } : {}),
      ...(typeof controller === 'string' ? { controller } : {})
    }
  } catch {
    return undefined
  }
}
