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

  it('writes a finished catch-up sync as a JSON line with all its fields in the json format', () => {
    const out = memory()
    const logger = daemonLogger({ level: 'info', format: 'json' }, out)
    const fields = { peer: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVabcd', rounds: 23, missing: 10_000, peerMissing: 0, bytes: 48_213, received: 10_000, applied: 10_000, documents: 1_000, refused: 0, failed: 0, ms: 2_345 }
    logger.info(fields, 'synced with a peer')
    expect(out.lines).toHaveLength(1)
    expect(JSON.parse(out.lines[0]!)).toMatchObject({ level: 30, msg: 'synced with a peer', ...fields })
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

  const peer = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVabcd'

  it('shows a finished catch-up sync as a sentence with its counts and duration', () => {
    const line = JSON.stringify({ level: 30, time, name: 'kiln', msg: 'synced with a peer', peer, rounds: 23, missing: 10_000, peerMissing: 0, bytes: 48_213, received: 10_000, applied: 10_000, documents: 1_000, refused: 0, failed: 0, ms: 2_345 })
    expect(formatLogLine(line, { color: false })).toBe('03:04:05.006 INFO  synced with 12D3…abcd: 10,000 commits received, 10,000 applied over 1,000 documents, 23 rounds (48.2 kB), 2.3 s\n')
  })

  it('shows a sync that found nothing missing, and one that fetched part of what was missing with refusals', () => {
    const nothing = JSON.stringify({ level: 30, time, msg: 'synced with a peer', peer, rounds: 1, missing: 0, peerMissing: 0, bytes: 312, ms: 8 })
    expect(formatLogLine(nothing, { color: false })).toBe('03:04:05.006 INFO  synced with 12D3…abcd: nothing missing, 1 round (312 B), 8 ms\n')
    const partial = JSON.stringify({ level: 30, time, msg: 'synced with a peer', peer, rounds: 3, missing: 10_000, peerMissing: 5, bytes: 1_234_567, received: 9_800, applied: 9_790, documents: 1_000, refused: 10, failed: 2, ms: 125_000 })
    expect(formatLogLine(partial, { color: false })).toBe('03:04:05.006 INFO  synced with 12D3…abcd: 9,800 of 10,000 missing commits received, 9,790 applied over 1,000 documents, 10 refused, 2 failed, 5 commits missing on the peer, 3 rounds (1.2 MB), 2 min 5 s\n')
    const refusedBefore = JSON.stringify({ level: 30, time, msg: 'synced with a peer', peer, rounds: 2, missing: 1, peerMissing: 0, ms: 40 })
    expect(formatLogLine(refusedBefore, { color: false })).toBe('03:04:05.006 INFO  synced with 12D3…abcd: 1 commit missing here, none fetched (refused recently), 2 rounds, 40 ms\n')
  })

  it('keeps a finished sync\'s other fields, and shows one that lacks its counts field by field', () => {
    const extra = JSON.stringify({ level: 30, time, msg: 'synced with a peer', peer, rounds: 1, missing: 0, peerMissing: 0, ms: 8, family: 'profiles' })
    expect(formatLogLine(extra, { color: false })).toBe('03:04:05.006 INFO  synced with 12D3…abcd: nothing missing, 1 round, 8 ms family=profiles\n')
    const odd = JSON.stringify({ level: 30, time, msg: 'synced with a peer', peer, rounds: 'many' })
    expect(formatLogLine(odd, { color: false })).toBe(`03:04:05.006 INFO  synced with a peer peer=${peer} rounds=many\n`)
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
