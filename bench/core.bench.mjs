// The core on a durable LevelDB node: ingest of signed tile updates (and its ratio to the raw Ed25519 verify rate of
// this machine, measured in the same run), write cost as a log grows to 10,000 commits, loads at a CommitID, memory per
// cached document.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode, memoryStorage } from '@kiln/core'
import { makeGenesis, makeUpdate, tile } from '@kiln/doctype-tile'
import { keyDidSigner } from '@kiln/signing'
import { levelStorage } from '@kiln/storage-level'
import { rate, report } from './measure.mjs'

const DOCS = 100
const UPDATES_PER_DOC = 20
const GROWTH_LOG = 10_000
const GROWTH_SAMPLE = 500
const GROWTH_CHUNKS = 5
const CACHED_DOCS = 2000

/** Signs `count` successive updates of a new tile on a scratch in-memory node; returns the genesis and the updates. */
async function prepareDocument (signer, count, label) {
  const scratch = await createNode({ doctypes: [tile()], storage: memoryStorage(), durability: 'relaxed' })
  const genesis = await makeGenesis({ label, n: 0, items: [] }, {}, signer)
  let { id, state } = await scratch.createDocument('tile', genesis.commit)
  const updates = []
  for (let n = 1; n <= count; n++) {
    const update = await makeUpdate(state, { label, n, items: [...state.content.items.slice(-4), n] }, signer)
    updates.push(update.commit)
    state = (await scratch.applyCommit(id, update.commit)).state
  }
  await scratch.stop()
  return { id, genesis: genesis.commit, updates }
}

async function durable (path, options = {}) {
  return await createNode({ doctypes: [tile()], storage: levelStorage({ path }), ...options })
}

/** Updates per second of `updates` applied one at a time to `id` on `node`: the median over GROWTH_CHUNKS chunks. */
async function timedUpdates (node, id, updates) {
  const size = Math.floor(updates.length / GROWTH_CHUNKS)
  const rates = []
  for (let c = 0; c < GROWTH_CHUNKS; c++) {
    globalThis.gc?.()
    const start = performance.now()
    for (const update of updates.slice(c * size, (c + 1) * size)) await node.applyCommit(id, update)
    rates.push(size / ((performance.now() - start) / 1000))
  }
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)]
}

/** `KILN_BENCH_SECTIONS=growth,load` runs only those sections (ingest, growth, cache); all by default. */
const sections = process.env.KILN_BENCH_SECTIONS?.split(',')
const want = (section) => sections === undefined || sections.includes(section)

export default async function coreBench () {
  const signer = keyDidSigner({ seed: new Uint8Array(32).fill(3) })
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-'))
  try {
    // Raw Ed25519 verification of this machine, in the same run (the baseline of the ratios).
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 3)]), format: 'der', type: 'pkcs8' })
    const pub = createPublicKey(key)
    const message = Buffer.alloc(120, 1)
    const sig = nodeSign(null, message, key)
    const rawVerify = await rate(() => nodeVerify(null, message, pub, sig))
    report('ed25519.raw_verify', rawVerify, 'ops/s', 'node:crypto (OpenSSL) on one core, baseline of the ratios below')

    // Ingest: DOCS documents x UPDATES_PER_DOC updates into a fresh LevelDB node, first one commit at a time, then
    // with one update of every document in flight at once (as a node serving many clients sees them). Relaxed
    // durability is the write path without fsync (what the issue's baseline measured); strict syncs every batch.
    const docs = []
    for (let d = 0; d < (want('ingest') ? DOCS : 0); d++) docs.push(await prepareDocument(signer, UPDATES_PER_DOC, `doc-${d}`))
    // One untimed pass first, so the figures are the engine's steady state and not the JIT warming up on the first mode.
    if (want('ingest')) {
      const warmNode = await durable(join(dir, 'ingest-warmup'), { durability: 'relaxed' })
      await Promise.all(docs.map(async (doc) => await warmNode.createDocument('tile', doc.genesis)))
      for (let u = 0; u < UPDATES_PER_DOC; u++) {
        await Promise.all(docs.map(async (doc) => await warmNode.applyCommit(doc.id, doc.updates[u])))
      }
      await warmNode.stop()
    }
    for (const durability of want('ingest') ? ['relaxed', 'strict'] : []) {
      for (const mode of ['sequential', 'concurrent']) {
        // The node's default verifier: Ed25519 checks on libuv's thread pool.
        const ingestNode = await durable(join(dir, `ingest-${durability}-${mode}`), { durability })
        await Promise.all(docs.map(async (doc) => await ingestNode.createDocument('tile', doc.genesis)))
        const start = performance.now()
        for (let u = 0; u < UPDATES_PER_DOC; u++) {
          if (mode === 'sequential') {
            for (const doc of docs) await ingestNode.applyCommit(doc.id, doc.updates[u])
          } else {
            await Promise.all(docs.map(async (doc) => await ingestNode.applyCommit(doc.id, doc.updates[u])))
          }
        }
        const seconds = (performance.now() - start) / 1000
        await ingestNode.stop()
        const ingestRate = (DOCS * UPDATES_PER_DOC) / seconds
        const name = durability === 'relaxed' ? `ingest.${mode}` : `ingest.strict.${mode}`
        const how = `${DOCS * UPDATES_PER_DOC} signed tile updates over ${DOCS} documents into LevelDB, ${mode === 'concurrent' ? `${DOCS} in flight` : 'one at a time'}, ${durability} durability, thread-pool verification`
        report(`${name}.updates_per_s`, ingestRate, 'updates/s', how)
        report(`${name}.ratio_to_verify`, ingestRate / rawVerify, 'x', durability === 'strict' ? 'fsync per batch' : mode === 'concurrent' ? 'target >= 0.60, stretch >= 1.0' : 'target >= 0.40')
      }
    }

    // Growth: the update rate on one document while its log is ~100 long and ~10,000 long (relaxed durability, so
    // the figure is the engine's cost, not the disk's sync time), and the cold load of the state at commit 5,000.
    if (want('growth')) await growthBench(signer, dir)
    if (want('cache')) await cacheBench(signer, dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function growthBench (signer, dir) {
    const long = await prepareDocument(signer, GROWTH_LOG + GROWTH_SAMPLE, 'long')
    let node = await durable(join(dir, 'long'), { durability: 'relaxed' })
    await node.createDocument('tile', long.genesis)
    const warm = long.updates.slice(0, 100)
    for (const update of warm) await node.applyCommit(long.id, update)
    const at100 = await timedUpdates(node, long.id, long.updates.slice(100, 100 + GROWTH_SAMPLE))
    for (const update of long.updates.slice(100 + GROWTH_SAMPLE, GROWTH_LOG)) await node.applyCommit(long.id, update)
    const at10k = await timedUpdates(node, long.id, long.updates.slice(GROWTH_LOG, GROWTH_LOG + GROWTH_SAMPLE))
    report('growth.updates_per_s_at_100', at100, 'updates/s', `one tile, log length 100 to ${100 + GROWTH_SAMPLE}, median of ${GROWTH_CHUNKS} chunks`)
    report('growth.updates_per_s_at_10k', at10k, 'updates/s', `one tile, log length ${GROWTH_LOG} to ${GROWTH_LOG + GROWTH_SAMPLE}, median of ${GROWTH_CHUNKS} chunks`)
    report('growth.ratio_at_10k', at10k / at100, 'x', 'target >= 0.8')
    const middle = (await node.load(long.id)).state.log[5000].cid
    await node.stop()

    node = await durable(join(dir, 'long'))
    let t = performance.now()
    const loaded = await node.load(long.id)
    report('load.cold_latest_10000_commits', performance.now() - t, 'ms', `first load after restart, ${loaded.state.log.length} log entries`)
    t = performance.now()
    await node.load(long.id.atCommit(middle))
    report('load.at_commit_5000_of_10000', performance.now() - t, 'ms', 'state at a CommitID after restart, from the nearest checkpoint; target < 20 ms')
    await node.stop()
}

async function cacheBench (signer, dir) {
    // Memory per cached document: heap growth while CACHED_DOCS small tiles, written by one node, are loaded into the
    // cache of a second node on the same data.
    const geneses = []
    for (let i = 0; i < CACHED_DOCS; i++) geneses.push((await makeGenesis({ name: `user ${i}`, bio: 'x'.repeat(40), links: [i, i + 1] }, {}, signer)).commit)
    const writer = await createNode({ doctypes: [tile()], storage: levelStorage({ path: join(dir, 'cache') }), cacheSize: 1, durability: 'relaxed' })
    const ids = []
    for (const genesis of geneses) ids.push((await writer.createDocument('tile', genesis)).id)
    await writer.stop()
    const reader = await createNode({ doctypes: [tile()], storage: levelStorage({ path: join(dir, 'cache') }), cacheSize: CACHED_DOCS })
    await reader.load(ids[0])
    globalThis.gc?.()
    const before = process.memoryUsage().heapUsed
    for (const id of ids) await reader.load(id)
    globalThis.gc?.()
    const perDoc = (process.memoryUsage().heapUsed - before) / (CACHED_DOCS - 1)
    report('cache.bytes_per_document', perDoc, 'bytes', `heap per cached state of a small tile, ${CACHED_DOCS} cached${globalThis.gc === undefined ? '; run with --expose-gc for a steady figure' : ''}`)
    await reader.stop()
}
