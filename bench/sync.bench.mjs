// Catch-up sync's reconciliation (docs/sync.md): what a session costs between two equal nodes and between nodes that
// differ by a few keys, over an in-memory channel (the figures are the protocol's, not a transport's), and how long a
// range summary of 10,000 keys takes.
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import * as dagCbor from '@ipld/dag-cbor'
import { memorySyncKeyStore, summariseSyncKeys, syncChannelPair, syncKey, syncNetworkRange, syncReconcile } from '@kiln/network-libp2p'
import { CID } from 'multiformats/cid'
import { create as digestOf } from 'multiformats/hashes/digest'
import { report, reportCount } from './measure.mjs'

const KEYS = 10_000
const cidOf = (label) => CID.create(1, dagCbor.code, digestOf(0x12, createHash('sha256').update(label).digest()))
const keys = Array.from({ length: KEYS }, (_, i) => syncKey({ network: 'bench', family: '', genesis: cidOf(`doc ${Math.floor(i / 10)}`), height: i % 10, commit: cidOf(`commit ${i}`) }))

async function session (a, b) {
  const [ca, cb] = syncChannelPair()
  const interests = [syncNetworkRange('bench')]
  const [mine] = await Promise.all([
    syncReconcile({ role: 'initiator', network: 'bench', store: a, interests, channel: ca }),
    syncReconcile({ role: 'responder', network: 'bench', store: b, interests, channel: cb })
  ])
  return mine
}

export default async function syncBench () {
  const equal = await session(memorySyncKeyStore(keys), memorySyncKeyStore(keys))
  reportCount('sync.rounds_when_equal', equal.rounds, 'rounds', `two nodes holding the same ${KEYS} keys`)
  reportCount('sync.bytes_when_equal', equal.bytesSent + equal.bytesReceived, 'bytes', 'the whole session, hellos and dones included')
  const differ = await session(memorySyncKeyStore(keys), memorySyncKeyStore(keys.filter((_, i) => i % 1000 !== 7)))
  reportCount('sync.rounds_10_missing', differ.rounds, 'rounds', `${KEYS} keys against ${KEYS - 10}: the 10 missing found`)
  reportCount('sync.bytes_10_missing', differ.bytesSent + differ.bytesReceived, 'bytes')
  summariseSyncKeys(keys.slice(0, 100))
  const start = performance.now()
  summariseSyncKeys(keys)
  report('sync.summary_10k_ms', performance.now() - start, 'ms', `the count and hash of ${KEYS} keys`)
  await freshNodeBench()
}

// A fresh node: 10,000 commits over 1,000 documents on A (LevelDB, in a process of its own), synced to an empty node B
// on loopback, every commit verified and applied through B's pipeline; from B's start until its first session with A,
// blocks fetched and applied, is done. The CPU each side used is printed beside the rate: both share the machine.
const DOCS = 1_000
const COMMITS_PER_DOC = 10
const NETWORK = 'sync-bench'

async function networked (path, bootstrap) {
  const { createNode } = await import('@kiln/core')
  const { tile } = await import('@kiln/doctype-tile')
  const { levelStorage } = await import('@kiln/storage-level')
  const { libp2pNetwork } = await import('@kiln/network-libp2p')
  let network
  const factory = libp2pNetwork({ listen: ['/ip4/127.0.0.1/tcp/0'], network: NETWORK, bootstrap, keepaliveMs: 0, dialFilter: (a) => a.startsWith('/ip4/127.0.0.1/') })
  const node = await createNode({ doctypes: [tile()], storage: levelStorage({ path }), durability: 'relaxed', network: (c) => (network = factory(c)) })
  return { node, network }
}

/** Writes the documents A serves, with a node of no network, closed before A opens the same directory. */
async function fillServingNode (path) {
  const { createNode } = await import('@kiln/core')
  const { tile, makeGenesis, makeUpdate } = await import('@kiln/doctype-tile')
  const { levelStorage } = await import('@kiln/storage-level')
  const { keyDidSigner } = await import('@kiln/signing')
  const signer = keyDidSigner({ seed: new Uint8Array(32).fill(77) })
  const node = await createNode({ doctypes: [tile()], storage: levelStorage({ path }), durability: 'relaxed' })
  try {
    for (let d = 0; d < DOCS; d++) {
      let { id, state } = await node.createDocument('tile', (await makeGenesis({ d, n: 0 }, {}, signer)).commit, { publish: false })
      for (let n = 1; n < COMMITS_PER_DOC; n++) state = (await node.applyCommit(id, (await makeUpdate(state, { d, n }, signer)).commit, { publish: false })).state
    }
  } finally {
    await node.stop()
  }
}

/**
 * Starts A in a child process on `path`; resolves with its address and a `stop` that resolves with its CPU time.
 * `KILN_BENCH_CHILD_ARGS` passes Node flags to it (e.g. `--cpu-prof` to profile the serving side).
 */
async function servingNode (path) {
  const child = spawn(process.execPath, [...(process.env.KILN_BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean), fileURLToPath(new URL('./sync-peer.mjs', import.meta.url)), path, NETWORK], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.done === true) throw new Error('the serving node exited before it listened')
  const { address } = JSON.parse(first.value)
  return {
    address,
    stop: async () => {
      child.stdin.end()
      const last = await lines.next()
      await once(child, 'exit')
      return last.done === true ? NaN : JSON.parse(last.value).cpuMs
    }
  }
}

export async function freshNodeBench () {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-sync-bench-'))
  let a
  let b
  try {
    await fillServingNode(join(dir, 'a'))
    a = await servingNode(join(dir, 'a'))
    const start = performance.now()
    const cpu = process.cpuUsage()
    b = await networked(join(dir, 'b'), [a.address])
    const synced = await new Promise((resolve) => {
      const poll = setInterval(() => {
        const status = b.network.syncStatus()[0]
        if (status?.last !== undefined) { clearInterval(poll); resolve(status.last) }
      }, 5)
    })
    const seconds = (performance.now() - start) / 1000
    const used = process.cpuUsage(cpu)
    const commits = synced.missing
    report('sync.fresh_node_commits_per_s', commits / seconds, 'commits/s', `${commits} commits over ${DOCS} documents synced to an empty node on loopback, all verified; target >= 4,500`)
    report('sync.fresh_node.receiver_cpu_us_per_commit', (used.user + used.system) / commits, 'µs', 'the empty node, all its threads')
    const servedMs = await a.stop()
    a = undefined
    report('sync.fresh_node.server_cpu_us_per_commit', servedMs * 1000 / commits, 'µs', 'the serving node, all its threads, from its start')
  } finally {
    await b?.node.stop()
    await a?.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
