import type { OutgoingHttpHeaders } from 'node:http'
import { asAnchorProof, commitToJSON, decodeRecord } from '@kiln/codec'
import { CommitID, parseDocOrCommitID, type DocID } from '@kiln/docid'
import {
  InvalidRequestError, LogEntryType, ServiceUnavailableError, type AnchorRecord, type DocSnapshot, type DocState, type Logger, type PageOptions, type QueryInput,
  type QueryResult
} from '@kiln/interface'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CID } from 'multiformats/cid'
import type { HttpApiNode } from '../api.js'
import { LatestValueWriter } from '../event-stream.js'
import { stateJSON } from '../state-json.js'

/** What the Kiln routes need besides the node. */
export interface KilnRoutesOptions {
  /** Interval of the `: keepalive` comment, in ms. */
  keepAliveMs: number
  /** Open event streams: the server aborts them all on stop. */
  streams: Set<AbortController>
  /** The most event streams open at once; past it a watch request is answered 503 `ServiceUnavailableError`. */
  maxEventStreams: number
  /** The largest CAR body of the import route, in bytes. */
  importBodyLimit: number
  logger?: Logger
}

/** The proof an anchor commit points at, read from the node's blocks, in JSON form (CIDs as strings). */
async function proofJSON (node: Pick<HttpApiNode, 'readBlock'>, anchor: AnchorRecord): Promise<Record<string, string>> {
  const cid = CID.asCID(anchor.proof) ?? CID.parse(String(anchor.proof))
  const proof = asAnchorProof(await decodeRecord(await node.readBlock(cid), cid))
  const json: Record<string, string> = { chainId: proof.chainId, root: proof.root.toString(), txHash: proof.txHash.toString() }
  if (proof.txType !== undefined) json.txType = proof.txType
  return json
}

const CAR_TYPE = 'application/vnd.ipld.car'

/** Refuses a request to the import route whose body is not declared a CAR, before the body is read. */
function requireCarBody (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
  if (type === CAR_TYPE) { done(); return }
  done(new InvalidRequestError(`Send the export as a CAR body (content-type ${CAR_TYPE}), not ${type ?? 'no content type'}`))
}

/** Kiln's own routes under `/api/v0/kiln/`: a document's states as Server-Sent Events, and its log with anchor proofs. */
export function kilnRoutes (
  app: FastifyInstance,
  node: Pick<HttpApiNode, 'load' | 'loadLog' | 'readBlock' | 'watch' | 'doctypes' | 'exportDocument' | 'importDocument' | 'query' | 'backlinks'>,
  options: KilnRoutesOptions
): void {
  const { keepAliveMs, streams, maxEventStreams, importBodyLimit, logger } = options

  /** A page of results as JSON: each document's id and state, as `GET /streams/:id` gives them. */
  const pageJSON = (page: QueryResult<DocSnapshot<DocID>>): Record<string, unknown> => {
    const json: Record<string, unknown> = {
      items: page.items.map(({ id, state }) => ({ streamId: id.toString(), state: stateJSON(node.doctypes, state) })),
      pageInfo: page.pageInfo.endCursor === undefined ? { hasNextPage: page.pageInfo.hasNextPage } : { ...page.pageInfo }
    }
    if (page.count !== undefined) json.count = page.count
    return json
  }

  // The documents this node stores that match a query (docs/queries.md); the body is the query as JSON.
  app.post('/api/v0/kiln/query', { config: { rateLimit: 'read' } }, async (request) => {
    if (request.body === null || typeof request.body !== 'object' || Array.isArray(request.body)) {
      throw new InvalidRequestError('Send the query as a JSON object body, like {"filter": {"family": "notes"}, "first": 20}')
    }
    return pageJSON(await node.query(request.body as QueryInput))
  })

  // The documents this node stores that link to this one: a query on `linksTo`, paged by `first` and `after`.
  app.get<{ Params: { id: string }, Querystring: Record<string, unknown> }>('/api/v0/kiln/streams/:id/backlinks', { config: { rateLimit: 'read' } }, async (request) => {
    const id = parseDocOrCommitID(request.params.id).baseID
    const { first, after } = request.query
    const page: PageOptions = {}
    if (first !== undefined) {
      if (typeof first !== 'string' || !/^[0-9]{1,6}$/.test(first)) throw new InvalidRequestError(`first must be a page size (a whole number), got ${JSON.stringify(first)}`)
      page.first = Number(first)
    }
    if (after !== undefined) {
      if (typeof after !== 'string') throw new InvalidRequestError('after must be one cursor')
      page.after = after
    }
    return pageJSON(await node.backlinks(id, page))
  })

  // A document as one CAR file: its log, anchors with proofs and Merkle nodes, schemas it names.
  app.get<{ Params: { id: string } }>('/api/v0/kiln/streams/:id/export', { config: { rateLimit: 'read' } }, async (request, reply) => {
    const id = parseDocOrCommitID(request.params.id).baseID
    const car = await node.exportDocument(id)
    return await reply.header('content-type', 'application/vnd.ipld.car')
      .header('content-disposition', `attachment; filename="${id.toString()}.car"`)
      .send(Buffer.from(car.buffer, car.byteOffset, car.byteLength))
  })

  // Loads an export: every commit goes through the node's apply pipeline. Only a CAR body may use the larger limit: any
  // other content type is refused before its body is read.
  app.post('/api/v0/kiln/import', { bodyLimit: importBodyLimit, config: { rateLimit: 'write' }, onRequest: requireCarBody }, async (request) => {
    if (!(request.body instanceof Uint8Array)) throw new InvalidRequestError('Send the export as a CAR body (content-type application/vnd.ipld.car)')
    const { id, state } = await node.importDocument(request.body)
    return { streamId: id.toString(), state: stateJSON(node.doctypes, state) }
  })

  app.get<{ Params: { id: string } }>('/api/v0/kiln/streams/:id/watch', { config: { rateLimit: 'eventStreams' } }, async (request, reply) => {
    const id: DocID = parseDocOrCommitID(request.params.id).baseID
    // The slot is taken before anything is opened, so that requests arriving together cannot pass the cap together.
    if (streams.size >= maxEventStreams) {
      throw new ServiceUnavailableError(`This node already serves its maximum of ${maxEventStreams} event streams: try again later`, {
        details: { maxEventStreams }
      })
    }
    const controller = new AbortController()
    const signal = controller.signal
    streams.add(controller)
    let updates: AsyncIterableIterator<{ state: DocState }>
    let current: { state: DocState }
    try {
      // Subscribed before loading, so that no state written in between is missed.
      updates = node.watch(id, { signal })
      current = await node.load(id, { signal })
    } catch (err) {
      streams.delete(controller)
      controller.abort()
      throw err
    }
    reply.hijack()
    const raw = reply.raw
    raw.on('close', () => { controller.abort() })
    if (raw.destroyed) controller.abort()
    const headers: OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value
    raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // The connection is not reused after the stream ends, so stopping the server never waits on it.
      connection: 'close',
      'x-accel-buffering': 'no'
    })
    let last = ''
    let lastLog: DocState['log'] = []
    // Called when a state is written, not when it arrives: a state replaced while the client was slow costs nothing.
    const format = (state: DocState): string | undefined => {
      // A state queued while the current one was loading may be older than it: its tip is an earlier commit of the log sent.
      const tip = state.log[state.log.length - 1]!.cid
      const at = lastLog.findIndex((entry) => entry.cid.equals(tip))
      if (at !== -1 && at < lastLog.length - 1) return undefined
      const data = JSON.stringify({ streamId: id.toString(), state: stateJSON(node.doctypes, state) })
      if (data === last) return undefined
      last = data
      lastLog = state.log
      return `event: state\ndata: ${data}\n\n`
    }
    // The watcher is read as fast as it delivers; what the socket cannot take yet waits as one latest state.
    const writer = new LatestValueWriter(raw, format)
    const keepAlive = setInterval(() => { writer.comment('keepalive') }, keepAliveMs)
    try {
      writer.offer(current.state)
      for await (const snapshot of updates) writer.offer(snapshot.state)
    } catch (err) {
      logger?.error({ err, docId: id.toString() }, 'event stream failed')
    } finally {
      clearInterval(keepAlive)
      streams.delete(controller)
      controller.abort()
      if (!raw.writableEnded) raw.end()
    }
  })

  app.get<{ Params: { id: string } }>('/api/v0/kiln/streams/:id/log', { config: { rateLimit: 'read' } }, async (request) => {
    const ref = parseDocOrCommitID(request.params.id)
    const { id, state } = await node.load(ref)
    // The log of exactly the state loaded, even if a commit lands in between.
    const tip = state.log[state.log.length - 1]!.cid
    const items = await node.loadLog(new CommitID(id.type, id.cid, tip))
    const values = new Map(items.map((item) => [item.cid.toString(), item.value]))
    const log = await Promise.all(state.log.map(async (entry) => {
      const value = values.get(entry.cid.toString())
      const item: Record<string, unknown> = { cid: entry.cid.toString(), type: entry.type }
      if (entry.timestamp !== undefined) item.timestamp = entry.timestamp
      if (value !== undefined) item.value = commitToJSON(value)
      if (entry.type === LogEntryType.ANCHOR && value !== undefined) item.proof = await proofJSON(node, value as AnchorRecord)
      return item
    }))
    return { streamId: id.toString(), log }
  })
}
