import { commitFromJSON, encodeRecord, isSignedCommit, openSignedCommit } from '@kiln/codec'
import { isCommitID, parseDocOrCommitID, type DocOrCommitID } from '@kiln/docid'
import { InvalidCommitError, InvalidDocIDError, isKilnError, type Commit, type DocState } from '@kiln/interface'
import type { FastifyInstance } from 'fastify'
import type { HttpApiNode } from '../api.js'
import { stateJSON } from '../state-json.js'

/** Ceramic's default, used when a request gives no `timeout`. */
export const DEFAULT_MULTIQUERY_TIMEOUT_MS = 7_000
/** The longest `timeout` honoured; a larger one is cut to this. */
export const MAX_MULTIQUERY_TIMEOUT_MS = 60_000

interface QueryJSON {
  streamId: string
  paths?: string[]
  genesis?: Record<string, unknown>
  opts?: Record<string, unknown>
}

interface MultiqueryBody {
  queries: QueryJSON[]
  timeout?: number
}

const multiquerySchema = {
  body: {
    type: 'object',
    required: ['queries'],
    properties: {
      queries: {
        type: 'array',
        maxItems: 1000,
        items: {
          type: 'object',
          required: ['streamId'],
          properties: {
            streamId: { type: 'string' },
            paths: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 1024 } },
            genesis: { type: 'object' },
            opts: { type: 'object' }
          }
        }
      },
      timeout: { type: 'number', minimum: 0 }
    }
  }
} as const

interface Query {
  ref: DocOrCommitID
  genesis?: Commit
  paths: string[][]
}

type Loaded = { state: DocState } | undefined

/** Checks a query up front: a parseable id, and a genesis (if any) that is the genesis of that id. */
async function readQuery (json: QueryJSON, index: number): Promise<Query> {
  let ref: DocOrCommitID
  try {
    ref = parseDocOrCommitID(json.streamId)
  } catch (err) {
    if (!isKilnError(err)) throw err
    throw new InvalidDocIDError(`queries[${index}].streamId: ${err.message}`, { cause: err, details: { ...err.details, field: `queries.${index}.streamId` } })
  }
  const paths = (json.paths ?? []).map((path) => path.split('/').filter((segment) => segment !== ''))
  if (json.genesis === undefined) return { ref, paths }
  const genesis = commitFromJSON(json.genesis)
  const cid = isSignedCommit(genesis) ? (await openSignedCommit(genesis)).envelope.cid : (await encodeRecord(genesis)).cid
  if (!cid.equals(ref.baseID.cid)) {
    throw new InvalidCommitError(`queries[${index}].genesis is not the genesis of ${ref.baseID.toString()}: its CID is ${cid.toString()}`, {
      details: { field: `queries.${index}.genesis`, docId: ref.baseID.toString(), cid: cid.toString() }
    })
  }
  return { ref, genesis, paths }
}

function refOf (value: string): DocOrCommitID | undefined {
  try {
    return parseDocOrCommitID(value)
  } catch {
    return undefined
  }
}

/**
 * One multiquery: loads every query's document (creating it from `genesis` when it is unknown), follows `paths`
 * through DocID strings in content, and collects each document reached. Stops at the deadline with what it has.
 */
class Multiquery {
  readonly results = new Map<string, DocState>()
  private readonly loads = new Map<string, Promise<Loaded>>()

  constructor (private readonly node: Pick<HttpApiNode, 'load' | 'createDocument'>, private readonly signal: AbortSignal) {}

  async run (queries: Query[]): Promise<void> {
    await Promise.all(queries.map(async (query) => {
      const loaded = await this.loadOnce(query.ref, query.genesis)
      if (loaded === undefined || this.signal.aborted) return
      this.results.set(query.ref.toString(), loaded.state)
      await Promise.all(query.paths.map(async (segments) => { await this.follow(loaded.state, segments) }))
    }))
  }

  private async follow (state: DocState, segments: string[]): Promise<void> {
    let value: unknown = state.content
    for (const segment of segments) {
      if (this.signal.aborted) return
      if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return
      value = (value as Record<string, unknown>)[segment]
      if (typeof value !== 'string') continue
      const ref = refOf(value)
      if (ref === undefined) return
      const loaded = await this.loadOnce(ref)
      if (loaded === undefined || this.signal.aborted) return
      this.results.set(ref.toString(), loaded.state)
      value = loaded.state.content
    }
  }

  private async loadOnce (ref: DocOrCommitID, genesis?: Commit): Promise<Loaded> {
    const key = ref.toString()
    let pending = this.loads.get(key)
    if (pending === undefined) {
      pending = this.load(ref, genesis)
      this.loads.set(key, pending)
    }
    return await pending
  }

  private async load (ref: DocOrCommitID, genesis?: Commit): Promise<Loaded> {
    try {
      return await this.node.load(ref, { signal: this.signal })
    } catch (err) {
      if (this.signal.aborted) return undefined
      if (!isKilnError(err, 'DocumentNotFoundError')) throw err
      if (genesis === undefined) return undefined
      // A genesis makes only the document's first state: a CommitID at any other commit stays not found, and nothing
      // is created for it (creating it would write, and the query would still not be answered).
      if (isCommitID(ref) && !ref.commit.equals(ref.baseID.cid)) return undefined
    }
    const created = await this.node.createDocument(ref.type, genesis, { anchor: false, pin: false, signal: this.signal })
    return ref.baseID === ref ? created : await this.node.load(ref, { signal: this.signal })
  }
}

/** `POST /multiqueries`: several documents, and the documents their content links to, in one call. */
export function multiqueryRoutes (app: FastifyInstance, node: Pick<HttpApiNode, 'load' | 'createDocument' | 'doctypes'>): void {
  app.post<{ Body: MultiqueryBody }>('/api/v0/multiqueries', { schema: multiquerySchema, config: { rateLimit: 'read' } }, async (request) => {
    const queries = await Promise.all(request.body.queries.map(readQuery))
    const timeoutMs = Math.min(request.body.timeout ?? DEFAULT_MULTIQUERY_TIMEOUT_MS, MAX_MULTIQUERY_TIMEOUT_MS)
    const controller = new AbortController()
    const run = new Multiquery(node, controller.signal)
    let timer: ReturnType<typeof setTimeout> | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => { controller.abort(); resolve() }, timeoutMs)
    })
    try {
      await Promise.race([run.run(queries), deadline])
    } finally {
      clearTimeout(timer)
      controller.abort()
    }
    const answer: Record<string, unknown> = {}
    for (const [key, state] of run.results) answer[key] = stateJSON(node.doctypes, state)
    return answer
  })
}
