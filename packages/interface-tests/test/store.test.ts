import { describe } from 'vitest'
import { CID } from 'multiformats/cid'
import { AbortError, AnchorStatus, BlockNotFoundError, InvalidQueryError, LogEntryType, StorageError } from '@kiln/interface'
import type {
  AbortOptions, AnchorStatusRecord, Blockstore, Checkpoint, CommitOptions, CommitPlace, DocHead, Storage, StorageBatch,
  StorageWriteStats, StoredLogEntry, DocIndexRecord, QueryFilter, QuerySort, StorageQuery, StorageQueryPage
} from '@kiln/interface'
import { decodeHeadRecord, encodeHeadRecord } from '@kiln/codec'
import { queryTests, storeTests } from '@kiln/interface-tests'

// A second, deliberately plain backend, so the store suite is shown to test the contract and not @kiln/storage-level:
// Maps in memory, a batch made of closures that are all checked first and then run in one synchronous go, heads kept
// as dag-cbor bytes (so every read is a deep copy), and bytes counted as this backend would lay them out. Its query
// index is written from the interface's comments alone, with none of @kiln/query's code: the query suite passing on
// it as well shows the suite pins the contract, not one implementation of it.

/** A change a batch makes once every queued write has been checked: runs synchronously, so a batch is atomic. */
type Apply = () => void

class MapStorage implements Storage {
  readonly blocks: Blockstore
  readonly #blocks = new Map<string, Uint8Array>()
  readonly #heads = new Map<string, Uint8Array>()
  readonly #logs = new Map<string, Map<number, StoredLogEntry>>()
  readonly #places = new Map<string, Map<string, CommitPlace>>()
  readonly #checkpoints = new Map<string, Map<number, Uint8Array>>()
  readonly #statuses = new Map<string, AnchorStatusRecord>()
  readonly #pins = new Set<string>()
  /** Index records as JSON text: a deep copy on every read. */
  readonly #index = new Map<string, string>()
  readonly #stats: StorageWriteStats = { batches: 0, syncs: 0, bytesWritten: 0 }

  constructor () {
    this.blocks = {
      get: async (cid, options) => {
        abortable(options)
        const bytes = this.#blocks.get(cid.toString())
        if (bytes === undefined) throw new BlockNotFoundError(`No block ${cid.toString()}`, { details: { cid: cid.toString() } })
        return bytes.slice()
      },
      put: async (cid, bytes, options) => {
        abortable(options)
        this.#blocks.set(cid.toString(), bytes.slice())
        this.#stats.bytesWritten += cid.bytes.byteLength + bytes.byteLength
      },
      has: async (cid, options) => {
        abortable(options)
        return this.#blocks.has(cid.toString())
      }
    }
  }

  async getHead (docId: string, options?: AbortOptions): Promise<DocHead | undefined> {
    abortable(options)
    const bytes = this.#heads.get(docId)
    if (bytes === undefined) return undefined
    const head = await decoded(bytes)
    const record = this.#statuses.get(docId)
    if (record !== undefined && record.tip.equals(head.tip)) head.anchorStatus = record.status
    return head
  }

  async readLog (docId: string, range: { from?: number, to?: number } = {}, options?: AbortOptions): Promise<StoredLogEntry[]> {
    abortable(options)
    const log = this.#logs.get(docId) ?? new Map<number, StoredLogEntry>()
    const from = range.from ?? 0
    const to = range.to ?? Number.POSITIVE_INFINITY
    return [...log.keys()].filter((seq) => seq >= from && seq < to).sort((a, b) => a - b).map((seq) => ({ ...log.get(seq)! }))
  }

  async getCommitPlace (docId: string, cid: CID, options?: AbortOptions): Promise<CommitPlace | undefined> {
    abortable(options)
    const place = this.#places.get(docId)?.get(cid.toString())
    return place === undefined ? undefined : { ...place }
  }

  async getCheckpoint (docId: string, seq: number, options?: AbortOptions): Promise<Checkpoint | undefined> {
    abortable(options)
    const checkpoints = this.#checkpoints.get(docId) ?? new Map<number, Uint8Array>()
    const at = Math.max(-1, ...[...checkpoints.keys()].filter((s) => s <= seq))
    const bytes = checkpoints.get(at)
    return bytes === undefined ? undefined : { seq: at, head: await decoded(bytes) }
  }

  async * listDocuments (options?: AbortOptions): AsyncGenerator<string> {
    for (const docId of [...this.#heads.keys()]) {
      abortable(options)
      yield docId
    }
    abortable(options)
  }

  async deleteDocument (docId: string, options?: AbortOptions): Promise<void> {
    abortable(options)
    for (const map of [this.#heads, this.#logs, this.#places, this.#checkpoints, this.#statuses, this.#index]) map.delete(docId)
    this.#pins.delete(docId)
  }

  batch (): StorageBatch {
    // Each queued write becomes, at commit, a check (which may throw) returning the change to make and its size.
    const queued: Array<() => Promise<[Apply, number]>> = []
    const queue = (write: () => Promise<[Apply, number]>): StorageBatch => { queued.push(write); return batch }
    const batch: StorageBatch = {
      putBlock: (cid, bytes) => {
        const copy = bytes.slice()
        return queue(async () => [() => { this.#blocks.set(cid.toString(), copy) }, cid.bytes.byteLength + copy.byteLength])
      },
      putIndex: (docId, record) => {
        const text = JSON.stringify(record)
        return queue(async () => [() => {
          const fresh = JSON.parse(text) as DocIndexRecord
          const old = this.#index.get(docId)
          if (old !== undefined) fresh.createdAt = (JSON.parse(old) as DocIndexRecord).createdAt
          this.#index.set(docId, JSON.stringify(fresh))
        }, docId.length + text.length])
      },
      putHead: (docId, head) => queue(async () => {
        const bytes = await encoded(head, `the head of ${docId}`)
        return [() => { this.#heads.set(docId, bytes) }, docId.length + bytes.byteLength]
      }),
      putLogEntry: (docId, seq, entry) => queue(async () => {
        position(seq)
        if (!Object.values(LogEntryType).includes(entry.type)) throw new StorageError(`Unknown log entry type ${String(entry.type)}`)
        if (entry.timestamp !== undefined && !Number.isFinite(entry.timestamp)) throw new StorageError(`Bad time ${entry.timestamp}`)
        const stored: StoredLogEntry = entry.timestamp === undefined ? { cid: entry.cid, type: entry.type } : { cid: entry.cid, type: entry.type, timestamp: entry.timestamp }
        return [() => { mapOf(this.#logs, docId).set(seq, stored) }, docId.length + 8 + 2 + entry.cid.bytes.byteLength + (entry.timestamp === undefined ? 0 : 8)]
      }),
      truncateLog: (docId, seq) => queue(async () => {
        position(seq)
        return [() => { for (const s of this.#logs.get(docId)?.keys() ?? []) if (s >= seq) this.#logs.get(docId)?.delete(s) }, 0]
      }),
      indexCommit: (docId, cid, place) => queue(async () => {
        if (place.seq !== undefined) position(place.seq)
        const copy = place.seq === undefined ? {} : { seq: place.seq }
        return [() => { mapOf(this.#places, docId).set(cid.toString(), copy) }, docId.length + cid.bytes.byteLength + 8]
      }),
      putCheckpoint: (docId, checkpoint) => queue(async () => {
        position(checkpoint.seq)
        const bytes = await encoded(checkpoint.head, `a checkpoint of ${docId}`)
        return [() => { mapOf(this.#checkpoints, docId).set(checkpoint.seq, bytes) }, docId.length + 8 + bytes.byteLength]
      }),
      dropCheckpoints: (docId, seq) => queue(async () => {
        position(seq)
        return [() => { for (const s of this.#checkpoints.get(docId)?.keys() ?? []) if (s >= seq) this.#checkpoints.get(docId)?.delete(s) }, 0]
      }),
      putAnchorStatus: (docId, record) => queue(async () => {
        if (!Object.values(AnchorStatus).includes(record.status)) throw new StorageError(`Unknown anchor status ${String(record.status)}`)
        const copy = { tip: CID.decode(record.tip.bytes), status: record.status }
        return [() => { this.#statuses.set(docId, copy) }, docId.length + 1 + copy.tip.bytes.byteLength]
      }),
      pin: (docId) => queue(async () => [() => { this.#pins.add(docId) }, docId.length]),
      commit: async (options?: CommitOptions) => {
        abortable(options)
        const changes: Array<[Apply, number]> = []
        for (const write of queued) changes.push(await write())
        abortable(options)
        for (const [apply, bytes] of changes) {
          apply()
          this.#stats.bytesWritten += bytes
        }
        this.#stats.batches++
        if (options?.sync === true) this.#stats.syncs++
      }
    }
    return batch
  }

  async pin (docId: string, options?: AbortOptions): Promise<void> {
    abortable(options)
    this.#pins.add(docId)
    this.#stats.bytesWritten += docId.length
  }

  async unpin (docId: string, options?: AbortOptions): Promise<void> {
    abortable(options)
    this.#pins.delete(docId)
  }

  async isPinned (docId: string, options?: AbortOptions): Promise<boolean> {
    abortable(options)
    return this.#pins.has(docId)
  }

  async * listPins (options?: AbortOptions): AsyncGenerator<string> {
    for (const docId of [...this.#pins]) {
      abortable(options)
      yield docId
    }
    abortable(options)
  }

  async query (query: StorageQuery, options?: AbortOptions): Promise<StorageQueryPage> {
    abortable(options)
    const sort = query.sort
    const tag = JSON.stringify(sort)
    let start: Placed | undefined
    if (query.after !== undefined) {
      let parsed: unknown
      try {
        parsed = JSON.parse(Buffer.from(query.after, 'base64url').toString('utf8'))
      } catch {
        throw new InvalidQueryError('Bad cursor')
      }
      if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== tag || typeof parsed[2] !== 'string') throw new InvalidQueryError('Bad cursor')
      start = { key: parsed[1] as Key, id: parsed[2] }
    }
    const placed: Placed[] = []
    for (const [id, text] of this.#index) {
      const record = JSON.parse(text) as DocIndexRecord
      if (query.filter === undefined || plainMatch(record, query.filter)) placed.push({ key: keyOf(record, sort), id })
    }
    placed.sort((a, b) => order(a, b, sort))
    const rest = start === undefined ? placed : placed.filter((p) => order(p, start, sort) > 0)
    const ids = rest.slice(0, query.first).map((p) => p.id)
    const page: StorageQueryPage = { ids, hasNextPage: rest.length > query.first }
    if (page.hasNextPage) {
      const last = rest[query.first - 1]!
      page.endCursor = Buffer.from(JSON.stringify([tag, last.key, last.id])).toString('base64url')
    }
    if (query.count === true) page.count = placed.length
    return page
  }

  async getIndexRecord (docId: string, options?: AbortOptions): Promise<DocIndexRecord | undefined> {
    abortable(options)
    const text = this.#index.get(docId)
    return text === undefined ? undefined : JSON.parse(text) as DocIndexRecord
  }

  writeStats (): StorageWriteStats {
    return { ...this.#stats }
  }
}

type Key = number | string | null
interface Placed { key: Key, id: string }

/** Equal as JSON: both written with their object keys sorted, so key order does not count. */
function sameJson (a: unknown, b: unknown): boolean {
  const canonical = (v: unknown): unknown => Array.isArray(v) ? v.map(canonical)
    : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
      : v
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}

/** Unicode code point order, compared character by character. */
function byCodePoint (a: string, b: string): number {
  const x = [...a]
  const y = [...b]
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!
    if (d !== 0) return d
  }
  return x.length - y.length
}

const MISSING = Symbol('missing')

function at (content: unknown, path: string[]): unknown {
  let node = content
  for (const step of path) {
    if (Array.isArray(node) && /^(0|[1-9]\d*)$/.test(step) && Number(step) < node.length) node = node[Number(step)]
    else if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.prototype.hasOwnProperty.call(node, step)) node = (node as Record<string, unknown>)[step]
    else return MISSING
  }
  return node
}

function plainMatch (r: DocIndexRecord, f: QueryFilter): boolean {
  if ('and' in f) return f.and.every((g) => plainMatch(r, g))
  if ('or' in f) return f.or.some((g) => plainMatch(r, g))
  if ('not' in f) return !plainMatch(r, f.not)
  if ('doctype' in f) return r.doctype === f.doctype
  if ('controller' in f) return r.controllers.includes(f.controller)
  if ('family' in f) return r.family === f.family
  if ('tags' in f) return 'all' in f.tags ? f.tags.all.every((t) => r.tags.includes(t)) : f.tags.any.some((t) => r.tags.includes(t))
  if ('schema' in f) return 'doc' in f.schema ? r.schemaDoc === f.schema.doc : r.schemaCommit === f.schema.commit
  if ('linksTo' in f) return r.links.includes(f.linksTo)
  const within = (t: number | undefined, range: { after?: number, before?: number }): boolean =>
    t !== undefined && (range.after === undefined || t > range.after) && (range.before === undefined || t < range.before)
  if ('created' in f) return within(r.createdAt, f.created)
  if ('updated' in f) return within(r.updatedAt, f.updated)
  if ('anchored' in f) return within(r.anchoredAt, f.anchored)
  const c = f.content as Record<string, unknown> & { path: string[] }
  const v = at(r.content, c.path)
  const [op, x] = Object.entries(c).find(([k]) => k !== 'path')!
  const present = v !== MISSING
  switch (op) {
    case 'equalTo': return present && sameJson(v, x)
    case 'notEqualTo': return !(present && sameJson(v, x))
    case 'in': return present && (x as unknown[]).some((y) => sameJson(v, y))
    case 'notIn': return !(present && (x as unknown[]).some((y) => sameJson(v, y)))
    case 'isNull': return x === (!present || v === null)
    case 'exists': return x === present
  }
  if (typeof v !== typeof x) return false
  const d = typeof x === 'number' ? (v as number) - x : byCodePoint(v as string, x as string)
  return op === 'gt' ? d > 0 : op === 'gte' ? d >= 0 : op === 'lt' ? d < 0 : d <= 0
}

function keyOf (r: DocIndexRecord, sort: QuerySort): Key {
  if (sort.by !== 'content') return sort.by === 'created' ? r.createdAt : sort.by === 'updated' ? r.updatedAt : r.anchoredAt ?? null
  const v = at(r.content, sort.path)
  return typeof v === 'number' || typeof v === 'string' ? v : null
}

/** The sort's order: numbers before strings (reversed for desc), null keys last both ways, then DocIDs. */
function order (a: Placed, b: Placed, sort: QuerySort): number {
  const sign = sort.order === 'asc' ? 1 : -1
  if ((a.key === null) !== (b.key === null)) return a.key === null ? 1 : -1
  if (a.key !== null && b.key !== null) {
    const ca = typeof a.key === 'number' ? 0 : 1
    const cb = typeof b.key === 'number' ? 0 : 1
    if (ca !== cb) return sign * (ca - cb)
    const d = ca === 0 ? (a.key as number) - (b.key as number) : byCodePoint(a.key as string, b.key as string)
    if (d !== 0) return sign * d
  }
  return sign * byCodePoint(a.id, b.id)
}

function abortable (options: AbortOptions | undefined): void {
  if (options?.signal?.aborted === true) throw new AbortError('aborted', { cause: options.signal.reason })
}

function position (seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new StorageError(`Position ${seq} is not a non-negative integer`)
}

async function encoded (head: DocHead, what: string): Promise<Uint8Array> {
  try {
    return await encodeHeadRecord(head)
  } catch (err) {
    throw new StorageError(`Cannot store ${what}`, { cause: err })
  }
}

async function decoded (bytes: Uint8Array): Promise<DocHead> {
  return await decodeHeadRecord(bytes) as DocHead
}

function mapOf<K, V> (maps: Map<string, Map<K, V>>, docId: string): Map<K, V> {
  let map = maps.get(docId)
  if (map === undefined) maps.set(docId, map = new Map())
  return map
}

describe('the store suite on a plain Map backend', () => {
  storeTests({ setup: () => new MapStorage() })
  queryTests({ setup: () => new MapStorage() })
})

/**
 * The same backend answering every query with pages of one document, whatever `first` says: as a bounded scan may.
 * The query suite must still pass, following cursors, or it would fail a backend the contract allows.
 */
function withShortPages (storage: Storage): Storage {
  return new Proxy(storage, {
    get (target, property) {
      if (property === 'query') return async (query: StorageQuery, options?: AbortOptions) => await target.query({ ...query, first: 1 }, options)
      const value: unknown = Reflect.get(target, property)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

describe('the query suite on a backend whose pages are short', () => {
  queryTests({ setup: () => withShortPages(new MapStorage()) })
})
