// The soak: one daemon under a mixed load (the parts in parts/) for a set time, and the daemon's memory and file
// descriptors at quiescent checkpoints — at the start, after the warm-up, and after each lap of the rest. run.mjs
// prints the figures; the integration test runs a short soak through run.mjs and checks them.
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keyDidSigner } from '@kiln/signing'
import { openFiles, residentMemory, startDaemon } from './daemon.mjs'
import { DocumentPool, seededRandom } from './documents.mjs'
import { LoadClient } from './load-client.mjs'

/** The mock chain mines a block this often: several anchor rounds per lap, even in a short soak. */
const ANCHOR_INTERVAL_MS = 1000
/** How long the load parts have to finish their steps once a phase ends: longer than a request may take. */
const STOP_GRACE_MS = 90_000
/** How long the daemon has to close its side of the connections once the soak closed every one of its own. */
const SETTLE_MS = 30_000

/**
 * Runs a soak and resolves with its result (see run.mjs for what it prints):
 * - `seconds` of load in all, the first `warmup` fraction of it warm-up, the rest in `laps` laps;
 * - `parts`: the load parts (parts/index.mjs);
 * - `samples` readings at each checkpoint, of which the median counts;
 * - `seed` for every random choice of the load and the keys;
 * - `snapshotDir`: when set, a V8 heap snapshot of the daemon at each checkpoint goes there;
 * - `daemonConfig`: settings of the daemon's config file (`cacheSize`…), `daemonArgs`: more `kiln daemon` flags;
 * - `log(line)` is told of each checkpoint; `signal` ends the soak early.
 */
export async function runSoak ({ seconds, warmup = 0.2, laps = 5, samples = 5, seed = 1, parts, snapshotDir, daemonConfig, daemonArgs = [], log = () => {}, signal }) {
  const random = seededRandom(seed)
  const seedBytes = (tag) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + tag * 7 + i) & 0xff)
  const signer = keyDidSigner({ seed: seedBytes(1) })
  const adminSigner = keyDidSigner({ seed: seedBytes(2) })
  const dataDir = await realpath(await mkdtemp(join(tmpdir(), 'kiln-soak-')))
  const run = new AbortController()
  const onAbort = () => { run.abort(signal.reason) }
  signal?.addEventListener('abort', onAbort, { once: true })
  let daemon
  /** The parts whose setup ran, torn down whatever happens. */
  const setUp = []
  let ctx
  try {
    const configArgs = []
    if (daemonConfig !== undefined) {
      const file = join(dataDir, 'soak-config.json')
      await writeFile(file, JSON.stringify(daemonConfig))
      configArgs.push('--config', file)
    }
    daemon = await startDaemon({
      dataDir,
      args: ['--anchor', 'mock', '--anchor-interval', String(ANCHOR_INTERVAL_MS), '--admin-did', adminSigner.did, '--log-level', 'warn', ...configArgs, ...parts.flatMap((p) => p.daemonArgs ?? []), ...daemonArgs]
    })
    let crashed
    let stopping = false
    void daemon.exited.then((code) => {
      if (stopping || run.signal.aborted) return
      crashed = code
      run.abort(new Error(`the daemon exited (${code}) during the soak`))
    })
    const client = new LoadClient(daemon.url)
    const pool = new DocumentPool({ random })
    ctx = { client, pool, random, signer, adminSigner, daemon }
    const config = daemonConfig === undefined ? '' : `, config ${JSON.stringify(daemonConfig)}`
    log(`# soak: ${seconds} s of load (warm-up ${round(seconds * warmup)} s, then ${laps} laps), parts: ${parts.map((p) => `${p.name}×${p.workers}`).join(', ')}; daemon pid ${daemon.pid}, ${daemon.url}, data ${dataDir}${config}`)

    const checkpoints = []
    let loadSeconds = 0
    const check = async (name) => {
      const point = await checkpoint(name, ctx, { dataDir, samples, snapshotDir, index: checkpoints.length })
      point.at = round(loadSeconds)
      point.requests = [...client.stats.values()].reduce((n, stats) => n + stats.requests, 0)
      checkpoints.push(point)
      log(describe(point))
      for (const finding of point.findings) log(`#   finding: ${finding}`)
    }
    for (const part of parts) {
      setUp.push(part)
      await part.setup?.(ctx)
    }
    await check('start')
    const lapMs = seconds * (1 - warmup) * 1000 / laps
    for (let lap = 0; lap <= laps && !run.signal.aborted; lap++) {
      loadSeconds += await runPhase(lap === 0 ? seconds * warmup * 1000 : lapMs, parts, ctx, run.signal)
      if (!run.signal.aborted) await check(lap === 0 ? 'warm-up' : `lap ${lap}/${laps}`)
    }
    await tearDown(setUp, ctx)
    await client.closeAll()
    if (crashed === undefined && run.signal.aborted) throw run.signal.reason

    stopping = true
    const exitCode = await daemon.stop()
    return summary({ seconds, warmup, laps, loadSeconds, checkpoints, parts, client, daemon, exitCode, crashed })
  } finally {
    signal?.removeEventListener('abort', onAbort)
    run.abort(new Error('the soak ended'))
    await tearDown(setUp, ctx)
    await daemon?.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** Tears down the parts set up (each once, the last first); a teardown that fails is logged, not thrown. */
async function tearDown (parts, ctx) {
  while (parts.length > 0) {
    const part = parts.pop()
    try {
      await part.teardown?.(ctx)
    } catch (err) {
      ctx.client.error(part.name, `teardown failed: ${err?.stack ?? err}`)
    }
  }
}

/**
 * Runs `workers` loops of each part's `step` until `ms` have passed (or `runSignal` fires); resolves with the seconds
 * it ran. A part whose steps do not end within {@link STOP_GRACE_MS} after that fails the soak, naming the part.
 */
async function runPhase (ms, parts, ctx, runSignal) {
  const phase = new AbortController()
  // The phase's deadline: the loops below look at the signal before each step; a step waiting on the load (a watcher)
  // listens to it.
  const deadline = setTimeout(() => { phase.abort('deadline') }, ms)
  const onRunAbort = () => { phase.abort(runSignal.reason) }
  runSignal.addEventListener('abort', onRunAbort, { once: true })
  let stuck
  const hung = new Promise((resolve, reject) => {
    phase.signal.addEventListener('abort', () => {
      stuck = setTimeout(() => {
        const names = [...running].filter(([, n]) => n > 0).map(([name, n]) => `${name} (${n})`)
        reject(new Error(`load parts still running ${STOP_GRACE_MS} ms after the phase ended: ${names.join(', ')}`))
      }, STOP_GRACE_MS)
    }, { once: true })
  })
  const running = new Map(parts.map((part) => [part.name, 0]))
  const started = performance.now()
  const stepCtx = { ...ctx, signal: phase.signal }
  const loops = parts.flatMap((part) => Array.from({ length: part.workers }, async () => {
    running.set(part.name, running.get(part.name) + 1)
    while (!phase.signal.aborted) {
      try {
        await part.step(stepCtx)
      } catch (err) {
        ctx.client.error(part.name, `the part threw: ${err?.stack ?? err}`)
      }
    }
    running.set(part.name, running.get(part.name) - 1)
  }))
  try {
    await Promise.race([Promise.all(loops), hung])
  } finally {
    clearTimeout(deadline)
    clearTimeout(stuck)
    runSignal.removeEventListener('abort', onRunAbort)
  }
  return (performance.now() - started) / 1000
}

/**
 * A quiescent checkpoint: every client connection closed (each socket's `close` seen), then the daemon's own sockets
 * closed too (its probe answers `settled` once every connection it accepted has closed); then `samples` readings,
 * each after a full GC, of which the medians count.
 */
async function checkpoint (name, { client, daemon }, { dataDir, samples, snapshotDir, index }) {
  await client.closeAll()
  // A daemon that keeps connections its clients closed is a finding in itself; the readings then count them.
  let timer
  const late = new Promise((resolve) => { timer = setTimeout(resolve, SETTLE_MS, 'late') })
  const settled = await Promise.race([daemon.probe({ type: 'settled' }), late]).finally(() => { clearTimeout(timer) })
  const findings = []
  if (settled === 'late') {
    const { sockets } = await daemon.probe({ type: 'measure', gc: false })
    findings.push(`checkpoint ${name}: the daemon still had ${sockets} connections open ${SETTLE_MS} ms after every client connection closed`)
  }
  const readings = []
  for (let i = 0; i < samples; i++) {
    const probed = await daemon.probe({ type: 'measure', gc: true })
    const memory = residentMemory(daemon.pid)
    readings.push({ memory: probed.memory, rss: memory?.rss ?? probed.memory.rss, peak: memory?.peak, anon: memory?.anon, file: memory?.file, fds: openFiles(daemon.pid, dataDir), resources: probed.resources })
  }
  const median = (pick) => medianOf(readings.map(pick))
  const point = {
    name,
    rss: median((r) => r.rss),
    rssAnon: median((r) => r.anon),
    rssFile: median((r) => r.file),
    heapUsed: median((r) => r.memory.heapUsed),
    heapTotal: median((r) => r.memory.heapTotal),
    external: median((r) => r.memory.external),
    peakRss: readings[readings.length - 1].peak,
    fds: readings[0].fds === undefined ? undefined : Object.fromEntries(Object.keys(readings[0].fds).map((kind) => [kind, median((r) => r.fds[kind])])),
    resources: readings[readings.length - 1].resources,
    findings
  }
  if (snapshotDir !== undefined) {
    point.snapshot = (await daemon.probe({ type: 'snapshot', path: join(snapshotDir, `soak-${index}-${name.replace(/\W+/g, '-')}.heapsnapshot`) })).path
  }
  return point
}

function summary ({ seconds, warmup, laps, loadSeconds, checkpoints, parts, client, daemon, exitCode, crashed }) {
  const warm = checkpoints.find((c) => c.name === 'warm-up')
  const end = checkpoints[checkpoints.length - 1]
  const after = checkpoints.slice(checkpoints.indexOf(warm) + 1)
  const fdGrowth = (kind) => Math.max(...after.map((c) => c.fds[kind])) - warm.fds[kind]
  const stats = parts.map((part) => {
    const s = client.stat(part.name)
    return { name: part.name, workers: part.workers, ...s, rate: s.requests / loadSeconds }
  })
  return {
    seconds,
    warmupSeconds: round(seconds * warmup),
    laps,
    loadSeconds: round(loadSeconds),
    checkpoints,
    growth: warm === undefined || end === warm
      ? undefined
      : {
          rssRatio: end.rss / warm.rss,
          rssAnonRatio: warm.rssAnon === undefined ? undefined : end.rssAnon / warm.rssAnon,
          heapRatio: end.heapUsed / warm.heapUsed,
          heapBytes: end.heapUsed - warm.heapUsed,
          requests: end.requests - warm.requests,
          // The largest count at any checkpoint after warm-up, less the count after warm-up; LevelDB's compaction
          // outputs in progress are left out (see openFiles).
          fds: warm.fds === undefined ? undefined : fdGrowth('steady'),
          fdsByKind: warm.fds === undefined ? undefined : Object.fromEntries(Object.keys(warm.fds).filter((k) => k !== 'total' && k !== 'steady').map((kind) => [kind, fdGrowth(kind)]))
        },
    parts: stats,
    // Findings of the checkpoints themselves (connections the daemon kept), with the parts' errors.
    findings: checkpoints.flatMap((c) => c.findings),
    errors: stats.reduce((n, s) => n + s.errors, 0) + checkpoints.reduce((n, c) => n + c.findings.length, 0),
    daemon: { exitCode, crashed, errorLogs: daemon.logs.errors, warningLogs: daemon.logs.warnings, lastLogs: daemon.logs.errors + daemon.logs.warnings > 0 ? daemon.logs.lines.slice(-20) : [] }
  }
}

/** One line about a checkpoint, for the log. */
export function describe (point) {
  const fds = point.fds === undefined
    ? 'no /proc'
    : `${point.fds.steady} (${Object.entries(point.fds).filter(([k, v]) => k !== 'total' && k !== 'steady' && (k !== 'compaction' || v > 0)).map(([k, v]) => `${k} ${v}`).join(', ')})`
  const resources = Object.entries(point.resources).map(([k, v]) => `${k} ${v}`).join(', ')
  // Anonymous memory outside V8's heap: malloc (LevelDB's caches and memtables, OpenSSL, libuv), stacks.
  const parts = point.rssAnon === undefined ? '' : ` (anon ${mb(point.rssAnon)}: ${mb(point.rssAnon - point.heapTotal)} outside V8's heap; file ${mb(point.rssFile)})`
  return `# checkpoint ${point.name} at ${point.at} s: rss ${mb(point.rss)} MB${parts}, heap ${mb(point.heapUsed)} MB of ${mb(point.heapTotal)} MB, external ${mb(point.external)} MB (after GC); fds ${fds}; libuv ${resources}`
}

function medianOf (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function mb (bytes) {
  return (bytes / 1024 / 1024).toFixed(1)
}

function round (n) {
  return Math.round(n * 10) / 10
}
