import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyReply, FastifyRequest, preParsingHookHandler } from 'fastify'

/** How much of a request body nobody wants the server reads and throws away, after answering, before it closes. */
export interface DiscardLimits {
  /** Bytes read and thrown away at most. */
  maxBytes: number
  /** Time spent at most, in ms. */
  maxMs: number
}

/**
 * True when the request announces a body that has not been read to its end: the answer would then go out while the
 * client is still sending.
 */
export function bodyPending (request: FastifyRequest): boolean {
  const raw = request.raw
  if (raw.complete) return false
  const headers = raw.headers
  if (headers['transfer-encoding'] !== undefined) return true
  const length = headers['content-length']
  return length !== undefined && length !== '0'
}

type Headers = Record<string, string | number | readonly string[] | undefined>

/** The status line and headers of an answer, as HTTP/1.1 sends them. */
function head (status: number, headers: Headers): string {
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    for (const one of Array.isArray(value) ? value : [value]) text += `${name}: ${String(one)}\r\n`
  }
  return `${text}\r\n`
}

/**
 * Answers requests whose body is refused unread (too large, over the client's rate) so that every client reads the
 * answer. Node closes a `connection: close` answer's socket as soon as the answer is written; the client is then still
 * writing its body, the unread bytes make the kernel reset the connection, and a client that writes its whole body
 * before reading (`fetch`, `node:http`) sees EPIPE or ECONNRESET instead of the answer. Here the answer is written
 * and the write side closed (FIN), then the body is read and thrown away until it ends, up to `maxBytes` or `maxMs`,
 * and only then is the socket closed: the lingering close of nginx. Past either bound the connection is closed anyway,
 * so an endless or huge body costs the server a bounded amount of reading.
 */
export class EarlyAnswers {
  private readonly limits: DiscardLimits
  private readonly lingering = new Set<Socket>()

  constructor (limits: DiscardLimits) {
    this.limits = limits
  }

  /**
   * Sends `payload` (JSON) with `status` and the reply's headers, closes the write side, and drains the request's body.
   * The reply is hijacked: Fastify sends nothing more for it.
   */
  send (request: FastifyRequest, reply: FastifyReply, status: number, payload: string): void {
    const raw = request.raw
    const socket = raw.socket
    reply.hijack()
    if (socket.destroyed) return
    const headers: Headers = {
      ...reply.getHeaders(),
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      connection: 'close',
      date: new Date().toUTCString()
    }
    // Written to the socket itself: Node's own response would close the connection the moment it is written. An
    // answer to HEAD has no body.
    socket.end(head(status, headers) + (request.method === 'HEAD' ? '' : payload))
    this.drain(raw, socket)
  }

  /** Closes every connection still being drained (the server is stopping). */
  closeAll (): void {
    for (const socket of this.lingering) socket.destroy()
    this.lingering.clear()
  }

  private drain (raw: IncomingMessage, socket: Socket): void {
    this.lingering.add(socket)
    let read = 0
    // Once all was read, closing cannot reset the connection; the answer is flushed first.
    const closeWhenFlushed = (): void => {
      if (socket.writableFinished) socket.destroy()
      else socket.once('finish', () => { socket.destroy() })
    }
    const timer = setTimeout(() => { socket.destroy() }, this.limits.maxMs)
    timer.unref()
    socket.once('close', () => {
      clearTimeout(timer)
      this.lingering.delete(socket)
    })
    raw.removeAllListeners('data')
    raw.on('data', (chunk: Buffer) => {
      read += chunk.length
      if (read > this.limits.maxBytes) socket.destroy()
    })
    raw.once('end', closeWhenFlushed)
    raw.resume()
  }
}

/**
 * A `preParsing` hook for clients that ask before sending a body (`Expect: 100-continue`, as curl does for large
 * ones; the server is made to leave the answer to it): they are told to go on only once the request has passed what
 * is checked before the body — route, rate, declared size. A refused request is answered at once, and its body is
 * never sent.
 */
export function continueUnlessRefused (defaultBodyLimit: number): preParsingHookHandler {
  return function sendContinue (request, reply, payload, done) {
    const expect = request.headers.expect
    if (typeof expect === 'string' && expect.toLowerCase() === '100-continue' && !request.is404) {
      const declared = Number(request.headers['content-length'])
      const limit = request.routeOptions.bodyLimit ?? defaultBodyLimit
      if (!(declared > limit) && !reply.raw.headersSent) reply.raw.writeContinue()
    }
    done(null, payload)
  }
}
