#!/usr/bin/env node
// `npm run soak`: a daemon under a mixed load of writes, reads, SSE watchers, anchors and admin calls for
// KILN_SOAK_SECONDS (600 by default), then its memory and file descriptors after warm-up against the end, one
// `bench <name>: <value> <unit>` line per figure with its target. docs/soak.md says how to read them.
//
// Settings (environment): KILN_SOAK_SECONDS (600), KILN_SOAK_WARMUP (fraction of the time, 0.2), KILN_SOAK_LAPS (5),
// KILN_SOAK_SAMPLES (readings per checkpoint, 5), KILN_SOAK_SEED (1), KILN_SOAK_PARTS (comma-separated part names;
// all by default), KILN_SOAK_HEAP_SNAPSHOTS (a directory: a heap snapshot of the daemon at each checkpoint),
// KILN_SOAK_CACHE_SIZE (the daemon's document cache, its default 1000 otherwise), KILN_SOAK_DAEMON_ARGS (more
// `kiln daemon` flags, space-separated). `--json` adds the whole result as the last line of the output.
//
// Exits 1 when a request got a 5xx or an answer its part did not expect, when the daemon logged an error, or when
// it crashed or did not stop cleanly: those are findings. Growth beyond the targets is printed, not failed on.
import { report, reportCount } from '../measure.mjs'
import { defaultParts } from './parts/index.mjs'
import { runSoak } from './soak.mjs'

/** Targets: RSS after warm-up may grow by 10 % to the end; open file descriptors not at all. */
const RSS_GROWTH_TARGET = 1.10
const FD_GROWTH_TARGET = 0

function setting (name, fallback, parse = Number) {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const parsed = parse(value)
  if (typeof parsed === 'number' && !(Number.isFinite(parsed) && parsed > 0)) {
    console.error(`${name} must be a positive number, got ${JSON.stringify(value)}`)
    process.exit(2)
  }
  return parsed
}

const list = (value) => value.split(/[\s,]+/).filter((v) => v !== '')
const seconds = setting('KILN_SOAK_SECONDS', 600)
const warmup = setting('KILN_SOAK_WARMUP', 0.2)
if (warmup >= 1) {
  console.error('KILN_SOAK_WARMUP is the fraction of the time spent warming up: below 1')
  process.exit(2)
}
const options = {
  seconds,
  warmup,
  laps: Math.round(setting('KILN_SOAK_LAPS', 5)),
  samples: Math.round(setting('KILN_SOAK_SAMPLES', 5)),
  seed: Math.round(setting('KILN_SOAK_SEED', 1)),
  parts: defaultParts(setting('KILN_SOAK_PARTS', [], list)),
  snapshotDir: setting('KILN_SOAK_HEAP_SNAPSHOTS', undefined, String),
  daemonArgs: setting('KILN_SOAK_DAEMON_ARGS', [], list),
  daemonConfig: process.env.KILN_SOAK_CACHE_SIZE ? { cacheSize: Math.round(setting('KILN_SOAK_CACHE_SIZE', 1000)) } : undefined,
  log: (line) => { console.log(line) }
}

// Ctrl-C or a SIGTERM ends the load, stops the daemon and removes its data; a second one exits at once.
const controller = new AbortController()
const stop = () => {
  if (controller.signal.aborted) process.exit(130)
  controller.abort(new Error('the soak was interrupted'))
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

let result
try {
  result = await runSoak({ ...options, signal: controller.signal })
} catch (err) {
  console.error(`soak failed: ${err?.stack ?? err}`)
  process.exit(1)
}
process.off('SIGINT', stop)
process.off('SIGTERM', stop)

const { growth, checkpoints } = result
const warm = checkpoints.find((c) => c.name === 'warm-up')
const end = checkpoints[checkpoints.length - 1]
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const verdict = (ok) => (ok ? 'met' : 'MISSED')
if (growth !== undefined) {
  report('soak.rss_growth_ratio', growth.rssRatio, 'x',
    `target ≤ ${RSS_GROWTH_TARGET.toFixed(2)} x: ${verdict(growth.rssRatio <= RSS_GROWTH_TARGET)} at ${growth.rssRatio.toFixed(3)}; ${mb(warm.rss)} after warm-up → ${mb(end.rss)} at the end, medians of ${options.samples} readings after a full GC` +
    (warm.rssAnon === undefined ? '' : `; anonymous ${mb(warm.rssAnon)} → ${mb(end.rssAnon)}, mapped files ${mb(warm.rssFile)} → ${mb(end.rssFile)}`))
  if (growth.rssAnonRatio !== undefined) {
    report('soak.rss_anon_growth_ratio', growth.rssAnonRatio, 'x',
      `anonymous memory only (V8's heap, malloc, stacks), without the mapped files (the node binary, LevelDB's tables, which grow with the store and which the kernel can drop): ${mb(warm.rssAnon)} → ${mb(end.rssAnon)}`)
  }
  if (growth.fds !== undefined) {
    const kinds = Object.entries(growth.fdsByKind).filter(([kind]) => kind !== 'compaction').map(([kind, n]) => `${kind} ${n >= 0 ? '+' : ''}${n}`).join(', ')
    reportCount('soak.fd_growth', growth.fds, 'fds',
      `target ${FD_GROWTH_TARGET}: ${verdict(growth.fds <= FD_GROWTH_TARGET)}; ${warm.fds.steady} after warm-up, at most ${warm.fds.steady + growth.fds} later, with no connection open (${kinds}; LevelDB's compaction outputs in progress left out)`)
  }
  report('soak.heap_growth_ratio', growth.heapRatio, 'x', `V8 heap used after a full GC: ${mb(warm.heapUsed)} → ${mb(end.heapUsed)}`)
  report('soak.heap_growth_per_request', growth.heapBytes / growth.requests, 'bytes', `heap growth after warm-up over the ${growth.requests} requests sent since`)
}
if (end.peakRss !== undefined) report('soak.rss_peak', end.peakRss / 1024 / 1024, 'MB', 'the daemon\'s highest RSS under load (VmHWM)')
report('soak.rss_start', checkpoints[0].rss / 1024 / 1024, 'MB', 'before any load')
for (const part of result.parts) {
  const expected = part.expected > 0 ? `, ${part.expected} expected non-2xx` : ''
  const counts = Object.entries(part.counts).map(([k, v]) => `${k} ${v}`).join(', ')
  reportCount(`soak.${part.name}.requests`, part.requests, 'requests', `${part.workers} at a time${expected}${counts === '' ? '' : `; ${counts}`}`)
  report(`soak.${part.name}.rate`, part.rate, 'requests/s')
  reportCount(`soak.${part.name}.errors`, part.errors, 'errors')
  for (const message of part.firstErrors) console.log(`#   ${part.name}: ${message}`)
}
for (const finding of result.findings) console.log(`#   ${finding}`)
reportCount('soak.errors', result.errors, 'errors', 'target 0: any 5xx or unexpected answer is a finding')
reportCount('soak.daemon_error_logs', result.daemon.errorLogs, 'lines', `target 0; ${result.daemon.warningLogs} warnings`)
for (const line of result.daemon.lastLogs) console.log(`#   daemon: ${line}`)
if (result.daemon.crashed !== undefined) console.log(`# the daemon crashed (exit ${result.daemon.crashed})`)
else if (result.daemon.exitCode !== 0) console.log(`# the daemon did not stop cleanly (exit ${result.daemon.exitCode})`)
if (process.argv.includes('--json')) console.log(JSON.stringify(result))

const failed = result.errors > 0 || result.daemon.errorLogs > 0 || result.daemon.crashed !== undefined || result.daemon.exitCode !== 0
process.exitCode = failed ? 1 : 0
