// HTTP throughput of a daemon (a child process, LevelDB, no anchoring): creates/s and updates/s with 32 concurrent
// clients, with p50/p99 latency. Commits are signed before the clock starts; the clients post Ceramic's JSON forms.
import { spawn } from 'node:child_process'
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
const CREATES_PER_CLIENT = 25
const UPDATES_PER_CLIENT = 25
const BIN = fileURLToPath(new URL('../packages/cli/bin/kiln.js', import.meta.url))

async function startDaemon (dataDir) {
  const child = spawn(process.execPath, [...(process.env.KILN_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof-daemon'] : []), BIN, 'daemon', '--port', '0', '--json', '--anchor', 'none', '--log-level', 'error', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code}`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      try { const e = JSON.parse(line); if (e.event === 'listening') resolve(e.url) } catch { /* a line that is not JSON */ }
    })
  })
  return { url, stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM') }) }
}

async function post (url, body) {
  const started = performance.now()
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  await res.arrayBuffer()
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`)
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

export default async function httpBench () {
  const signer = keyDidSigner({ seed: new Uint8Array(32).fill(5) })
  const dir = await mkdtemp(join(tmpdir(), 'kiln-http-bench-'))
  // Sign everything first: creates for each client, and a chain of updates for one document per client.
  const creates = []
  for (let c = 0; c < CLIENTS; c++) {
    const bodies = []
    for (let i = 0; i < CREATES_PER_CLIENT; i++) {
      const genesis = await makeGenesis({ client: c, i, bio: 'x'.repeat(100) }, {}, signer)
      bodies.push(JSON.stringify({ type: 0, genesis: commitToJSON(genesis.commit), opts: { anchor: false } }))
    }
    creates.push(bodies)
  }
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

  const daemon = await startDaemon(dir)
  try {
    const created = await drive(`${daemon.url}/api/v0/streams`, creates)
    report('http.creates_per_s', created.rate, 'creates/s', `${CLIENTS} concurrent clients, ${CLIENTS * CREATES_PER_CLIENT} signed tiles, daemon on LevelDB`)
    report('http.create_p50', created.p50, 'ms')
    report('http.create_p99', created.p99, 'ms')
    for (const body of updateGeneses) await post(`${daemon.url}/api/v0/streams`, body)
    const updated = await drive(`${daemon.url}/api/v0/commits`, updates)
    report('http.updates_per_s', updated.rate, 'updates/s', `${CLIENTS} concurrent clients, each updating its own document ${UPDATES_PER_CLIENT} times in order`)
    report('http.update_p50', updated.p50, 'ms')
    report('http.update_p99', updated.p99, 'ms')
  } finally {
    await daemon.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
