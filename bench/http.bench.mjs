// HTTP throughput of a daemon (a child process, LevelDB, no anchoring): creates/s and updates/s with 32 concurrent
// clients, with p50/p99 latency, and the daemon's CPU time per request (user + system, all its threads: a steadier
// figure than the rate on a busy machine) beside the load generator's, which shares the machine's cores. An untimed
// round of creates goes first, and each timed run is a few seconds long: shorter runs mostly measured the JIT. Commits are signed before the clock starts; the clients post Ceramic's JSON
// forms. When `kiln daemon --help` lists `--durability`, the same runs again against a daemon with relaxed durability.
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { commitToJSON } from '@kiln/codec'
import { createNode, memoryStorage } from '@kiln/core'
import { makeGenesis, makeUpdate, tile } from '@kiln/doctype-tile'
import { keyDidSigner } from '@kiln/signing'
import { report } from './measure.mjs'

const CLIENTS = 32
const CREATES_PER_CLIENT = 100
const UPDATES_PER_CLIENT = 100
const BIN = fileURLToPath(new URL('../packages/cli/bin/kiln.js', import.meta.url))

// Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s.
const TICKS_PER_S = 100

/** CPU time (user + system) a process has used so far, in ms; undefined where /proc is not there. */
function cpuMs (pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_S
  } catch {
    return undefined
  }
}

/** Whether this build's daemon takes `--durability` (another change adds it). */
function daemonHasDurability () {
  try {
    return /--durability/.test(execFileSync(process.execPath, [BIN, 'daemon', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))
  } catch (err) {
    return /--durability/.test(`${err.stdout ?? ''}${err.stderr ?? ''}`)
  }
}

async function startDaemon (dataDir, extraArgs = []) {
  const child = spawn(process.execPath, [...(process.env.KILN_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof-daemon'] : []), BIN, 'daemon', '--port', '0', '--json', '--anchor', 'none', '--p2p-listen', 'none', '--log-level', 'error', '--data-dir', dataDir, ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code}`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      try { const e = JSON.parse(line); if (e.event === 'listening') resolve(e.url) } catch { /* a line that is not JSON */ }
    })
  })
  return { url, pid: child.pid, stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM') }) }
}

// The load generator shares the machine with the daemon, so it should cost as little as it can: node:http with
// keep-alive connections (one per client) costs a fraction of what fetch does per request.
const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS })

async function post (url, body) {
  const started = performance.now()
  const status = await new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.on('data', () => {})
      res.on('end', () => { resolve(res.statusCode) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
  if (status < 200 || status >= 300) throw new Error(`${url}: HTTP ${status}`)
  return performance.now() - started
}

function percentile (sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

/** Runs one list of request bodies per client, each client's in order; returns rate and latencies. */
async function drive (url, perClient) {
  const latencies = []
  const start = performance.now()
  await Promise.all(perClient.map(async (bodies) => {
    for (const body of bodies) latencies.push(await post(url, body))
  }))
  const seconds = (performance.now() - start) / 1000
  latencies.sort((a, b) => a - b)
  return { rate: latencies.length / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
}

/** Signs everything first: creates for each client, and a chain of updates for one document per client. */
async function signedBodies () {
  const signer = keyDidSigner({ seed: new Uint8Array(32).fill(5) })
  const createsOf = async (round) => {
    const perClient = []
    for (let c = 0; c < CLIENTS; c++) {
      const bodies = []
      for (let i = 0; i < CREATES_PER_CLIENT; i++) {
        const genesis = await makeGenesis({ client: c, i, round, bio: 'x'.repeat(100) }, {}, signer)
        bodies.push(JSON.stringify({ type: 0, genesis: commitToJSON(genesis.commit), opts: { anchor: false } }))
      }
      perClient.push(bodies)
    }
    return perClient
  }
  const warmup = await createsOf('warmup')
  const creates = await createsOf('measured')
  const scratch = await createNode({ doctypes: [tile()], storage: memoryStorage() })
  const updateGeneses = []
  const updates = []
  for (let c = 0; c < CLIENTS; c++) {
    const genesis = await makeGenesis({ client: c, n: 0 }, {}, signer)
    let { id, state } = await scratch.createDocument('tile', genesis.commit)
    updateGeneses.push(JSON.stringify({ type: 0, genesis: commitToJSON(genesis.commit), opts: { anchor: false } }))
    const bodies = []
    for (let n = 1; n <= UPDATES_PER_CLIENT; n++) {
      const update = await makeUpdate(state, { client: c, n }, signer)
      state = (await scratch.applyCommit(id, update.commit)).state
      bodies.push(JSON.stringify({ streamId: id.toString(), commit: commitToJSON(update.commit), opts: { anchor: false } }))
    }
    updates.push(bodies)
  }
  await scratch.stop()
  return { warmup, creates, updateGeneses, updates }
}

/** The daemon's CPU time per request over `run`, in µs, or undefined without /proc. */
async function withCpu (pid, requests, run) {
  const before = cpuMs(pid)
  const clientBefore = process.cpuUsage()
  const result = await run()
  const after = cpuMs(pid)
  const client = process.cpuUsage(clientBefore)
  return {
    ...result,
    cpuUs: before === undefined || after === undefined ? undefined : (after - before) * 1000 / requests,
    clientCpuUs: (client.user + client.system) / requests
  }
}

/** Runs the creates and the updates against a fresh daemon started with `args`; figures are named `http.<prefix>…`. */
async function benchDaemon ({ warmup, creates, updateGeneses, updates }, prefix, args, note) {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-http-bench-'))
  const daemon = await startDaemon(dir, args)
  try {
    // A round of creates nobody times first: the figures are the daemon's steady state, not its JIT warming up.
    await drive(`${daemon.url}/api/v0/streams`, warmup)
    const created = await withCpu(daemon.pid, CLIENTS * CREATES_PER_CLIENT, () => drive(`${daemon.url}/api/v0/streams`, creates))
    report(`http.${prefix}creates_per_s`, created.rate, 'creates/s', `${CLIENTS} concurrent clients, ${CLIENTS * CREATES_PER_CLIENT} signed tiles, daemon on LevelDB${note}`)
    report(`http.${prefix}create_p50`, created.p50, 'ms')
    report(`http.${prefix}create_p99`, created.p99, 'ms')
    if (created.cpuUs !== undefined) report(`http.${prefix}daemon_cpu_per_create`, created.cpuUs, 'µs', 'user + system time of the daemon process')
    report(`http.${prefix}client_cpu_per_create`, created.clientCpuUs, 'µs', 'the load generator, on the same cores')
    for (const body of updateGeneses) await post(`${daemon.url}/api/v0/streams`, body)
    const updated = await withCpu(daemon.pid, CLIENTS * UPDATES_PER_CLIENT, () => drive(`${daemon.url}/api/v0/commits`, updates))
    report(`http.${prefix}updates_per_s`, updated.rate, 'updates/s', `${CLIENTS} concurrent clients, each updating its own document ${UPDATES_PER_CLIENT} times in order${note}`)
    report(`http.${prefix}update_p50`, updated.p50, 'ms')
    report(`http.${prefix}update_p99`, updated.p99, 'ms')
    if (updated.cpuUs !== undefined) report(`http.${prefix}daemon_cpu_per_update`, updated.cpuUs, 'µs', 'user + system time of the daemon process')
    report(`http.${prefix}client_cpu_per_update`, updated.clientCpuUs, 'µs', 'the load generator, on the same cores')
  } finally {
    await daemon.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

export default async function httpBench () {
  const bodies = await signedBodies()
  await benchDaemon(bodies, '', [], '')
  if (daemonHasDurability()) {
    await benchDaemon(bodies, 'relaxed.', ['--durability', 'relaxed'], ', --durability relaxed')
  } else {
    console.log('# http.relaxed.*: skipped, this daemon has no --durability flag (kiln daemon --help does not list it)')
  }
}
