// PostgreSQL storage against LevelDB in the same run: the same signed-commit ingest through a node on each, and HTTP
// creates against a daemon on each; then the query bench's 100,000 documents on PostgreSQL (query.*_p50_ms.postgres).
// `KILN_BENCH_SECTIONS=query` runs only that section (ingest, http, query). Uses the server of KILN_TEST_DATABASE_URL (a fresh database, dropped after), or
// starts a private server from the PostgreSQL binaries found here (stopped after). Everything on 127.0.0.1.
import { spawn } from 'node:child_process'
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
import { levelStorage } from '@kiln/storage-level'
import { postgresStorage } from '@kiln/storage-postgres'
import pg from 'pg'
import { createTestDatabase, findPostgresBinaries, startPostgresServer } from '@kiln/storage-postgres/testing'
import { report } from './measure.mjs'
import { benchQuery } from './query.bench.mjs'

const DOCS = 50
const UPDATES_PER_DOC = 10
const CLIENTS = 16
const CREATES_PER_CLIENT = 40
const sections = process.env.KILN_BENCH_SECTIONS?.split(',')
const want = (section) => sections === undefined || sections.includes(section)
const BIN = fileURLToPath(new URL('../packages/cli/bin/kiln.js', import.meta.url))

/** A server to bench on: the test server, or a private one; undefined (with the reason printed) when neither. */
async function postgresServer () {
  const url = process.env.KILN_TEST_DATABASE_URL
  if (url !== undefined && url !== '') return { url, where: 'KILN_TEST_DATABASE_URL', stop: async () => {} }
  const binDir = await findPostgresBinaries()
  if (binDir === undefined) return undefined
  const server = await startPostgresServer({ binDir })
  return { url: server.url, where: 'a private server', stop: async () => { await server.destroy() } }
}

/** Signs `count` successive updates of a new tile on a scratch in-memory node. */
async function prepareDocument (signer, count, label) {
  const scratch = await createNode({ doctypes: [tile()], storage: memoryStorage(), durability: 'relaxed' })
  const genesis = await makeGenesis({ label, n: 0 }, {}, signer)
  let { id, state } = await scratch.createDocument('tile', genesis.commit)
  const updates = []
  for (let n = 1; n <= count; n++) {
    const update = await makeUpdate(state, { label, n, padding: 'x'.repeat(100) }, signer)
    updates.push(update.commit)
    state = (await scratch.applyCommit(id, update.commit)).state
  }
  await scratch.stop()
  return { id, genesis: genesis.commit, updates }
}

/** Updates per second of every document's updates, one update of each document in flight at once, strict durability. */
async function ingest (storage, docs) {
  const node = await createNode({ doctypes: [tile()], storage, durability: 'strict' })
  try {
    await Promise.all(docs.map(async (doc) => await node.createDocument('tile', doc.genesis)))
    const start = performance.now()
    for (let u = 0; u < UPDATES_PER_DOC; u++) await Promise.all(docs.map(async (doc) => await node.applyCommit(doc.id, doc.updates[u])))
    return (DOCS * UPDATES_PER_DOC) / ((performance.now() - start) / 1000)
  } finally {
    await node.stop()
  }
}

async function startDaemon (dataDir, extraArgs) {
  const child = spawn(process.execPath, [BIN, 'daemon', '--port', '0', '--json', '--anchor', 'none', '--p2p-listen', 'none', '--log-level', 'error', '--data-dir', dataDir, ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code}`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      try { const e = JSON.parse(line); if (e.event === 'listening') resolve(e.url) } catch { /* a line that is not JSON */ }
    })
  })
  return { url, stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM') }) }
}

const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS })

async function post (url, body) {
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
}

async function signedCreates (signer, round) {
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

/** Creates per second against a daemon started with `args`, after an untimed round. */
async function httpCreates (args, warmup, creates) {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-pg-bench-'))
  const daemon = await startDaemon(dir, args)
  const url = `${daemon.url}/api/v0/streams`
  const drive = async (perClient) => {
    const start = performance.now()
    await Promise.all(perClient.map(async (bodies) => { for (const body of bodies) await post(url, body) }))
    return (CLIENTS * CREATES_PER_CLIENT) / ((performance.now() - start) / 1000)
  }
  try {
    await drive(warmup)
    return await drive(creates)
  } finally {
    await daemon.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

export default async function postgresBench () {
  const server = await postgresServer()
  if (server === undefined) {
    console.log('# postgres.*: skipped, KILN_TEST_DATABASE_URL is not set and no PostgreSQL server binaries (initdb, pg_ctl) were found')
    return
  }
  const dir = await mkdtemp(join(tmpdir(), 'kiln-pg-bench-'))
  const databases = []
  const database = async () => { const db = await createTestDatabase(server.url); databases.push(db); return db.url }
  database.last = async () => databases.at(-1).url
  try {
    const signer = keyDidSigner({ seed: new Uint8Array(32).fill(7) })
    if (want('ingest')) await ingestSection(signer, dir, database, server.where)
    if (want('http')) await httpSection(signer, database)
    if (want('query')) {
      // Target: query.indexed_p50_ms.postgres under 10 ms.
      await benchQuery('postgres', analyzedFirst(postgresStorage({ connectionString: await database() }), await database.last()))
    }
  } finally {
    for (const db of databases) await db.drop().catch(() => {})
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * The storage of `factory`, whose first query runs ANALYZE on the index table first: the bench queries right after a
 * bulk load, before autovacuum (within a minute on a running node) has given the planner the table's statistics.
 */
function analyzedFirst (factory, url) {
  return (components) => {
    const storage = factory(components)
    let analyzed
    const query = storage.query.bind(storage)
    storage.query = async (q, options) => {
      analyzed ??= (async () => {
        const client = new pg.Client({ connectionString: url })
        await client.connect()
        try { await client.query('ANALYZE kiln_documents') } finally { await client.end() }
      })()
      await analyzed
      return await query(q, options)
    }
    return storage
  }
}

async function ingestSection (signer, dir, database, where) {
  const docs = []
  for (let d = 0; d < DOCS; d++) docs.push(await prepareDocument(signer, UPDATES_PER_DOC, `doc-${d}`))
  const level = await ingest(levelStorage({ path: join(dir, 'ingest') }), docs)
  const postgres = await ingest(postgresStorage({ connectionString: await database() }), docs)
  const how = `${DOCS * UPDATES_PER_DOC} signed tile updates over ${DOCS} documents, ${DOCS} in flight, strict durability`
  report('postgres.ingest.level_updates_per_s', level, 'updates/s', `LevelDB, ${how}`)
  report('postgres.ingest.postgres_updates_per_s', postgres, 'updates/s', `PostgreSQL (${where}), ${how}`)
  report('postgres.ingest.ratio_to_level', postgres / level, 'x', 'PostgreSQL rate / LevelDB rate, same run')
}

async function httpSection (signer, database) {
  const warmup = await signedCreates(signer, 'warmup')
  const creates = await signedCreates(signer, 'measured')
  const levelCreates = await httpCreates([], warmup, creates)
  const postgresCreates = await httpCreates(['--storage', await database()], warmup, creates)
  const clients = `${CLIENTS} concurrent clients, ${CLIENTS * CREATES_PER_CLIENT} signed tiles`
  report('postgres.http_creates_per_s', postgresCreates, 'creates/s', `daemon on PostgreSQL, ${clients}`)
  report('postgres.http_creates_per_s.level_baseline', levelCreates, 'creates/s', `daemon on LevelDB, ${clients}`)
  report('postgres.http_creates.ratio_to_level', postgresCreates / levelCreates, 'x')
}
