// The core on a durable LevelDB node: ingest of signed tile updates (and its ratio to the raw Ed25519 verify rate of
// this machine, measured in the same run), cold load of a 1,000-commit document, memory per cached document state.
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
const LONG_LOG = 1000
const CACHED_DOCS = 2000

/** Signs `count` successive updates of a new tile on a scratch in-memory node; returns the genesis and the updates. */
async function prepareDocument (signer, count, label) {
  const scratch = await createNode({ doctypes: [tile()], storage: memoryStorage() })
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

async function durable (path) {
  return await createNode({ doctypes: [tile()], storage: levelStorage({ path }) })
}

export default async function coreBench () {
  const signer = keyDidSigner({ seed: new Uint8Array(32).fill(3) })
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-'))
  try {
    // Raw Ed25519 verification of this machine, in the same run (the baseline of the ratio).
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 3)]), format: 'der', type: 'pkcs8' })
    const pub = createPublicKey(key)
    const message = Buffer.alloc(120, 1)
    const sig = nodeSign(null, message, key)
    const rawVerify = await rate(() => nodeVerify(null, message, pub, sig))
    report('ed25519.raw_verify', rawVerify, 'ops/s', 'node:crypto (OpenSSL), baseline of the ratio below')

    // Ingest: DOCS documents x UPDATES_PER_DOC updates into a fresh durable node, first one commit at a time, then
    // with one update of every document in flight at once (as a node serving many clients sees them).
    const docs = []
    for (let d = 0; d < DOCS; d++) docs.push(await prepareDocument(signer, UPDATES_PER_DOC, `doc-${d}`))
    for (const mode of ['sequential', 'concurrent']) {
      const ingestNode = await durable(join(dir, `ingest-${mode}`))
      for (const doc of docs) await ingestNode.createDocument('tile', doc.genesis)
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
      report(`ingest.${mode}.updates_per_s`, ingestRate, 'updates/s', `${DOCS * UPDATES_PER_DOC} signed tile updates over ${DOCS} documents into LevelDB${mode === 'concurrent' ? `, ${DOCS} in flight` : ', one at a time'}`)
      report(`ingest.${mode}.ratio_to_verify`, ingestRate / rawVerify, 'x', 'target >= 0.60')
    }

    // Cold load of a 1,000-commit document: a new node on the same data, first load of the latest state, then of
    // the state at the middle commit (a replay of 500 commits).
    const long = await prepareDocument(signer, LONG_LOG, 'long')
    let node = await durable(join(dir, 'long'))
    await node.createDocument('tile', long.genesis)
    for (const update of long.updates) await node.applyCommit(long.id, update)
    const middle = (await node.load(long.id)).state.log[LONG_LOG / 2].cid
    await node.stop()
    node = await durable(join(dir, 'long'))
    let t = performance.now()
    const loaded = await node.load(long.id)
    report('load.cold_latest_1000_commits', performance.now() - t, 'ms', `first load after restart, ${loaded.state.log.length} log entries`)
    t = performance.now()
    await node.load(long.id.atCommit(middle))
    report('load.cold_at_commit_500_of_1000', performance.now() - t, 'ms', 'state at a CommitID, replayed from stored commits')
    await node.stop()

    // Memory per cached document: heap growth while CACHED_DOCS small tiles, written by one node, are loaded into the
    // cache of a second node on the same data.
    const geneses = []
    for (let i = 0; i < CACHED_DOCS; i++) geneses.push((await makeGenesis({ name: `user ${i}`, bio: 'x'.repeat(40), links: [i, i + 1] }, {}, signer)).commit)
    const writer = await createNode({ doctypes: [tile()], storage: levelStorage({ path: join(dir, 'cache') }), cacheSize: 1 })
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
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
