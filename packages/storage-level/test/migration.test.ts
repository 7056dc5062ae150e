import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { CID } from 'multiformats/cid'
import { AnchorStatus, LogEntryType, SignatureStatus } from '@kiln/interface'
import type { Block, DocState, Storage } from '@kiln/interface'
import { encodeRecord } from '@kiln/codec'
import { levelStorage } from '@kiln/storage-level'
import { keyCensus, writeLayout1Database, type Layout1Document } from './fixtures/layout-1.js'

const CONTROLLER = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'
const ANCHORED_AT = 1_700_000_000

describe('levelStorage opening a layout-1 database', () => {
  let dir: string
  let blocks: Record<'genesis' | 'signed' | 'anchor' | 'last' | 'loser' | 'other' | 'indexedOnly' | 'root' | 'link', Block>
  let documents: Record<string, Layout1Document>
  let state: DocState

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-level-migrate-'))
    const names = ['genesis', 'signed', 'anchor', 'last', 'loser', 'other', 'indexedOnly', 'root', 'link'] as const
    blocks = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await encodeRecord({ name })]))) as typeof blocks
    // Layout 1 set a time on every entry an anchor covers; layout 2 keeps it on the anchor entry only.
    state = {
      type: 0,
      content: { title: 'migrated', link: blocks.link.cid, nested: { n: [1, 2] } },
      metadata: { controllers: [CONTROLLER], family: 'profile' },
      signature: SignatureStatus.SIGNED,
      anchorStatus: AnchorStatus.ANCHORED,
      anchorProof: { chainId: 'eip155:1337', root: blocks.root.cid, txHash: blocks.root.cid, txType: 'f(bytes32)' },
      log: [
        { cid: blocks.genesis.cid, type: LogEntryType.GENESIS, timestamp: ANCHORED_AT },
        { cid: blocks.signed.cid, type: LogEntryType.SIGNED, timestamp: ANCHORED_AT },
        { cid: blocks.anchor.cid, type: LogEntryType.ANCHOR, timestamp: ANCHORED_AT },
        { cid: blocks.last.cid, type: LogEntryType.SIGNED }
      ]
    }
    documents = {
      // Its index holds a losing branch's commit and, as layout 1 could leave it, a repeated CID.
      kdoc: {
        state,
        indexed: [blocks.genesis.cid, blocks.signed.cid, blocks.loser.cid, blocks.anchor.cid, blocks.last.cid, blocks.signed.cid],
        pinned: true
      },
      kdoc1: {
        state: { ...state, content: { title: 'prefix' }, anchorStatus: AnchorStatus.PENDING, anchorProof: undefined, log: [{ cid: blocks.other.cid, type: LogEntryType.GENESIS }] },
        indexed: [blocks.other.cid]
      },
      'kdoc-index-only': { indexed: [blocks.indexedOnly.cid] }
    }
    delete documents.kdoc1!.state!.anchorProof
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  async function open (failWrite?: () => boolean): Promise<Storage> {
    const storage = levelStorage({ path: dir, faults: { failWrite } })({})
    await storage.start?.()
    return storage
  }

  /** What every layout-1 key became; then no layout-1 key is left, the documents are indexed and the layout is 3. */
  async function expectMigrated (): Promise<void> {
    const storage = await open()
    try {
      const { log: _log, ...rest } = state
      expect(await storage.getHead('kdoc')).toEqual({ ...rest, genesis: blocks.genesis.cid, tip: blocks.last.cid, logLength: 4 })
      const head = await storage.getHead('kdoc')
      expect(CID.asCID(head?.tip)?.equals(blocks.last.cid)).toBe(true)
      expect(CID.asCID((head?.content as { link: unknown }).link)?.equals(blocks.link.cid)).toBe(true)
      const log = await storage.readLog('kdoc')
      expect(log.map((e) => [e.cid.toString(), e.type, e.timestamp])).toEqual([
        [blocks.genesis.cid.toString(), LogEntryType.GENESIS, undefined],
        [blocks.signed.cid.toString(), LogEntryType.SIGNED, undefined],
        [blocks.anchor.cid.toString(), LogEntryType.ANCHOR, ANCHORED_AT],
        [blocks.last.cid.toString(), LogEntryType.SIGNED, undefined]
      ])
      expect(log.map((e) => 'timestamp' in e)).toEqual([false, false, true, false])
      for (const [name, seq] of [['genesis', 0], ['signed', 1], ['anchor', 2], ['last', 3]] as const) {
        expect(await storage.getCommitPlace('kdoc', blocks[name].cid), name).toEqual({ seq })
      }
      expect(await storage.getCommitPlace('kdoc', blocks.loser.cid)).toEqual({})
      expect(await storage.getCheckpoint('kdoc', 1000)).toBeUndefined()
      expect(await storage.isPinned('kdoc')).toBe(true)
      expect(await storage.blocks.get(blocks.genesis.cid)).toEqual(blocks.genesis.bytes)

      expect(await storage.getHead('kdoc1')).toMatchObject({ content: { title: 'prefix' }, logLength: 1, anchorStatus: AnchorStatus.PENDING })
      expect((await storage.getHead('kdoc1'))?.anchorProof).toBeUndefined()
      expect((await storage.readLog('kdoc1')).map((e) => e.cid.toString())).toEqual([blocks.other.cid.toString()])
      expect(await storage.getCommitPlace('kdoc1', blocks.other.cid)).toEqual({ seq: 0 })
      expect(await storage.isPinned('kdoc1')).toBe(false)

      expect(await storage.getHead('kdoc-index-only')).toBeUndefined()
      expect(await storage.readLog('kdoc-index-only')).toEqual([])
      expect(await storage.getCommitPlace('kdoc-index-only', blocks.indexedOnly.cid)).toEqual({})
      expect((await collect(storage.listDocuments())).sort()).toEqual(['kdoc', 'kdoc1'])

      // Then from layout 2 to 3: each document has the index record of its head, anchored at its anchor entry's time.
      expect(await storage.getIndexRecord('kdoc')).toMatchObject({
        doctype: 0, controllers: [CONTROLLER], family: 'profile', tags: [], links: [], anchoredAt: ANCHORED_AT * 1000
      })
      expect((await storage.getIndexRecord('kdoc1'))?.anchoredAt).toBeUndefined()
      const page = await storage.query({ filter: { family: 'profile' }, sort: { by: 'created', order: 'asc' }, first: 10 })
      expect(page.ids.sort()).toEqual(['kdoc', 'kdoc1'])
    } finally {
      await storage.stop?.()
    }
    const census = await keyCensus(dir)
    expect(census.layout).toEqual([3])
    // Per document: an index record, 3 secondary keys (doctype, controller, family) and 3 time keys.
    expect(census.kinds).toEqual({ v: 1, b: 1, p: 1, h: 2, e: 5, c: 7, x: 2, i: 6, t: 6 })
  }

  it('migrates heads, logs (times on anchor entries only), commit indexes and pins in place on start(), and indexes the documents', async () => {
    await writeLayout1Database(dir, documents, [blocks.genesis], ['kdoc-stray'])
    await expectMigrated()
    // Opening it again finds layout 3 and changes nothing.
    await expectMigrated()
  })

  // Five writes: one per document (three), then the version 2; then one batch indexes both documents and sets 3. A
  // failure at any of them is finished by the next start.
  for (const failing of [1, 2, 3, 4, 5]) {
    it(`finishes a migration stopped by a failure at its write ${failing} of 5 on the next start()`, async () => {
      await writeLayout1Database(dir, documents, [blocks.genesis], ['kdoc-stray'])
      let writes = 0
      const err = await rejection(open(() => ++writes === failing))
      expect(err.name).toBe('StorageError')
      expect(err.message).toContain('failWrite')
      const census = await keyCensus(dir)
      expect(census.layout).toEqual([failing <= 4 ? 1 : 2])
      // The documents migrated before the failure are whole, and their layout-1 keys gone: one batch each.
      expect(census.kinds.h ?? 0).toBe(Math.min(failing - 1, 2))
      expect(census.kinds.x ?? 0).toBe(0)
      await expectMigrated()
    })
  }

  it('refuses a layout-1 state without a log with a StorageError naming the document, and migrates nothing more', async () => {
    documents.kbroken = { state: { ...state, log: [] }, indexed: [] }
    await writeLayout1Database(dir, documents)
    const err = await rejection(open())
    expect(err.name).toBe('StorageError')
    expect(err.message).toContain('kbroken')
    expect((await keyCensus(dir)).layout).toEqual([1])
  })
})

async function collect<T> (iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

async function rejection (promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, 'expected a rejection').toBeInstanceOf(Error)
  return err as Error
}
