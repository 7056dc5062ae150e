// Queries on 100,000 indexed documents, straight through storage (no core): the median latency of a first page of 20
// for an indexed metadata filter (controller, family or schema in turn), a content equality filter, and backlinks
// (linksTo). Each backend is built the same way: head and index record per document, in batches; LevelDB is then
// compacted, as a store written a while ago would be. Another backend adds itself by calling
// benchQuery('<name>', factory, { settle }) from its own bench.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeRecord } from '@kiln/codec'
import { memoryStorage } from '@kiln/core'
import { AnchorStatus, SignatureStatus } from '@kiln/interface'
import { levelStorage } from '@kiln/storage-level'
import { ClassicLevel } from 'classic-level'
import { report } from './measure.mjs'

const DOCS = 100_000
const BUILD_BATCH = 2_000
const RUNS = 40
const T0 = 1_700_000_000_000
const CONTROLLERS = 1_000
const FAMILIES = 500
const SCHEMAS = 1_000
const TARGETS = 2_000
const VALUES = 100

const controllerOf = (i) => `did:key:z6Mk${String(i % CONTROLLERS).padStart(6, '0')}`
const familyOf = (i) => `family-${i % FAMILIES}`
const schemaOf = (i) => `kschema${String(i % SCHEMAS).padStart(6, '0')}`
const targetOf = (i) => `ktarget${String(i % TARGETS).padStart(6, '0')}`
const docIdOf = (i) => `kdoc${String(i).padStart(8, '0')}`

/** The index record of document `i`: every metadata value shared by DOCS / (its number of values) documents. */
function recordOf (i) {
  const record = {
    doctype: i % 10 === 0 ? 64 : 0,
    controllers: [controllerOf(i)],
    family: familyOf(i),
    tags: [`tag-${i % 50}`],
    schemaDoc: schemaOf(i),
    schemaCommit: `${schemaOf(i)}-v1`,
    content: { n: i % VALUES, title: `document ${i}`, ref: targetOf(i) },
    links: [targetOf(i)],
    createdAt: T0 + i,
    updatedAt: T0 + ((i * 7919) % DOCS)
  }
  if (i % 2 === 0) record.anchoredAt = T0 + i * 10
  return record
}

async function build (storage) {
  const genesis = (await encodeRecord({ bench: 'query' })).cid
  const head = {
    type: 0, content: { title: 'a document' }, metadata: { controllers: [controllerOf(0)] },
    signature: SignatureStatus.SIGNED, anchorStatus: AnchorStatus.PENDING, genesis, tip: genesis, logLength: 1
  }
  for (let from = 0; from < DOCS; from += BUILD_BATCH) {
    const batch = storage.batch()
    for (let i = from; i < Math.min(DOCS, from + BUILD_BATCH); i++) batch.putHead(docIdOf(i), head).putIndex(docIdOf(i), recordOf(i))
    await batch.commit()
  }
}

/** The median latency in ms of `query(run)` over RUNS runs (after a few warm-up runs), checking each page is full. */
async function p50 (storage, queryOf) {
  for (let run = 0; run < 3; run++) await storage.query(queryOf(run))
  const times = []
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now()
    const page = await storage.query(queryOf(run))
    times.push(performance.now() - started)
    if (page.ids.length !== 20) throw new RangeError(`expected a page of 20, got ${page.ids.length}`)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

const sort = { by: 'created', order: 'asc' }
const indexedFilters = [
  (run) => ({ controller: controllerOf(run * 37) }),
  (run) => ({ family: familyOf(run * 13) }),
  (run) => ({ schema: { doc: schemaOf(run * 53) } })
]

/**
 * Builds DOCS index records on a storage from `factory` and prints the median latency of the three query kinds as
 * `bench query.<kind>_p50_ms.<name>`; returns them as `{ indexed, content, backlinks }` in ms. `settle(storage)`, when
 * given, runs after the build and returns the started storage to query (a backend's compaction or vacuum, so that
 * the figures are those of data written a while ago, not of the build's backlog).
 */
export async function benchQuery (name, factory, { settle } = {}) {
  let storage = factory({})
  await storage.start?.()
  try {
    const started = performance.now()
    await build(storage)
    const buildMs = performance.now() - started
    if (settle !== undefined) storage = await settle(storage)
    const indexed = await p50(storage, (run) => ({ filter: indexedFilters[run % 3](run), sort, first: 20 }))
    const content = await p50(storage, (run) => ({ filter: { content: { path: ['n'], equalTo: (run * 97) % VALUES } }, sort, first: 20 }))
    const backlinks = await p50(storage, (run) => ({ filter: { linksTo: targetOf(run * 31) }, sort, first: 20 }))
    const note = `${DOCS} documents (built in ${(buildMs / 1000).toFixed(1)} s), first page of 20 by creation, median of ${RUNS}`
    report(`query.indexed_p50_ms.${name}`, indexed, 'ms', `controller, family or schema, each shared by 100 to 200 documents; ${note}`)
    report(`query.content_p50_ms.${name}`, content, 'ms', `content equality matching 1 in ${VALUES}; ${note}`)
    report(`query.backlinks_p50_ms.${name}`, backlinks, 'ms', `linksTo, ${DOCS / TARGETS} backlinks each; ${note}`)
    return { indexed, content, backlinks }
  } finally {
    await storage.stop?.()
  }
}

export default async function queryBench () {
  await benchQuery('memory', memoryStorage())
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-query-'))
  try {
    const factory = levelStorage({ path: dir })
    const level = await benchQuery('level', factory, {
      settle: async (storage) => {
        await storage.stop()
        const db = new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view' })
        await db.open()
        await db.compactRange(Uint8Array.of(0), Uint8Array.of(0xff))
        await db.close()
        const reopened = factory({})
        await reopened.start()
        return reopened
      }
    })
    report('query.indexed_p50_ms', level.indexed, 'ms', 'LevelDB')
    report('query.content_p50_ms', level.content, 'ms', 'LevelDB')
    report('query.backlinks_p50_ms', level.backlinks, 'ms', 'LevelDB')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
