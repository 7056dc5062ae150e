import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest'
import type { CID } from 'multiformats/cid'
import { AnchorStatus, LogEntryType, SignatureStatus } from '@kiln/interface'
import type { DocHead, Logger, Storage, StorageQuery, StoredLogEntry } from '@kiln/interface'
import { encodeRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { levelStorage } from '@kiln/storage-level'
import { keyCensus } from './fixtures/layout-1.js'
import { dumpDatabase, writeLayout2Database, writeRawKey, type Layout2Document } from './fixtures/layout-2.js'

const ALICE = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'
const BOB = 'did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH'
const FILLER = 'did:key:z6MkfillerFillerFillerFillerFillerFillerFiller'
/** Anchor times, unix seconds, as the chain gives them. */
const T1 = 1_700_000_000
const T2 = 1_700_000_500
/** The migration's clock in each run, milliseconds. */
const FIRST_RUN = 1_800_000_000_000
const SECOND_RUN = 1_800_000_100_000
/** Documents per migration batch (the package's bound). */
const BATCH = 500

async function cidOf (name: string): Promise<CID> {
  return (await encodeRecord({ name })).cid
}

/** A head of `logLength` entries from `genesis` to `tip`, with these content and metadata. */
function headOf (content: unknown, metadata: DocHead['metadata'], log: StoredLogEntry[]): DocHead {
  return {
    type: 0, content, metadata, signature: SignatureStatus.SIGNED, anchorStatus: AnchorStatus.ANCHORED,
    genesis: log[0]!.cid, tip: log[log.length - 1]!.cid, logLength: log.length
  }
}

/** A log of entries of these types, each its own commit; `times` gives anchor entries their chain time. */
async function logOf (name: string, types: LogEntryType[], times: Record<number, number> = {}): Promise<StoredLogEntry[]> {
  return await Promise.all(types.map(async (type, seq) => {
    const entry: StoredLogEntry = { cid: await cidOf(`${name}-${seq}`), type }
    if (times[seq] !== undefined) entry.timestamp = times[seq]
    return entry
  }))
}

function byCreated (filter: StorageQuery['filter'], count = false): StorageQuery {
  return { filter, sort: { by: 'created', order: 'asc' }, first: 100, count }
}

function recordingLogger (): Logger & { infos: Array<[unknown, string | undefined]> } {
  const infos: Array<[unknown, string | undefined]> = []
  return { infos, debug: () => {}, info: (obj, msg) => { infos.push([obj, msg]) }, warn: () => {}, error: () => {} }
}

describe('levelStorage opening a layout-2 database without index records', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-level-index-'))
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(FIRST_RUN)
  })

  afterEach(async () => {
    vi.useRealTimers()
    await rm(dir, { recursive: true, force: true })
  })

  async function open (init: { failWrite?: () => boolean, logger?: Logger } = {}): Promise<Storage> {
    const storage = levelStorage({ path: dir, faults: { failWrite: init.failWrite } })({ logger: init.logger })
    await storage.start?.()
    return storage
  }

  /** `count` documents of one controller, ids in key order, never anchored, each linking to nothing. */
  function fillers (count: number, genesis: StoredLogEntry[]): Record<string, Layout2Document> {
    const documents: Record<string, Layout2Document> = {}
    for (let i = 0; i < count; i++) {
      documents[`kfill-${String(i).padStart(4, '0')}`] = { head: headOf({ n: i }, { controllers: [FILLER] }, genesis), log: genesis }
    }
    return documents
  }

  describe('with documents of every kind', () => {
    let ids: { target: string, targetCommit: string, note: string, reply: string, early: string, short: string, schema: string, schemaCommit: string }
    let documents: Record<string, Layout2Document>

    beforeEach(async () => {
      const target = new DocID(0, await cidOf('target'))
      const schema = new DocID(64, await cidOf('schema'))
      ids = {
        target: target.toString(),
        targetCommit: target.atCommit(await cidOf('target-commit')).toString(),
        note: new DocID(0, await cidOf('note')).toString(),
        reply: new DocID(0, await cidOf('reply')).toString(),
        early: new DocID(0, await cidOf('early')).toString(),
        short: new DocID(0, await cidOf('short')).toString(),
        schema: schema.toString(),
        schemaCommit: schema.atCommit(await cidOf('schema-v1')).toString()
      }
      const { GENESIS, SIGNED, ANCHOR } = LogEntryType
      const targetLog = await logOf('target', [GENESIS])
      // Anchored, then changed: its anchor time is that of the anchor entry before the last entry.
      const noteLog = await logOf('note', [GENESIS, SIGNED, ANCHOR, SIGNED], { 2: T1 })
      // Anchored twice: the latest anchor counts.
      const replyLog = await logOf('reply', [GENESIS, ANCHOR, SIGNED, ANCHOR], { 1: T1, 3: T2 })
      const earlyLog = await logOf('early', [GENESIS])
      const shortLog = await logOf('short', [GENESIS, ANCHOR], { 1: T1 })
      documents = {
        [ids.target]: { head: headOf({ name: 'target' }, { controllers: [ALICE] }, targetLog), log: targetLog },
        [ids.note]: {
          head: headOf({ status: 'open', ref: `ceramic://${ids.target}` }, { controllers: [ALICE], family: 'notes', tags: ['red'] }, noteLog),
          log: noteLog
        },
        [ids.reply]: {
          head: headOf({ status: 'done', refs: [ids.targetCommit, 'not a link'] }, { controllers: [BOB], family: 'notes', schema: ids.schemaCommit }, replyLog),
          log: replyLog
        },
        // Written by a version that already indexed: its record stays as it is.
        [ids.early]: {
          head: headOf({ status: 'done' }, { controllers: [BOB], family: 'early' }, earlyLog),
          log: earlyLog,
          index: { doctype: 0, controllers: [BOB], family: 'early', tags: [], content: { status: 'done' }, links: [], createdAt: 5, updatedAt: 6 }
        },
        // A head one entry ahead of its log, as no write leaves it: the log is read from its real end.
        [ids.short]: { head: { ...headOf({}, { controllers: [BOB], family: 'odd' }, shortLog), logLength: 3 }, log: shortLog }
      }
      await writeLayout2Database(dir, documents)
    })

    it('opens as layout 3 with every document indexed from its head and log, created and updated when it was indexed', async () => {
      expect((await keyCensus(dir)).kinds.x).toBe(1)
      const storage = await open()
      try {
        expect(await storage.getIndexRecord(ids.target)).toEqual({
          doctype: 0, controllers: [ALICE], tags: [], content: { name: 'target' }, links: [], createdAt: FIRST_RUN, updatedAt: FIRST_RUN
        })
        expect(await storage.getIndexRecord(ids.note)).toEqual({
          doctype: 0, controllers: [ALICE], family: 'notes', tags: ['red'], content: { status: 'open', ref: `ceramic://${ids.target}` },
          links: [ids.target], createdAt: FIRST_RUN, updatedAt: FIRST_RUN, anchoredAt: T1 * 1000
        })
        expect(await storage.getIndexRecord(ids.reply)).toEqual({
          doctype: 0, controllers: [BOB], family: 'notes', tags: [], schemaDoc: ids.schema, schemaCommit: ids.schemaCommit,
          content: { status: 'done', refs: [ids.targetCommit, 'not a link'] }, links: [ids.target],
          createdAt: FIRST_RUN, updatedAt: FIRST_RUN, anchoredAt: T2 * 1000
        })
        expect(await storage.getIndexRecord(ids.early)).toMatchObject({ family: 'early', createdAt: 5, updatedAt: 6 })
        expect(await storage.getIndexRecord(ids.short)).toMatchObject({ family: 'odd', anchoredAt: T1 * 1000 })
      } finally {
        await storage.stop?.()
      }
      expect((await keyCensus(dir)).layout).toEqual([3])
    })

    it('answers queries by controller, family, content, linksTo, schema and anchor time over the documents it indexed', async () => {
      const storage = await open()
      try {
        const idsOf = async (query: StorageQuery): Promise<string[]> => (await storage.query(query)).ids
        expect((await idsOf(byCreated({ controller: ALICE }))).sort()).toEqual([ids.note, ids.target].sort())
        expect((await idsOf(byCreated({ family: 'notes' }))).sort()).toEqual([ids.note, ids.reply].sort())
        expect(await idsOf(byCreated({ content: { path: ['status'], equalTo: 'open' } }))).toEqual([ids.note])
        expect((await idsOf(byCreated({ linksTo: ids.target }))).sort()).toEqual([ids.note, ids.reply].sort())
        expect(await idsOf(byCreated({ schema: { doc: ids.schema } }))).toEqual([ids.reply])
        expect(await idsOf({ filter: { family: 'notes' }, sort: { by: 'anchored', order: 'desc' }, first: 10 })).toEqual([ids.reply, ids.note])
        expect(await idsOf(byCreated({ anchored: { after: T1 * 1000 } }))).toEqual([ids.reply])
        expect((await storage.query(byCreated(undefined, true))).count).toBe(5)
      } finally {
        await storage.stop?.()
      }
    })

    it('changes nothing when a layout-3 database is opened again, whatever the clock says', async () => {
      await (await open()).stop?.()
      const migrated = await dumpDatabase(dir)
      vi.setSystemTime(SECOND_RUN)
      let writes = 0
      await (await open({ failWrite: () => { writes++; return false } })).stop?.()
      expect(writes).toBe(0)
      expect(await dumpDatabase(dir)).toEqual(migrated)
    })

    it('refuses a head that is not one with a StorageError naming the document, and stays at layout 2', async () => {
      await writeRawKey(dir, Uint8Array.of(0x68, ...new TextEncoder().encode('kbroken')), Uint8Array.of(1, 2, 3))
      const err = await rejection(open())
      expect(err.name).toBe('StorageError')
      expect(err.message).toContain('kbroken')
      const census = await keyCensus(dir)
      expect(census.layout).toEqual([2])
      // The batch holding the broken document wrote nothing: only the record written before is there.
      expect(census.kinds.x).toBe(1)
    })
  })

  it(`indexes documents ${BATCH} to a batch, sets the version with the last batch and logs its progress at info`, async () => {
    const genesis = await logOf('filler', [LogEntryType.GENESIS])
    await writeLayout2Database(dir, fillers(2 * BATCH + 100, genesis))
    const logger = recordingLogger()
    let writes = 0
    const storage = await open({ logger, failWrite: () => { writes++; return false } })
    try {
      expect(writes).toBe(3)
      expect((await storage.query({ ...byCreated({ controller: FILLER }, true), first: 1 })).count).toBe(2 * BATCH + 100)
    } finally {
      await storage.stop?.()
    }
    const migration = logger.infos.filter(([, msg]) => msg?.includes('2 to 3') === true).map(([obj]) => obj)
    expect(migration).toEqual([
      { path: dir },
      { path: dir, examined: BATCH, indexed: BATCH },
      { path: dir, examined: 2 * BATCH, indexed: 2 * BATCH },
      { path: dir, documents: 2 * BATCH + 100 }
    ])
    expect((await keyCensus(dir)).layout).toEqual([3])
  })

  // Three batches: 500, 500 and 100 documents, the last with the version. A failure at any of them leaves the
  // batches before it written and the version at 2; the next start() indexes the rest and skips what is indexed.
  for (const failing of [1, 2, 3]) {
    it(`finishes an indexing stopped by a failure at its batch ${failing} of 3 on the next start()`, async () => {
      const genesis = await logOf('filler', [LogEntryType.GENESIS])
      const total = 2 * BATCH + 100
      await writeLayout2Database(dir, fillers(total, genesis))
      let writes = 0
      const err = await rejection(open({ failWrite: () => ++writes === failing }))
      expect(err.name).toBe('StorageError')
      expect(err.message).toContain('failWrite')
      const done = (failing - 1) * BATCH
      const census = await keyCensus(dir)
      expect(census.layout).toEqual([2])
      expect(census.kinds.x ?? 0).toBe(done)

      vi.setSystemTime(SECOND_RUN)
      const storage = await open()
      try {
        expect((await storage.query({ ...byCreated({ controller: FILLER }, true), first: 1 })).count).toBe(total)
        // Indexed by the first run: its clock; by the second: the second's.
        const created = async (i: number): Promise<number | undefined> => (await storage.getIndexRecord(`kfill-${String(i).padStart(4, '0')}`))?.createdAt
        if (done > 0) expect([await created(0), await created(done - 1)]).toEqual([FIRST_RUN, FIRST_RUN])
        expect([await created(done), await created(total - 1)]).toEqual([SECOND_RUN, SECOND_RUN])
        const firstRun = await storage.query({ filter: { and: [{ controller: FILLER }, { created: { before: SECOND_RUN } }] }, sort: { by: 'created', order: 'asc' }, first: 1, count: true })
        expect(firstRun.count).toBe(done)
      } finally {
        await storage.stop?.()
      }
      expect((await keyCensus(dir)).layout).toEqual([3])
    })
  }
})

async function rejection (promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, 'expected a rejection').toBeInstanceOf(Error)
  return err as Error
}
