// The daemon under soak: `kiln daemon` as a child process on 127.0.0.1 and a free port, with the probe (probe.mjs)
// loaded into it, and the readings of its memory and file descriptors the soak compares.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../packages/cli/bin/kiln.js', import.meta.url))
const PROBE = new URL('./probe.mjs', import.meta.url).href
/** Daemon log lines kept for a failure message: the last ones. */
const KEPT_LOG_LINES = 200

/**
 * Starts the daemon and waits for its `listening` line. `args` are more `kiln daemon` flags. Resolves with its URL and
 * pid, `probe(message)` (a question to probe.mjs), `logs` (its last log lines and counts of warnings and errors),
 * `exited` (resolves with the exit code) and `stop()` (SIGTERM, then waits for the exit).
 */
export async function startDaemon ({ dataDir, args = [], timeoutMs = 30_000 }) {
  const child = spawn(process.execPath, ['--expose-gc', '--import', PROBE, BIN, 'daemon', '--host', '127.0.0.1', '--port', '0', '--p2p-listen', 'none', '--json', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc']
  })
  const logs = { lines: [], warnings: 0, errors: 0 }
  createInterface({ input: child.stderr }).on('line', (line) => {
    logs.lines.push(line)
    if (logs.lines.length > KEPT_LOG_LINES) logs.lines.shift()
    // pino's levels: 40 warn, 50 error, 60 fatal
    try {
      const level = JSON.parse(line).level
      if (level >= 50) logs.errors++
      else if (level === 40) logs.warnings++
    } catch { /* not a JSON line: a crash's stack trace */ logs.errors++ }
  })
  const exited = new Promise((resolve) => { child.once('exit', (code, signal) => { resolve(code ?? signal) }) })
  const pending = new Map()
  let nextId = 1
  child.on('message', (message) => {
    const waiter = pending.get(message.id)
    if (waiter === undefined) return
    pending.delete(message.id)
    if (message.error !== undefined) waiter.reject(new Error(`probe: ${message.error}`))
    else waiter.resolve(message)
  })
  void exited.then((code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`the daemon exited (${code}) before the probe answered`))
    pending.clear()
  })
  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the daemon did not start in ${timeoutMs} ms:\n${logs.lines.join('\n')}`)) }, timeoutMs)
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const event = JSON.parse(line)
        if (event.event === 'listening') { clearTimeout(timer); resolve(event) }
      } catch { /* not a JSON line */ }
    })
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`the daemon exited (${code}) before listening:\n${logs.lines.join('\n')}`)) })
  })
  return {
    url: listening.url,
    pid: child.pid,
    dataDir,
    logs,
    exited,
    probe (message) {
      if (child.exitCode !== null || child.signalCode !== null || !child.connected) return Promise.reject(new Error('the daemon is not running'))
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        child.send({ ...message, id })
      })
    },
    async stop () {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return await exited
    }
  }
}

/**
 * Resident set size of a process in bytes (VmRSS), its peak (VmHWM), and its two parts: `anon` (the heap, malloc's
 * arenas, stacks) and `file` (mapped files: the node binary, and the LevelDB tables classic-level maps for reading,
 * which the kernel may drop at will); undefined where /proc is not there.
 */
export function residentMemory (pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024
    return { rss: kb('VmRSS'), peak: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') }
  } catch {
    return undefined
  }
}

/**
 * The open file descriptors of a process, counted by kind: `sockets`, `pipes`, `storage` (files under `dataDir` that
 * LevelDB keeps open: its lock, info log, manifest and write-ahead log, and any table it reads through a descriptor
 * rather than a mapping), `compaction` (tables LevelDB is writing in the background as it flushes and compacts: they
 * come and go with its own work, not with the load), `anon` (epoll, eventfd…) and `files` (anything else). `total`
 * counts them all, `steady` all but `compaction`. Undefined without /proc.
 */
export function openFiles (pid, dataDir) {
  let names
  try {
    names = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return undefined
  }
  const counts = { total: 0, steady: 0, sockets: 0, pipes: 0, storage: 0, compaction: 0, anon: 0, files: 0 }
  for (const name of names) {
    let target
    let flags
    try {
      target = readlinkSync(`/proc/${pid}/fd/${name}`)
      if (/\.(ldb|sst)$/.test(target)) flags = Number.parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${name}`, 'utf8'))?.[1] ?? '0', 8)
    } catch {
      continue // closed while we read the directory
    }
    counts.total++
    // O_ACCMODE is 3, O_WRONLY 1: LevelDB opens the tables it writes write-only, those it reads read-only.
    if (flags !== undefined && (flags & 3) === 1) { counts.compaction++; continue }
    counts.steady++
    if (target.startsWith('socket:')) counts.sockets++
    else if (target.startsWith('pipe:')) counts.pipes++
    else if (target.startsWith('anon_inode:')) counts.anon++
    else if (target.startsWith(dataDir)) counts.storage++
    else counts.files++
  }
  return counts
}
