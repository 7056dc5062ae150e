// Catch-up sync's reconciliation (docs/sync.md): what a session costs between two equal nodes and between nodes that
// differ by a few keys, over an in-memory channel (the figures are the protocol's, not a transport's), and how long a
// range summary of 10,000 keys takes.
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate } from 'node:timers/promises'
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

// A fresh node: 10,000 commits over 1,000 documents on A (LevelDB), synced to an empty node B on loopback, every commit
// verified and applied through B's pipeline; from B's connection until its first session with A is done.
const DOCS = 1_000
const COMMITS_PER_DOC = 10

async function networked (dir, name, bootstrap = []) {
  const { createNode } = await import('@kiln/core')
  const { tile } = await import('@kiln/doctype-tile')
  const { levelStorage } = await import('@kiln/storage-level')
  const { libp2pNetwork } = await import('@kiln/network-libp2p')
  let network
  const factory = libp2pNetwork({ listen: ['/ip4/127.0.0.1/tcp/0'], network: 'sync-bench', bootstrap, keepaliveMs: 0, dialFilter: (a) => a.startsWith('/ip4/127.0.0.1/') })
  const node = await createNode({ doctypes: [tile()], storage: levelStorage({ path: join(dir, name) }), durability: 'relaxed', network: (c) => (network = factory(c)) })
  return { node, network }
}

export async function freshNodeBench () {
  const { makeGenesis, makeUpdate } = await import('@kiln/doctype-tile')
  const { keyDidSigner } = await import('@kiln/signing')
  const signer = keyDidSigner({ seed: new Uint8Array(32).fill(77) })
  const dir = await mkdtemp(join(tmpdir(), 'kiln-sync-bench-'))
  const nodes = []
  try {
    const a = await networked(dir, 'a')
    nodes.push(a)
    for (let d = 0; d < DOCS; d++) {
      let { id, state } = await a.node.createDocument('tile', (await makeGenesis({ d, n: 0 }, {}, signer)).commit, { publish: false })
      for (let n = 1; n < COMMITS_PER_DOC; n++) state = (await a.node.applyCommit(id, (await makeUpdate(state, { d, n }, signer)).commit, { publish: false })).state
    }
    const start = performance.now()
    const b = await networked(dir, 'b', [a.network.info().addresses[0]])
    nodes.push(b)
    const deadline = start + 600_000
    let status
    while (performance.now() < deadline) {
      status = b.network.syncStatus()[0]
      if (status?.last !== undefined) break
      await setImmediate()
    }
    const seconds = (performance.now() - start) / 1000
    const commits = status?.last?.missing ?? 0
    report('sync.fresh_node_commits_per_s', commits / seconds, 'commits/s', `${commits} commits over ${DOCS} documents synced to an empty node on loopback, all verified; target >= 4,500`)
  } finally {
    for (const { node } of nodes.reverse()) await node.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
