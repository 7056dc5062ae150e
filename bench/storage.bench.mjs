// LevelDB storage on its own (direct storage calls, no core): what one append costs as the log grows. An append is
// the batch the core writes for a commit: the block, one log entry, one commit-index entry and the head. Bytes come
// from writeStats(); rates are appends to DOCS documents in turn, awaited one by one, relaxed (sync: false) and
// durable (sync: true, one fsync per append).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeRecord } from '@kiln/codec'
import { AnchorStatus, LogEntryType, SignatureStatus } from '@kiln/interface'
import { levelStorage } from '@kiln/storage-level'
import { ClassicLevel } from 'classic-level'
import { rate, report } from './measure.mjs'

const DOCS = 20
const BUILD_BATCH = 500
const CONTROLLER = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'

/** A block of constant size: the label and number have a fixed width. */
async function blockOf (docId, n) {
  return await encodeRecord({ docId, n: String(n).padStart(8, '0'), data: { title: 'a document', items: [1, 2, 3] } })
}

function headOf (genesis, tip, logLength) {
  return {
    type: 0,
    content: { title: 'a document', items: [1, 2, 3] },
    metadata: { controllers: [CONTROLLER] },
    signature: SignatureStatus.SIGNED,
    anchorStatus: AnchorStatus.PENDING,
    genesis,
    tip,
    logLength
  }
}

function appendBatch (storage, docId, genesis, seq, block) {
  return storage.batch()
    .putBlock(block.cid, block.bytes)
    .putLogEntry(docId, seq, { cid: block.cid, type: seq === 0 ? LogEntryType.GENESIS : LogEntryType.SIGNED })
    .indexCommit(docId, block.cid, { seq })
    .putHead(docId, headOf(genesis, block.cid, seq + 1))
}

/** Writes the first `length` entries of a document's log in large batches (not the path measured). */
async function buildLog (storage, docId, length) {
  const genesis = (await blockOf(docId, 0)).cid
  for (let from = 0; from < length; from += BUILD_BATCH) {
    const batch = storage.batch()
    const to = Math.min(length, from + BUILD_BATCH)
    let tip = genesis
    for (let seq = from; seq < to; seq++) {
      const block = await blockOf(docId, seq)
      tip = block.cid
      batch.putBlock(block.cid, block.bytes)
        .putLogEntry(docId, seq, { cid: block.cid, type: seq === 0 ? LogEntryType.GENESIS : LogEntryType.SIGNED })
        .indexCommit(docId, block.cid, { seq })
    }
    await batch.putHead(docId, headOf(genesis, tip, to)).commit()
  }
  return genesis
}

/**
 * A store at `path` with DOCS documents whose logs hold `length` entries, and the blocks of `appends` more for each.
 * The logs are built in bulk and compacted, as on a node that wrote them a while ago, so the measured appends do not
 * wait for the compaction of the writes that built them.
 */
async function prepare (path, length, appends) {
  const docs = []
  const builder = levelStorage({ path })({})
  await builder.start()
  for (let d = 0; d < DOCS; d++) {
    const docId = `kdoc-${d}`
    const genesis = await buildLog(builder, docId, length)
    const blocks = []
    for (let a = 0; a < appends; a++) blocks.push(await blockOf(docId, length + a))
    docs.push({ docId, genesis, blocks, length })
  }
  await builder.stop()
  const db = new ClassicLevel(path, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  await db.compactRange(Uint8Array.of(0), Uint8Array.of(0xff))
  await db.close()
  const storage = levelStorage({ path })({})
  await storage.start()
  return { storage, docs }
}

/** Appends/s of `rounds` appends to each document, in turn, one awaited after the other. */
async function appendRound (store, rounds, sync) {
  const start = performance.now()
  for (let r = 0; r < rounds; r++) {
    for (const doc of store.docs) {
      await appendBatch(store.storage, doc.docId, doc.genesis, doc.length, doc.blocks.shift()).commit({ sync })
      doc.length++
    }
  }
  return (store.docs.length * rounds) / ((performance.now() - start) / 1000)
}

/** Reports the median of `values` with their range, which says how much the machine's load moved the figure. */
function reportTrials (name, values, unit, note) {
  const sorted = [...values].sort((a, b) => a - b)
  const range = `${sorted[0].toFixed(0)}–${sorted[sorted.length - 1].toFixed(0)}`
  report(name, sorted[Math.floor(sorted.length / 2)], unit, `median of ${sorted.length} trials, range ${range}; ${note}`)
}

/**
 * Appends/s at log lengths 100 and 10,000, and head reads/s on the same stores: after a warm-up round on each, trials
 * alternate between the two stores, in alternating order (so neither always goes first, and a busy moment of the
 * machine hits both), and the median trial is reported.
 */
async function appendRates (dir, { trials, rounds, sync }) {
  const lengths = [100, 10_000]
  const stores = {}
  for (const length of lengths) stores[length] = await prepare(join(dir, `rate-${length}-${sync}`), length, (trials + 1) * rounds)
  const appends = { 100: [], 10000: [] }
  const heads = { 100: [], 10000: [] }
  try {
    for (const length of lengths) await appendRound(stores[length], rounds, sync)
    for (let t = 0; t < trials; t++) {
      for (const length of t % 2 === 0 ? lengths : [...lengths].reverse()) {
        appends[length].push(await appendRound(stores[length], rounds, sync))
        const { storage, docs } = stores[length]
        if (!sync) heads[length].push(await rate(async () => await storage.getHead(docs[t % DOCS].docId), { ms: 200, warmup: 50 }))
      }
    }
    return { appends, heads }
  } finally {
    for (const store of Object.values(stores)) await store.storage.stop()
  }
}

export default async function storageBench () {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-storage-'))
  try {
    // Bytes of one append at position 10 and at 5,000, appending one by one from the start.
    const storage = levelStorage({ path: join(dir, 'bytes') })({})
    await storage.start()
    const docId = 'kdoc-bytes'
    const genesis = (await blockOf(docId, 0)).cid
    const bytes = {}
    for (let seq = 0; seq <= 5000; seq++) {
      const block = await blockOf(docId, seq)
      const before = storage.writeStats().bytesWritten
      await appendBatch(storage, docId, genesis, seq, block).commit()
      if (seq === 10 || seq === 5000) bytes[seq] = storage.writeStats().bytesWritten - before
    }
    await storage.stop()
    report('storage.append_bytes.at_10', bytes[10], 'bytes', 'block + log entry + commit index + head, keys included')
    report('storage.append_bytes.at_5000', bytes[5000], 'bytes', 'equal to the figure at 10: positions and the log length are written at a fixed width')

    for (const [sync, trials, rounds, name] of [[false, 9, 10, 'append_per_s'], [true, 5, 2, 'append_per_s_sync']]) {
      const { appends, heads } = await appendRates(dir, { trials, rounds, sync })
      const note = `${DOCS} documents x ${rounds} appends each, sync: ${String(sync)}`
      reportTrials(`storage.${name}.at_100`, appends[100], 'appends/s', note)
      reportTrials(`storage.${name}.at_10000`, appends[10000], 'appends/s', note)
      if (!sync) {
        reportTrials('storage.get_head_per_s.at_100', heads[100], 'reads/s', 'getHead of a document with a log of 100')
        reportTrials('storage.get_head_per_s.at_10000', heads[10000], 'reads/s', 'getHead of a document with a log of 10,000')
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
