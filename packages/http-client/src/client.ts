import { commitFromJSON, commitToJSON, docStateFromJSON, parseCID } from '@kiln/codec'
import { isDocOrCommitID, parseDocOrCommitID, type CommitID, type DocID } from '@kiln/docid'
import {
  AnchorStatus, CodecError, InvalidRequestError, KilnError, isKilnError,
  type AbortOptions, type AnchorProof, type Commit, type DocReader, type DocRef, type DocSnapshot, type DocWriter, type PeerSyncState,
  type LogEntryType, type LogItem, type WriteOptions, type AnchorRequestOptions, type PageOptions, type QueryInput, type QueryResult,
  type HookAdmin, type WebhookCreated, type WebhookInput, type WebhookStatus
} from '@kiln/interface'
import { adminAuthorization, type AdminSigner } from './admin.js'
import { applyOnTip, type ApplyOnTipOptions, type BuildCommit } from './apply-on-tip.js'
import { objectOf, queryPageOf, snapshotOf } from './answers.js'
import { abortableSleep } from './abortable-sleep.js'
import { rateLimitRetryPolicy, Transport, type RateLimitRetry } from './transport.js'
import { reconnectPolicy, watchDocument, type WatchDeps, type WatchReconnect } from './watch.js'

/** Options of {@link httpClient}. */
export interface HttpClientInit {
  /** The node's base URL, without `/api/v0`: `http://127.0.0.1:7007`. */
  url: string
  /** The `fetch` to use; the global one by default. */
  fetch?: typeof fetch
  /** How long a request may take, to the last byte of its answer (default 30 000 ms); for `watch`, until the stream opens. */
  timeoutMs?: number
  /** Signs admin calls (pins); without one they throw `AdminAuthError` before anything is sent. */
  adminSigner?: AdminSigner
  /** Headers sent with every request (a proxy's credentials, a tracing id). */
  headers?: Record<string, string>
  /** How `watch` reconnects a dropped stream (default: 100 ms doubling to 10 s, with jitter; gives up after 10 failures in a row). */
  watchReconnect?: WatchReconnect
  /**
   * Whether a request answered 429 (`RateLimitedError`) is sent again after the node's `Retry-After`: off by default
   * (the error is thrown at once, `details.retryAfter` saying how many seconds to wait).
   */
  rateLimitRetry?: RateLimitRetry
}

/** One query of {@link KilnHttpClient.multiQuery}: a document (DocID or CommitID) and paths to follow from its content. */
export interface MultiQuery {
  id: DocRef
  /** Paths like `/a/b` whose values are DocID strings; the documents they name are loaded too. */
  paths?: string[]
}

/** Options of {@link KilnHttpClient.multiQuery}. */
export interface MultiQueryOptions extends AbortOptions {
  /** How long the node may spend on the queries, in milliseconds (Ceramic's `timeout`). */
  timeoutMs?: number
}

/** One commit of a document's log as `GET /api/v0/kiln/streams/:id/log` gives it: an anchor commit comes with its proof. */
export interface LogItemWithProof extends LogItem {
  type: LogEntryType
  /** Unix seconds of the anchor covering this commit, once there is one. */
  timestamp?: number
  proof?: AnchorProof
}

/** What `GET /api/v0/kiln/node` says of a node: nulls and empty lists for a node on no network. */
export interface NodeDescription {
  did: string | null
  peerId: string | null
  addresses: string[]
  network: string | null
  topic: string | null
  /** Connected peers; `sync` says where catch-up sync stands with each, when the node runs it. */
  peers: Array<{ peerId: string, addresses: string[], sync?: PeerSyncState }>
}

/** A Kiln node over HTTP: the `DocReader`/`DocWriter` of an in-process node, plus the calls only the HTTP API has. */
export interface KilnHttpClient extends DocReader<DocID>, DocWriter<DocID> {
  /** The node's base URL, without a trailing slash. */
  readonly url: string
  /**
   * Builds a commit on the document's tip with `build` and applies it; when the node refuses it because the tip moved
   * (`ConflictingCommitError` naming the winning tip), loads the document and builds it again on the new tip, at most
   * `attempts` (3) commits in all.
   */
  applyOnTip(id: DocRef, build: BuildCommit, options?: ApplyOnTipOptions): Promise<DocSnapshot<DocID>>
  /** The node's webhooks (admin): add one (its secret is in this answer only), list them with their delivery counts, remove one. */
  readonly hooks: HookAdmin
  /** Whether the node pins the document (admin). */
  isPinned(id: DocRef, options?: AbortOptions): Promise<boolean>
  /** Loads several documents in one request, keyed by the id strings asked for and those reached through `paths`. */
  multiQuery(queries: MultiQuery[], options?: MultiQueryOptions): Promise<Map<string, DocSnapshot<DocID>>>
  /** The CAIP-2 ids of the chains the node anchors to. */
  chains(options?: AbortOptions): Promise<string[]>
  /** True when the node answers its healthcheck with 200; false when it fails it or cannot be reached. */
  healthcheck(options?: AbortOptions): Promise<boolean>
  /** The node's DID, PeerId, addresses, network, topic and connected peers (nulls and empty lists off a network). */
  node(options?: AbortOptions): Promise<NodeDescription>
  /** The log with each commit's value, and the proof of each anchor commit (a Kiln route). */
  loadLogWithProofs(id: DocRef, options?: AbortOptions): Promise<LogItemWithProof[]>
  /** The document as one CAR file (Kiln's export: log, anchors with proofs and Merkle nodes, schemas it names). */
  exportDocument(id: DocRef, options?: AbortOptions): Promise<Uint8Array>
  /** Loads an export into the node, each commit through its apply pipeline; the exported document's state. */
  importDocument(car: Uint8Array, options?: AbortOptions): Promise<DocSnapshot<DocID>>
}

/** Creates a client of the Kiln (or Ceramic) node at `init.url`. */
export function httpClient (init: HttpClientInit): KilnHttpClient {
  return new HttpClient(init)
}

const API = '/api/v0'

/** A DocID or CommitID from anything that prints as one; `InvalidDocIDError` before any request otherwise. */
function refOf (ref: DocRef): DocID | CommitID {
  return isDocOrCommitID(ref) ? ref : parseDocOrCommitID(String(ref))
}

function docIdOf (ref: DocRef): DocID {
  return refOf(ref).baseID
}

function writeOpts (options: WriteOptions): Record<string, boolean | string> {
  if (options.blocks !== undefined && options.blocks.length > 0) {
    // API v0 has no field for them: dropping them silently would fail later, on the node, with a less clear error.
    throw new InvalidRequestError('WriteOptions.blocks cannot be sent over HTTP API v0: give the node the blocks another way, or apply the commit in-process')
  }
  const opts: Record<string, boolean | string> = {}
  if (options.anchorChain !== undefined) opts.anchorChain = options.anchorChain
  if (options.anchor !== undefined) opts.anchor = options.anchor
  if (options.pin !== undefined) opts.pin = options.pin
  if (options.publish !== undefined) opts.publish = options.publish
  return opts
}

function anchorProofOf (value: unknown, what: string): AnchorProof {
  const proof = objectOf(value, what)
  if (typeof proof.chainId !== 'string') throw new CodecError(`${what}.chainId must be a string`)
  return { ...proof, chainId: proof.chainId, root: parseCID(proof.root, `${what}.root`), txHash: parseCID(proof.txHash, `${what}.txHash`) }
}

class HttpClient implements KilnHttpClient {
  readonly url: string
  private readonly transport: Transport
  private readonly adminSigner?: AdminSigner
  private readonly watchReconnect: Required<WatchReconnect>

  constructor (init: HttpClientInit) {
    if (init === null || typeof init !== 'object' || typeof init.url !== 'string') {
      throw new KilnError('httpClient needs { url }: the base URL of a Kiln node, like http://127.0.0.1:7007')
    }
    const fetchFn = init.fetch ?? (async (input, requestInit) => await globalThis.fetch(input, requestInit))
    this.transport = new Transport({
      url: init.url, fetch: fetchFn, timeoutMs: init.timeoutMs ?? 30_000, headers: { ...init.headers }, rateLimitRetry: rateLimitRetryPolicy(init.rateLimitRetry)
    })
    this.url = this.transport.url
    this.adminSigner = init.adminSigner
    this.watchReconnect = reconnectPolicy(init.watchReconnect)
  }

  readonly hooks: HookAdmin = {
    add: async (input: WebhookInput, options: AbortOptions = {}): Promise<WebhookCreated> => {
      const body = input?.filter === undefined ? { url: input?.url } : { url: input.url, filter: input.filter }
      const path = `${API}/kiln/admin/hooks`
      const authorization = await adminAuthorization(this.transport, this.adminSigner, path, { requestBody: body, signal: options.signal })
      const answer = objectOf(await this.transport.json(path, { method: 'POST', body, headers: { authorization }, signal: options.signal }), 'POST /kiln/admin/hooks answer')
      if (typeof answer.id !== 'string' || typeof answer.secret !== 'string') throw new CodecError('POST /kiln/admin/hooks answered without an id and a secret')
      return answer as unknown as WebhookCreated
    },
    list: async (options: AbortOptions = {}): Promise<WebhookStatus[]> => {
      const answer = objectOf(await this.admin('GET', `${API}/kiln/admin/hooks`, options), 'GET /kiln/admin/hooks answer')
      if (!Array.isArray(answer.hooks)) throw new CodecError('GET /kiln/admin/hooks answered without a hooks list')
      return answer.hooks as WebhookStatus[]
    },
    remove: async (id: string, options: AbortOptions = {}): Promise<void> => {
      if (typeof id !== 'string' || !/^[\w-]{1,100}$/.test(id)) throw new InvalidRequestError('A webhook id is 1 to 100 letters, digits, "_" or "-"', { details: { field: 'id' } })
      await this.admin('DELETE', `${API}/kiln/admin/hooks/${id}`, options)
    }
  }

  async createDocument (type: number | string, genesis: Commit, options: WriteOptions = {}): Promise<DocSnapshot<DocID>> {
    const body = { type, genesis: commitToJSON(genesis), opts: writeOpts(options) }
    return snapshotOf(await this.transport.json(`${API}/streams`, { method: 'POST', body, signal: options.signal }), 'POST /streams answer')
  }

  async applyCommit (id: DocRef, commit: Commit, options: WriteOptions = {}): Promise<DocSnapshot<DocID>> {
    const body = { streamId: docIdOf(id).toString(), commit: commitToJSON(commit), opts: writeOpts(options) }
    return snapshotOf(await this.transport.json(`${API}/commits`, { method: 'POST', body, signal: options.signal }), 'POST /commits answer')
  }

  async applyOnTip (id: DocRef, build: BuildCommit, options: ApplyOnTipOptions = {}): Promise<DocSnapshot<DocID>> {
    return await applyOnTip(this, docIdOf(id), build, options)
  }

  async load (id: DocRef, options: AbortOptions = {}): Promise<DocSnapshot<DocID>> {
    const ref = refOf(id).toString()
    return snapshotOf(await this.transport.json(`${API}/streams/${ref}`, { signal: options.signal }), `GET /streams/${ref} answer`)
  }

  async loadLog (id: DocRef, options: AbortOptions = {}): Promise<LogItem[]> {
    const ref = refOf(id).toString()
    const answer = objectOf(await this.transport.json(`${API}/commits/${ref}`, { signal: options.signal }), `GET /commits/${ref} answer`)
    if (!Array.isArray(answer.commits)) throw new CodecError(`GET /commits/${ref} answer has no commits list`)
    return answer.commits.map((item: unknown, i) => {
      const { cid, value } = objectOf(item, `commits[${i}]`)
      return { cid: parseCID(cid, `commits[${i}].cid`), value: commitFromJSON(value) }
    })
  }

  async loadLogWithProofs (id: DocRef, options: AbortOptions = {}): Promise<LogItemWithProof[]> {
    const ref = refOf(id).toString()
    const answer = objectOf(await this.transport.json(`${API}/kiln/streams/${ref}/log`, { signal: options.signal }), `GET /kiln/streams/${ref}/log answer`)
    if (!Array.isArray(answer.log)) throw new CodecError(`GET /kiln/streams/${ref}/log answer has no log list`)
    return answer.log.map((entry: unknown, i) => {
      const { cid, type, timestamp, value, proof } = objectOf(entry, `log[${i}]`)
      if (type !== 0 && type !== 1 && type !== 2) throw new CodecError(`log[${i}].type must be 0, 1 or 2, got ${String(type)}`)
      const item: LogItemWithProof = { cid: parseCID(cid, `log[${i}].cid`), type, value: commitFromJSON(value) }
      if (typeof timestamp === 'number') item.timestamp = timestamp
      if (proof !== undefined && proof !== null) item.proof = anchorProofOf(proof, `log[${i}].proof`)
      return item
    })
  }

  async query (query: QueryInput, options: AbortOptions = {}): Promise<QueryResult<DocSnapshot<DocID>>> {
    return queryPageOf(await this.transport.json(`${API}/kiln/query`, { method: 'POST', body: query, signal: options.signal }), 'POST /kiln/query answer')
  }

  async backlinks (id: DocRef, options: PageOptions = {}): Promise<QueryResult<DocSnapshot<DocID>>> {
    const docId = docIdOf(id).toString()
    const params = new URLSearchParams()
    if (options.first !== undefined) params.set('first', String(options.first))
    if (options.after !== undefined) params.set('after', options.after)
    const query = params.size === 0 ? '' : `?${params.toString()}`
    return queryPageOf(await this.transport.json(`${API}/kiln/streams/${docId}/backlinks${query}`, { signal: options.signal }), `GET /kiln/streams/${docId}/backlinks answer`)
  }

  watch (id: DocRef, options: AbortOptions = {}): AsyncIterableIterator<DocSnapshot<DocID>> {
    // Parsed now, so a bad id throws at the call, as the in-process node's watch does.
    const docId = docIdOf(id)
    const path = `${API}/kiln/streams/${docId.toString()}/watch`
    const deps: WatchDeps = {
      open: async (signal) => await this.transport.stream(path, { signal }),
      sleep: abortableSleep,
      random: Math.random
    }
    return watchDocument(deps, { docId, url: this.url + path, policy: this.watchReconnect, signal: options.signal })
  }

  async exportDocument (id: DocRef, options: AbortOptions = {}): Promise<Uint8Array> {
    return await this.transport.bytes(`${API}/kiln/streams/${docIdOf(id).toString()}/export`, { signal: options.signal })
  }

  async importDocument (car: Uint8Array, options: AbortOptions = {}): Promise<DocSnapshot<DocID>> {
    return snapshotOf(await this.transport.json(`${API}/kiln/import`, { method: 'POST', car, signal: options.signal }), 'POST /kiln/import answer')
  }

  async requestAnchor (id: DocRef, options: AnchorRequestOptions = {}): Promise<AnchorStatus> {
    const ref = docIdOf(id).toString()
    const opts = options.chainId === undefined ? {} : { chainId: options.chainId }
    const answer = objectOf(await this.transport.json(`${API}/streams/${ref}/anchor`, { method: 'POST', body: { opts }, signal: options.signal }), 'POST /anchor answer')
    const status = answer.anchorStatus
    if (typeof status === 'number' && (Object.values(AnchorStatus) as number[]).includes(status)) return status as AnchorStatus
    if (typeof status === 'string' && Object.hasOwn(AnchorStatus, status)) return AnchorStatus[status as keyof typeof AnchorStatus]
    throw new CodecError(`POST /streams/${ref}/anchor answered an unknown anchorStatus ${JSON.stringify(status)}`)
  }

  async pin (id: DocRef, options: AbortOptions = {}): Promise<void> {
    await this.admin('POST', `${API}/admin/pins/${docIdOf(id).toString()}`, options)
  }

  async unpin (id: DocRef, options: AbortOptions = {}): Promise<void> {
    await this.admin('DELETE', `${API}/admin/pins/${docIdOf(id).toString()}`, options)
  }

  async isPinned (id: DocRef, options: AbortOptions = {}): Promise<boolean> {
    const docId = docIdOf(id)
    const answer = objectOf(await this.admin('GET', `${API}/admin/pins/${docId.toString()}`, options), 'GET /admin/pins answer')
    return this.pinnedIds(answer).some((pinned) => pinned.equals(docId))
  }

  async listPins (options: AbortOptions = {}): Promise<DocID[]> {
    return this.pinnedIds(objectOf(await this.admin('GET', `${API}/admin/pins`, options), 'GET /admin/pins answer'))
  }

  private pinnedIds (answer: Record<string, unknown>): DocID[] {
    const ids = answer.pinnedStreamIds
    if (!Array.isArray(ids)) throw new CodecError('GET /admin/pins answer has no pinnedStreamIds list')
    return ids.map((id) => parseDocOrCommitID(String(id)).baseID)
  }

  /** An admin call: a fresh code, a JWS over the route's path, the JWS as `Authorization: Basic`. */
  private async admin (method: 'GET' | 'POST' | 'DELETE', path: string, options: AbortOptions): Promise<unknown> {
    const authorization = await adminAuthorization(this.transport, this.adminSigner, path, { signal: options.signal })
    return await this.transport.json(path, { method, headers: { authorization }, signal: options.signal })
  }

  async multiQuery (queries: MultiQuery[], options: MultiQueryOptions = {}): Promise<Map<string, DocSnapshot<DocID>>> {
    if (!Array.isArray(queries)) throw new InvalidRequestError('multiQuery takes a list of { id, paths? }')
    const body: Record<string, unknown> = {
      queries: queries.map((q) => q.paths === undefined
        ? { streamId: refOf(q.id).toString() }
        : { streamId: refOf(q.id).toString(), paths: [...q.paths] })
    }
    let timeoutMs: number | undefined
    if (options.timeoutMs !== undefined) {
      body.timeout = options.timeoutMs
      // The node may use all of its time: the request itself waits a little longer than that.
      timeoutMs = options.timeoutMs + 5_000
    }
    const answer = objectOf(await this.transport.json(`${API}/multiqueries`, { method: 'POST', body, signal: options.signal, timeoutMs }), 'POST /multiqueries answer')
    const result = new Map<string, DocSnapshot<DocID>>()
    for (const [key, state] of Object.entries(answer)) {
      result.set(key, { id: parseDocOrCommitID(key).baseID, state: docStateFromJSON(state) })
    }
    return result
  }

  async chains (options: AbortOptions = {}): Promise<string[]> {
    const answer = objectOf(await this.transport.json(`${API}/node/chains`, { signal: options.signal }), 'GET /node/chains answer')
    const chains = answer.supportedChains
    if (!Array.isArray(chains) || !chains.every((c) => typeof c === 'string')) throw new CodecError('GET /node/chains answer has no supportedChains list of strings')
    return chains as string[]
  }

  async node (options: AbortOptions = {}): Promise<NodeDescription> {
    const what = 'GET /kiln/node answer'
    const answer = objectOf(await this.transport.json(`${API}/kiln/node`, { signal: options.signal }), what)
    const stringOrNull = (key: string): string | null => {
      const value = answer[key]
      if (value !== null && typeof value !== 'string') throw new CodecError(`${what}: ${key} must be a string or null`)
      return value
    }
    const strings = (value: unknown, key: string): string[] => {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new CodecError(`${what}: ${key} must be a list of strings`)
      return value as string[]
    }
    if (!Array.isArray(answer.peers)) throw new CodecError(`${what}: peers must be a list`)
    const peers = answer.peers.map((peer: unknown, i: number) => {
      const p = objectOf(peer, `${what} peers[${i}]`)
      if (typeof p.peerId !== 'string') throw new CodecError(`${what}: peers[${i}].peerId must be a string`)
      const sync = p.sync === undefined ? undefined : objectOf(p.sync, `${what} peers[${i}].sync`) as unknown as PeerSyncState
      return { peerId: p.peerId, addresses: strings(p.addresses, `peers[${i}].addresses`), ...(sync === undefined ? {} : { sync }) }
    })
    return {
      did: stringOrNull('did'),
      peerId: stringOrNull('peerId'),
      addresses: strings(answer.addresses, 'addresses'),
      network: stringOrNull('network'),
      topic: stringOrNull('topic'),
      peers
    }
  }

  async healthcheck (options: AbortOptions = {}): Promise<boolean> {
    try {
      const status = await this.transport.status(`${API}/node/healthcheck`, { signal: options.signal })
      return status >= 200 && status < 300
    } catch (err) {
      // A probe answers yes or no; only the caller's own abort is an error.
      if (isKilnError(err, 'AbortError')) throw err
      return false
    }
  }
}
