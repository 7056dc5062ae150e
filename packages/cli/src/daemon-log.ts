import { pino, type Logger as PinoLogger } from 'pino'
import type { DaemonConfig } from './config.js'
import { FINISHED_SYNC_FIELDS, finishedSyncText, type StatusLine } from './sync-progress.js'

/** How the daemon writes its logs: readable lines for a person at a terminal, or JSON lines for programs. */
export type LogFormat = 'pretty' | 'json'

/**
 * The log format for a daemon: JSON lines when asked for (`--json`) or when its output is not a terminal (a file, a
 * pipe, a service manager), readable lines otherwise. `isTTY` is true only when both standard output and standard
 * error are terminals, so a redirected log file never gets colours.
 */
export function logFormat (options: { json: boolean, isTTY: boolean }): LogFormat {
  return options.json || !options.isTTY ? 'json' : 'pretty'
}

/** Where a logger writes: one call per log line. */
export interface LogDestination {
  write(line: string): unknown
}

/** Options of {@link daemonLogger}. */
export interface DaemonLoggerOptions {
  level: DaemonConfig['logLevel']
  format: LogFormat
  /** ANSI colours in the `pretty` format. */
  color?: boolean
}

const INFO = 30

/**
 * True for the log calls Fastify makes about each request (`incoming request`, `request completed`, a 4xx answer,
 * a stream closed early): they carry the request or the reply as `req` or `res`.
 */
export function isRequestLog (args: readonly unknown[]): boolean {
  const first = args[0]
  return typeof first === 'object' && first !== null && ('req' in first || 'res' in first)
}

/**
 * The daemon's pino logger. Requests are logged at `debug`, not `info`: a busy node would otherwise print two lines
 * per request, burying what an operator needs (start, stop, anchors, errors). Fastify logs them at `info` itself, so
 * a log-method hook moves them down a level; `--log-level debug` shows them.
 */
export function daemonLogger (options: DaemonLoggerOptions, destination: LogDestination): PinoLogger {
  const target = options.format === 'pretty' ? prettyDestination(destination, options.color === true) : destination
  return pino({
    level: options.level,
    base: { name: 'kiln' },
    hooks: {
      logMethod (args, method, level) {
        if (level === INFO && isRequestLog(args)) {
          this.debug(...args)
          return
        }
        method.apply(this, args)
      }
    }
  }, target)
}

/** A destination that writes each JSON log line to `out` as a readable line. */
export function prettyDestination (out: LogDestination, color: boolean): LogDestination {
  return { write: (line: string) => out.write(formatLogLine(line, { color })) }
}

const LEVELS: Record<number, { name: string, color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '36' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '41;97' }
}

/** Keys every line has, or that the layout shows elsewhere. */
const HIDDEN = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname', 'err', 'req', 'res'])

/**
 * One pino JSON line as a person reads it: `12:34:56.789 INFO  message key=value …`, a request as `GET /path`, a
 * reply as its status, an error's stack on the lines after. A line that is not a JSON object is passed on unchanged.
 */
export function formatLogLine (line: string, options: { color: boolean }): string {
  let entry: unknown
  try {
    entry = JSON.parse(line)
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return line.endsWith('\n') ? line : `${line}\n`
  const record = entry as Record<string, unknown>
  const paint = (code: string, text: string): string => options.color ? `\u001b[${code}m${text}\u001b[0m` : text
  const level = typeof record.level === 'number' ? LEVELS[record.level] : undefined
  const parts = [
    paint('90', clock(record.time)),
    paint(level?.color ?? '0', (level?.name ?? String(record.level)).padEnd(5))
  ]
  // A finished catch-up sync reads as a sentence with its counts and duration; fields it does not name follow as usual.
  const sentence = record.msg === 'synced with a peer' ? finishedSyncText(record) : undefined
  if (sentence !== undefined) parts.push(sentence)
  else if (typeof record.msg === 'string' && record.msg !== '') parts.push(record.msg)
  const request = describeRequest(record.req)
  if (request !== undefined) parts.push(request)
  const reply = describeReply(record.res)
  if (reply !== undefined) parts.push(reply)
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN.has(key) || value === undefined || (sentence !== undefined && FINISHED_SYNC_FIELDS.has(key))) continue
    // Fastify's responseTime has a dozen decimals of milliseconds: one is enough to read.
    const text = key === 'responseTime' && typeof value === 'number' ? `${value.toFixed(1)}ms` : valueText(value)
    parts.push(paint('90', `${key}=`) + text)
  }
  let text = parts.join(' ')
  const err = record.err as { message?: unknown, stack?: unknown } | undefined
  if (err !== null && typeof err === 'object') {
    const detail = typeof err.stack === 'string' ? err.stack : String(err.message)
    text += `\n${detail.split('\n').map((l) => `    ${l}`).join('\n')}`
  }
  return `${text}\n`
}

/** `HH:MM:SS.mmm` in local time, for a log line's `time` (milliseconds since the epoch). */
function clock (time: unknown): string {
  if (typeof time !== 'number') return '--:--:--.---'
  const d = new Date(time)
  const two = (n: number): string => String(n).padStart(2, '0')
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`
}

function describeRequest (req: unknown): string | undefined {
  if (req === null || typeof req !== 'object') return undefined
  const { method, url } = req as { method?: unknown, url?: unknown }
  return `${String(method ?? '?')} ${String(url ?? '?')}`
}

function describeReply (res: unknown): string | undefined {
  if (res === null || typeof res !== 'object') return undefined
  const { statusCode } = res as { statusCode?: unknown }
  return statusCode === undefined ? undefined : `→ ${String(statusCode)}`
}

function valueText (value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  return JSON.stringify(value) ?? String(value)
}

/** A stream a status line can be drawn on: a terminal tells `isTTY` and its width in `columns`. */
export interface TerminalStream {
  write(chunk: string): unknown
  isTTY?: boolean
  columns?: number
}

/** Back to the start of the line, and erase it. */
const CLEAR_LINE = '\r\u001b[2K'

/**
 * One status line at the bottom of a terminal, and the log destination that writes above it: a log line is written
 * where the status line was (erased first, so the two never mix), and the status line comes back at its next redraw,
 * with what is true then; a log line is often the news that it changed (a finished sync). The line is cut to the
 * terminal's width, since a wrapped line could not be erased in place. On a stream that is not a terminal, `show`
 * draws nothing.
 */
export function terminalStatus (out: TerminalStream): StatusLine & LogDestination {
  let shown: string | undefined
  return {
    show (text) {
      if (out.isTTY !== true) return
      const fitted = fitToWidth(text, out.columns)
      if (fitted === shown) return
      out.write(`${CLEAR_LINE}${fitted}`)
      shown = fitted
    },
    clear () {
      if (shown === undefined) return
      out.write(CLEAR_LINE)
      shown = undefined
    },
    write (line) {
      if (shown === undefined) return out.write(line)
      shown = undefined
      return out.write(`${CLEAR_LINE}${line}`)
    }
  }
}

/** `text` cut to fit in a terminal `columns` wide, leaving the last column free so the cursor never wraps. */
function fitToWidth (text: string, columns: number | undefined): string {
  if (columns === undefined || columns < 2 || text.length < columns) return text
  return `${text.slice(0, columns - 2)}…`
}
