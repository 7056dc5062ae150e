// The soak's HTTP client: node:http with keep-alive connections (cheaper per request than fetch, so the load
// generator leaves the CPU to the daemon), counts of every answer per load part, and a way to close every connection
// it opened and know they are closed, so that the daemon's file descriptors are counted with no client attached.
import { Agent, request } from 'node:http'

/** How long one request may take before it counts as an error: the daemon hung. */
const REQUEST_TIMEOUT_MS = 60_000
/** Error messages kept per part for the report. */
const KEPT_ERRORS = 5

/** The counts of one load part. */
function partStats () {
  return { requests: 0, ok: 0, expected: 0, errors: 0, statuses: {}, counts: {}, firstErrors: [] }
}

/** The soak's client of one daemon. */
export class LoadClient {
  #url
  #maxSockets
  #agent
  /** Every connection opened and not closed yet, pooled or streaming. */
  #sockets = new Set()
  /** Counts per part name. */
  stats = new Map()

  constructor (url, { maxSockets = 32 } = {}) {
    this.#url = url
    this.#maxSockets = maxSockets
    this.#agent = new Agent({ keepAlive: true, maxSockets })
  }

  /** The counts of `part` (made on first use). */
  stat (part) {
    let stats = this.stats.get(part)
    if (stats === undefined) { stats = partStats(); this.stats.set(part, stats) }
    return stats
  }

  /** Adds `n` to a part's own counter `name` (conflicts, events, pins…). */
  count (part, name, n = 1) {
    const counts = this.stat(part).counts
    counts[name] = (counts[name] ?? 0) + n
  }

  /** Records an error of `part`: a 5xx, an answer the part did not expect, a dropped connection, a harness fault. */
  error (part, message) {
    const stats = this.stat(part)
    stats.errors++
    if (stats.firstErrors.length < KEPT_ERRORS) stats.firstErrors.push(String(message).slice(0, 500))
  }

  /**
   * Sends one request on a pooled keep-alive connection. `body` is sent as JSON; `expect` lists the non-2xx statuses
   * the part expects (a 409 on an update the anchor overtook, a 404 asked for). Resolves with `{status, json}` (`text`
   * for `as: 'text'`, `bytes` for `as: 'bytes'`), or undefined when the answer was an error, which is then counted.
   */
  async request (part, method, path, { body, headers = {}, expect = [], as = 'json' } = {}) {
    const stats = this.stat(part)
    stats.requests++
    let status
    let bytes
    try {
      ({ status, bytes } = await this.#send(method, path, body, headers))
    } catch (err) {
      this.error(part, `${method} ${path}: ${err.message}`)
      return undefined
    }
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1
    const isOk = status >= 200 && status < 300
    if (!isOk && !expect.includes(status)) {
      this.error(part, `${method} ${path}: HTTP ${status} ${bytes.toString('utf8').slice(0, 300)}`)
      return undefined
    }
    if (isOk) stats.ok++
    else stats.expected++
    if (as === 'bytes') return { status, bytes }
    const text = bytes.toString('utf8')
    if (as === 'text') return { status, text }
    try {
      return { status, json: JSON.parse(text) }
    } catch {
      this.error(part, `${method} ${path}: HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`)
      return undefined
    }
  }

  /**
   * Opens a long GET (an event stream) on a connection of its own. Resolves with `{response, close}`: `close()` ends it
   * and resolves once the connection is closed; or with undefined when the daemon answered anything but 200 (counted).
   */
  async open (part, path) {
    const stats = this.stat(part)
    stats.requests++
    const req = request(`${this.#url}${path}`, { agent: false, headers: { accept: 'text/event-stream' } })
    const closed = new Promise((resolve) => { req.once('close', resolve) })
    req.on('socket', (socket) => { this.#track(socket) })
    const close = async () => {
      req.destroy()
      await closed
    }
    let response
    try {
      response = await new Promise((resolve, reject) => {
        req.once('response', resolve)
        req.once('error', reject)
        req.end()
      })
    } catch (err) {
      this.error(part, `GET ${path}: ${err.message}`)
      await close()
      return undefined
    }
    // Errors after this point (the stream cut) are for the reader to judge; this listener only keeps them from throwing.
    req.on('error', () => {})
    stats.statuses[response.statusCode] = (stats.statuses[response.statusCode] ?? 0) + 1
    if (response.statusCode !== 200) {
      const chunks = []
      for await (const chunk of response) chunks.push(chunk)
      this.error(part, `GET ${path}: HTTP ${response.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`)
      await close()
      return undefined
    }
    stats.ok++
    return { response, close }
  }

  /** Closes every connection this client opened, and resolves once each has emitted `close`. New requests get new ones. */
  async closeAll () {
    const sockets = [...this.#sockets]
    const closed = Promise.all(sockets.map((socket) => new Promise((resolve) => { socket.once('close', resolve) })))
    this.#agent.destroy()
    for (const socket of sockets) socket.destroy()
    await closed
    this.#agent = new Agent({ keepAlive: true, maxSockets: this.#maxSockets })
  }

  #track (socket) {
    if (this.#sockets.has(socket)) return
    this.#sockets.add(socket)
    socket.once('close', () => { this.#sockets.delete(socket) })
  }

  #send (method, path, body, headers) {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const allHeaders = { ...headers }
    if (payload !== undefined) {
      allHeaders['content-type'] = 'application/json'
      allHeaders['content-length'] = Buffer.byteLength(payload)
    }
    return new Promise((resolve, reject) => {
      const req = request(`${this.#url}${path}`, { method, agent: this.#agent, headers: allHeaders, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        const chunks = []
        res.on('data', (chunk) => { chunks.push(chunk) })
        res.on('end', () => { resolve({ status: res.statusCode, bytes: Buffer.concat(chunks) }) })
        res.on('error', reject)
      })
      req.on('socket', (socket) => { this.#track(socket) })
      req.on('timeout', () => { req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)) })
      req.on('error', reject)
      req.end(payload)
    })
  }
}
