import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { daemonLogger, formatLogLine, logFormat } from '@kiln/cli'
import { afterEach, describe, expect, it } from 'vitest'

const bin = resolve(import.meta.dirname, '../bin/kiln.js')

const made: string[] = []
afterEach(() => { for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true }) })

/** A data directory path under a fresh temporary directory (the path itself does not exist yet). */
function freshDataDir (): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-log-'))
  made.push(dir)
  return join(dir, 'data')
}

/** A destination that keeps each line a logger writes. */
function memory (): { lines: string[], write: (line: string) => void } {
  const lines: string[] = []
  return { lines, write: (line) => { lines.push(line) } }
}

describe('choosing the log format', () => {
  it('writes readable lines only to a terminal, and JSON lines with --json or when the output is not a terminal', () => {
    expect(logFormat({ json: false, isTTY: true })).toBe('pretty')
    expect(logFormat({ json: true, isTTY: true })).toBe('json')
    expect(logFormat({ json: false, isTTY: false })).toBe('json')
    expect(logFormat({ json: true, isTTY: false })).toBe('json')
  })
})

describe('the daemon logger', () => {
  it('logs the requests Fastify reports at debug level, not info, keeping other info lines', () => {
    for (const level of ['info', 'debug'] as const) {
      const out = memory()
      const logger = daemonLogger({ level, format: 'json' }, out)
      logger.info({ url: 'http://127.0.0.1:7007' }, 'kiln daemon started')
      // What Fastify does for each request: a child logger bound to the request id, two info calls.
      const request = logger.child({ reqId: 'req-1' })
      request.info({ req: { method: 'GET', url: '/api/v0/node/healthcheck' } }, 'incoming request')
      request.info({ res: { statusCode: 200 }, responseTime: 1.5 }, 'request completed')
      const entries = out.lines.map((l) => JSON.parse(l) as { level: number, msg: string, reqId?: string })
      expect(entries.filter((e) => e.level === 30).map((e) => e.msg)).toEqual(['kiln daemon started'])
      const debug = entries.filter((e) => e.level === 20)
      expect(debug.map((e) => e.msg)).toEqual(level === 'debug' ? ['incoming request', 'request completed'] : [])
      if (level === 'debug') expect(debug[0]!.reqId).toBe('req-1')
    }
  })

  it('writes readable lines in the pretty format', () => {
    const out = memory()
    const logger = daemonLogger({ level: 'info', format: 'pretty', color: false }, out)
    logger.info({ url: 'http://127.0.0.1:7007', chains: ['inmemory:12345'] }, 'kiln daemon started')
    expect(out.lines).toHaveLength(1)
    expect(out.lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}kiln daemon started url=http:\/\/127\.0\.0\.1:7007 chains=\["inmemory:12345"\]\n$/)
    expect(() => JSON.parse(out.lines[0]!) as unknown).toThrow()
  })
})

describe('a readable log line', () => {
  const time = new Date(2024, 0, 2, 3, 4, 5, 6).getTime()

  it('shows the time, the level, the message and the other fields', () => {
    const line = JSON.stringify({ level: 40, time, name: 'kiln', msg: 'anchor failed', docId: 'kjzl6abc', note: 'two words' })
    expect(formatLogLine(line, { color: false })).toBe('03:04:05.006 WARN  anchor failed docId=kjzl6abc note="two words"\n')
  })

  it('shows a request as its method and path, a reply as its status, an error with its stack', () => {
    const request = JSON.stringify({ level: 20, time, msg: 'incoming request', reqId: 'req-1', req: { method: 'POST', url: '/api/v0/commits' } })
    expect(formatLogLine(request, { color: false })).toBe('03:04:05.006 DEBUG incoming request POST /api/v0/commits reqId=req-1\n')
    const completed = JSON.stringify({ level: 20, time, msg: 'request completed', reqId: 'req-1', res: { statusCode: 200 }, responseTime: 28.21454999999969 })
    expect(formatLogLine(completed, { color: false })).toBe('03:04:05.006 DEBUG request completed → 200 reqId=req-1 responseTime=28.2ms\n')
    const failed = JSON.stringify({ level: 50, time, msg: 'write failed', res: { statusCode: 503 }, err: { type: 'StorageError', message: 'disk full', stack: 'StorageError: disk full\n    at write' } })
    expect(formatLogLine(failed, { color: false })).toBe('03:04:05.006 ERROR write failed → 503\n    StorageError: disk full\n        at write\n')
  })

  it('colours the level on request and passes a line that is not JSON through', () => {
    expect(formatLogLine(JSON.stringify({ level: 50, time, msg: 'x' }), { color: true })).toContain('\u001b[31mERROR\u001b[0m')
    expect(formatLogLine('not json', { color: true })).toBe('not json\n')
  })
})

describe('kiln daemon writing to a pipe', () => {
  it('logs JSON lines, with requests at debug level and never at info', async () => {
    const dataDir = freshDataDir()
    const child = spawn(process.execPath, [bin, 'daemon', '--port', '0', '--anchor', 'none', '--p2p-listen', 'none', '--log-level', 'debug', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
    const stderr: string[] = []
    createInterface({ input: child.stderr }).on('line', (line) => { stderr.push(line) })
    const exited = new Promise<number | null>((resolve) => { child.once('close', (code) => { resolve(code) }) })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          const match = /^kiln listening on (\S+)$/.exec(line)
          if (match !== null) resolve(match[1]!)
        })
        void exited.then((code) => { reject(new Error(`daemon exited with ${String(code)}:\n${stderr.join('\n')}`)) })
      })
      expect((await fetch(`${url}/api/v0/node/healthcheck`)).status).toBe(200)
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    const entries = stderr.filter((l) => l !== '').map((l) => JSON.parse(l) as { level: number, msg?: string, req?: { url?: string }, res?: unknown })
    expect(entries.some((e) => e.level === 30 && e.msg === 'kiln daemon started')).toBe(true)
    expect(entries.some((e) => e.level === 20 && e.msg === 'incoming request' && e.req?.url === '/api/v0/node/healthcheck')).toBe(true)
    expect(entries.filter((e) => e.level >= 30 && (e.req !== undefined || e.res !== undefined))).toEqual([])
  })

  it('refuses an unknown --durability with a ConfigError before creating anything', async () => {
    const dataDir = freshDataDir()
    const child = spawn(process.execPath, [bin, 'daemon', '--port', '0', '--anchor', 'none', '--p2p-listen', 'none', '--durability', 'fast', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
    const code = await new Promise<number | null>((resolve) => { child.once('close', (c) => { resolve(c) }) })
    expect(code).toBe(1)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain('kiln daemon: ConfigError: option durability must be "strict" (fsync every acknowledged write) or "relaxed" (no fsync), got "fast"')
    expect(existsSync(dataDir)).toBe(false)
  })
})
