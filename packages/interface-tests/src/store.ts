import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { CID } from 'multiformats/cid'
import { AnchorStatus, LogEntryType, SignatureStatus } from '@kiln/interface'
import type { Block, DocHead, Storage, StorageBatch, StoredLogEntry } from '@kiln/interface'
import { encodeRecord } from '@kiln/codec'

/** Options of {@link storeTests}. `setup` runs before every test and returns a started, empty `Storage`. */
export interface StoreTestOptions {
  setup (): Storage | Promise<Storage>
  /** Stops the storage and removes what it wrote. Gets the instance in use at the end of the test (after reopens). */
  teardown? (storage: Storage): void | Promise<void>
  /**
   * For durable backends: stops `storage` and starts a new instance on the same data, returning it. Without it the
   * persistence tests are skipped.
   */
  reopen? (storage: Storage): Storage | Promise<Storage>
}

const DAG_JOSE = 0x85
const CONTROLLER = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'
/** How many entries the log-length test appends: the cost of an append must be the same at the start and here. */
const LONG_LOG = 5_000

/** Defines the compliance tests every `Storage` backend must pass. */
export function storeTests (options: StoreTestOptions): void {
  const skipDurable = options.reopen === undefined
  const durable = skipDurable ? ' (skipped: no reopen() given, so the backend is treated as not durable)' : ''

  describe('Storage compliance', () => {
    let storage: Storage

    beforeEach(async () => {
      storage = await options.setup()
    })

    afterEach(async () => {
      await options.teardown?.(storage)
    })

    async function reopen (): Promise<void> {
      if (options.reopen === undefined) throw new TypeError('reopen() is not available')
      storage = await options.reopen(storage)
    }

    /** The batch the core writes to append `block` at position `seq` of a document's log. */
    function appendBatch (docId: string, genesis: CID, seq: number, block: Block, content: unknown = { title: 'a document' }): StorageBatch {
      return storage.batch()
        .putBlock(block.cid, block.bytes)
        .putLogEntry(docId, seq, { cid: block.cid, type: seq === 0 ? LogEntryType.GENESIS : LogEntryType.SIGNED })
        .indexCommit(docId, block.cid, { seq })
        .putHead(docId, headOf(genesis, block.cid, seq + 1, content))
    }

    /** Writes `blocks` as a document's whole log (genesis first) in one batch, with its commit index and head. */
    async function writeLog (docId: string, blocks: Block[], content?: unknown): Promise<void> {
      const batch = storage.batch()
      for (const [seq, block] of blocks.entries()) {
        batch.putBlock(block.cid, block.bytes)
          .putLogEntry(docId, seq, { cid: block.cid, type: seq === 0 ? LogEntryType.GENESIS : LogEntryType.SIGNED })
          .indexCommit(docId, block.cid, { seq })
      }
      await batch.putHead(docId, headOf(blocks[0]!.cid, blocks.at(-1)!.cid, blocks.length, content)).commit()
    }

    describe('blocks', () => {
      it('reads back the bytes of a stored block as a plain Uint8Array', async () => {
        const block = await blockOf({ hello: 'world' })
        await storage.blocks.put(block.cid, block.bytes)
        const bytes = await storage.blocks.get(block.cid)
        expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype)
        expect(bytes).toEqual(block.bytes)
      })

      it('says it has a stored block and does not have an unknown one', async () => {
        const stored = await blockOf({ stored: true })
        const unknown = await blockOf({ stored: false })
        await storage.blocks.put(stored.cid, stored.bytes)
        expect(await storage.blocks.has(stored.cid)).toBe(true)
        expect(await storage.blocks.has(unknown.cid)).toBe(false)
      })

      it('rejects reading an unknown block with BlockNotFoundError naming the CID', async () => {
        const unknown = await blockOf({ nowhere: 1 })
        const err = await expectRejection(storage.blocks.get(unknown.cid), 'BlockNotFoundError')
        expect(err.message).toContain(unknown.cid.toString())
      })

      it('keeps its own copy of block bytes: changing the array given to put or returned by get changes nothing stored', async () => {
        const block = await blockOf({ copy: 'me' })
        const given = block.bytes.slice()
        await storage.blocks.put(block.cid, given)
        given.fill(0)
        const read = await storage.blocks.get(block.cid)
        expect(read).toEqual(block.bytes)
        read.fill(0)
        expect(await storage.blocks.get(block.cid)).toEqual(block.bytes)
      })

      it('copies block bytes when a batch queues them, so changes before commit are not stored', async () => {
        const block = await blockOf({ queued: 'copy' })
        const given = block.bytes.slice()
        const batch = storage.batch().putBlock(block.cid, given)
        given.fill(0)
        await batch.commit()
        expect(await storage.blocks.get(block.cid)).toEqual(block.bytes)
      })
    })

    describe('heads', () => {
      it('round-trips a head holding CIDs, bytes and nested JSON, with CIDs read back as CIDs', async () => {
        const [genesis, tip, root, tx, link] = await fiveBlocks('round-trip')
        const head: DocHead = {
          ...headOf(genesis.cid, tip.cid, 7, {
            name: 'Alice',
            tags: ['a', 'b'],
            nested: { deep: { n: 1.5, count: 3, negative: -7, flag: true, none: null, empty: {}, list: [] } },
            link: link.cid,
            text: 'ünïcödé ✓'
          }),
          metadata: { controllers: [CONTROLLER], family: 'profile', tags: ['x'], unique: Uint8Array.of(1, 2, 3) },
          anchorStatus: AnchorStatus.ANCHORED,
          anchorProof: { chainId: 'eip155:1337', root: root.cid, txHash: tx.cid, txType: 'f(bytes32)' }
        }
        await storage.batch().putHead('kdoc-round-trip', head).commit()

        const read = await storage.getHead('kdoc-round-trip')
        expect(read).toEqual(head)
        expect(CID.asCID(read?.genesis)?.equals(genesis.cid)).toBe(true)
        expect(CID.asCID(read?.tip)?.equals(tip.cid)).toBe(true)
        expect(CID.asCID(read?.anchorProof?.root)?.equals(root.cid)).toBe(true)
        expect(CID.asCID(read?.anchorProof?.txHash)?.equals(tx.cid)).toBe(true)
        expect(CID.asCID((read?.content as { link: unknown }).link)?.equals(link.cid)).toBe(true)
        expect(read?.logLength).toBe(7)
      })

      it('returns undefined for a document without a head', async () => {
        expect(await storage.getHead('kdoc-unknown')).toBeUndefined()
      })

      it('replaces a document head with the one of a later batch', async () => {
        const [genesis, update] = await fiveBlocks('replace')
        await storage.batch().putHead('kdoc-replace', headOf(genesis.cid, genesis.cid, 1, { v: 1 })).commit()
        await storage.batch().putHead('kdoc-replace', headOf(genesis.cid, update.cid, 2, { v: 2 })).commit()
        expect(await storage.getHead('kdoc-replace')).toEqual(headOf(genesis.cid, update.cid, 2, { v: 2 }))
      })

      it('keeps its own copy of a head: changing the written or the returned object changes nothing stored', async () => {
        const [genesis] = await fiveBlocks('head-copy')
        const expected = headOf(genesis.cid, genesis.cid, 1, { list: [1, 2] })
        const written = headOf(genesis.cid, genesis.cid, 1, { list: [1, 2] })
        await storage.batch().putHead('kdoc-copy', written).commit()
        ;(written.content as { list: number[] }).list.push(3)
        written.metadata.controllers.push('did:key:intruder')
        written.logLength = 99
        const read = await storage.getHead('kdoc-copy')
        expect(read).toEqual(expected)
        ;(read?.content as { list: number[] }).list.push(4)
        read!.metadata.controllers.length = 0
        read!.anchorStatus = AnchorStatus.FAILED
        expect(await storage.getHead('kdoc-copy')).toEqual(expected)
      })

      const unencodable: Array<[string, unknown]> = [
        ['a function', { run: () => 1 }],
        ['an undefined value', { missing: undefined }],
        ['NaN', { ratio: Number.NaN }]
      ]
      for (const [what, content] of unencodable) {
        it(`rejects a batch whose head holds ${what} with StorageError and writes none of the batch, for any document`, async () => {
          const [genesis, update, otherGenesis] = await fiveBlocks(`failed ${what}`)
          await writeLog('kdoc-failed', [genesis])
          const before = storage.writeStats()

          const failing = storage.batch()
            .putBlock(update.cid, update.bytes)
            .putLogEntry('kdoc-failed', 1, { cid: update.cid, type: LogEntryType.SIGNED })
            .indexCommit('kdoc-failed', update.cid, { seq: 1 })
            .putBlock(otherGenesis.cid, otherGenesis.bytes)
            .putLogEntry('kdoc-other', 0, { cid: otherGenesis.cid, type: LogEntryType.GENESIS })
            .indexCommit('kdoc-other', otherGenesis.cid, { seq: 0 })
            .putHead('kdoc-other', headOf(otherGenesis.cid, otherGenesis.cid, 1))
            .putCheckpoint('kdoc-other', { seq: 0, head: headOf(otherGenesis.cid, otherGenesis.cid, 1) })
            .putAnchorStatus('kdoc-other', { tip: otherGenesis.cid, status: AnchorStatus.ANCHORED })
            .pin('kdoc-other')
            .putHead('kdoc-failed', headOf(genesis.cid, update.cid, 2, content))
          await expectRejection(failing.commit(), 'StorageError')

          expect(await storage.blocks.has(update.cid)).toBe(false)
          expect(await storage.blocks.has(otherGenesis.cid)).toBe(false)
          expect(await storage.getHead('kdoc-failed')).toEqual(headOf(genesis.cid, genesis.cid, 1))
          expect(entryStrings(await storage.readLog('kdoc-failed'))).toEqual([`${genesis.cid.toString()}:0`])
          expect(await storage.getCommitPlace('kdoc-failed', update.cid)).toBeUndefined()
          expect(await storage.getHead('kdoc-other')).toBeUndefined()
          expect(await storage.readLog('kdoc-other')).toEqual([])
          expect(await storage.getCommitPlace('kdoc-other', otherGenesis.cid)).toBeUndefined()
          expect(await storage.getCheckpoint('kdoc-other', 0)).toBeUndefined()
          expect(await storage.isPinned('kdoc-other')).toBe(false)
          expect(await collect(storage.listDocuments())).toEqual(['kdoc-failed'])
          expect(storage.writeStats()).toEqual(before)
        })
      }
    })

    describe('log', () => {
      it('reads log entries in position order, over any range, with a time only on the entries written with one', async () => {
        const blocks = await blocksOf(6, 'log order')
        // Byte order reversed, so a backend that sorts by CID gets it wrong; one CID is dag-jose.
        const cids = blocks.map((b) => b.cid).sort((a, b) => compareBytes(b.bytes, a.bytes))
        cids[2] = CID.createV1(DAG_JOSE, cids[2]!.multihash)
        const entries: StoredLogEntry[] = [
          { cid: cids[0]!, type: LogEntryType.GENESIS },
          { cid: cids[1]!, type: LogEntryType.SIGNED },
          { cid: cids[2]!, type: LogEntryType.SIGNED },
          { cid: cids[3]!, type: LogEntryType.ANCHOR, timestamp: 1_700_000_000 },
          { cid: cids[4]!, type: LogEntryType.SIGNED },
          { cid: cids[5]!, type: LogEntryType.ANCHOR, timestamp: 1_700_000_600 }
        ]
        await storage.batch().putLogEntry('kdoc-log', 0, entries[0]!).putLogEntry('kdoc-log', 1, entries[1]!).commit()
        await storage.batch().putLogEntry('kdoc-log', 2, entries[2]!).putLogEntry('kdoc-log', 3, entries[3]!).commit()
        await storage.batch().putLogEntry('kdoc-log', 4, entries[4]!).commit()
        await storage.batch().putLogEntry('kdoc-log', 5, entries[5]!).commit()

        const all = await storage.readLog('kdoc-log')
        expect(entryStrings(all)).toEqual(entryStrings(entries))
        expect(all.map((e) => 'timestamp' in e)).toEqual([false, false, false, true, false, true])
        expect(all[2]?.cid.code).toBe(DAG_JOSE)
        expect(all[2]?.cid.equals(cids[2]!)).toBe(true)
        expect(CID.asCID(all[0]?.cid)).not.toBeNull()

        expect(entryStrings(await storage.readLog('kdoc-log', {}))).toEqual(entryStrings(entries))
        expect(entryStrings(await storage.readLog('kdoc-log', { from: 2 }))).toEqual(entryStrings(entries.slice(2)))
        expect(entryStrings(await storage.readLog('kdoc-log', { to: 3 }))).toEqual(entryStrings(entries.slice(0, 3)))
        expect(entryStrings(await storage.readLog('kdoc-log', { from: 2, to: 4 }))).toEqual(entryStrings(entries.slice(2, 4)))
        expect(entryStrings(await storage.readLog('kdoc-log', { from: 5, to: 100 }))).toEqual(entryStrings(entries.slice(5)))
        expect(await storage.readLog('kdoc-log', { from: 3, to: 3 })).toEqual([])
        expect(await storage.readLog('kdoc-log', { from: 4, to: 2 })).toEqual([])
        expect(await storage.readLog('kdoc-log', { from: 6 })).toEqual([])
      })

      it('returns no entries for a document without a log', async () => {
        expect(await storage.readLog('kdoc-unknown')).toEqual([])
        expect(await storage.readLog('kdoc-unknown', { from: 0, to: 10 })).toEqual([])
      })

      it('keeps a long log written over many batches in numeric position order', async () => {
        const blocks = await blocksOf(300, 'long')
        for (let i = 0; i < blocks.length; i += 10) {
          const batch = storage.batch()
          for (const [j, block] of blocks.slice(i, i + 10).entries()) batch.putLogEntry('kdoc-long', i + j, { cid: block.cid, type: LogEntryType.SIGNED })
          await batch.commit()
        }
        expect(cidStrings((await storage.readLog('kdoc-long')).map((e) => e.cid))).toEqual(cidStrings(blocks.map((b) => b.cid)))
        expect(cidStrings((await storage.readLog('kdoc-long', { from: 9, to: 11 })).map((e) => e.cid))).toEqual(cidStrings(blocks.slice(9, 11).map((b) => b.cid)))
        expect(cidStrings((await storage.readLog('kdoc-long', { from: 99, to: 101 })).map((e) => e.cid))).toEqual(cidStrings(blocks.slice(99, 101).map((b) => b.cid)))
      })

      it('drops the entries from a position on with truncateLog, and appends after the cut', async () => {
        const blocks = await blocksOf(8, 'truncate')
        await writeLog('kdoc-cut', blocks.slice(0, 6))
        await storage.batch().truncateLog('kdoc-cut', 3).commit()
        expect(cidStrings((await storage.readLog('kdoc-cut')).map((e) => e.cid))).toEqual(cidStrings(blocks.slice(0, 3).map((b) => b.cid)))

        await storage.batch().truncateLog('kdoc-cut', 3).truncateLog('kdoc-cut', 50).commit()
        expect(await storage.readLog('kdoc-cut')).toHaveLength(3)

        await storage.batch().putLogEntry('kdoc-cut', 3, { cid: blocks[6]!.cid, type: LogEntryType.SIGNED }).commit()
        expect(cidStrings((await storage.readLog('kdoc-cut')).map((e) => e.cid))).toEqual(cidStrings([...blocks.slice(0, 3), blocks[6]!].map((b) => b.cid)))

        await storage.batch().truncateLog('kdoc-cut', 0).commit()
        expect(await storage.readLog('kdoc-cut')).toEqual([])
        // The head is the caller's to rewrite: a truncation leaves it alone.
        expect((await storage.getHead('kdoc-cut'))?.logLength).toBe(6)
      })

      it('switches branches as the core does: rewrites from the fork, cuts the rest, marks the losers off the log', async () => {
        const [genesis, a1, a2, a3, a4] = await fiveBlocks('branch a')
        const [b2, b3] = await fiveBlocks('branch b')
        await writeLog('kdoc-switch', [genesis, a1, a2, a3, a4])
        await storage.batch().putCheckpoint('kdoc-switch', { seq: 3, head: headOf(genesis.cid, a3.cid, 4) }).commit()

        // Branch b forks after a1 and is one commit shorter: [genesis, a1, b2, b3].
        await storage.batch()
          .putBlock(b2.cid, b2.bytes).putBlock(b3.cid, b3.bytes)
          .putLogEntry('kdoc-switch', 2, { cid: b2.cid, type: LogEntryType.SIGNED })
          .putLogEntry('kdoc-switch', 3, { cid: b3.cid, type: LogEntryType.SIGNED })
          .truncateLog('kdoc-switch', 4)
          .indexCommit('kdoc-switch', b2.cid, { seq: 2 }).indexCommit('kdoc-switch', b3.cid, { seq: 3 })
          .indexCommit('kdoc-switch', a2.cid, {}).indexCommit('kdoc-switch', a3.cid, {}).indexCommit('kdoc-switch', a4.cid, {})
          .dropCheckpoints('kdoc-switch', 2)
          .putHead('kdoc-switch', headOf(genesis.cid, b3.cid, 4))
          .commit()

        expect(cidStrings((await storage.readLog('kdoc-switch')).map((e) => e.cid))).toEqual(cidStrings([genesis.cid, a1.cid, b2.cid, b3.cid]))
        expect(await storage.getCommitPlace('kdoc-switch', a1.cid)).toEqual({ seq: 1 })
        expect(await storage.getCommitPlace('kdoc-switch', b3.cid)).toEqual({ seq: 3 })
        for (const loser of [a2, a3, a4]) expect(await storage.getCommitPlace('kdoc-switch', loser.cid)).toEqual({})
        expect(await storage.getCheckpoint('kdoc-switch', 10)).toBeUndefined()
        expect((await storage.getHead('kdoc-switch'))?.tip.equals(b3.cid)).toBe(true)
      })

      it('applies the writes of a batch in the order they were queued', async () => {
        const blocks = await blocksOf(8, 'queue order')
        await writeLog('kdoc-queued', blocks.slice(0, 4))
        await storage.batch()
          .putLogEntry('kdoc-queued', 4, { cid: blocks[4]!.cid, type: LogEntryType.SIGNED })
          .putLogEntry('kdoc-queued', 5, { cid: blocks[5]!.cid, type: LogEntryType.SIGNED })
          .truncateLog('kdoc-queued', 2)
          .putLogEntry('kdoc-queued', 2, { cid: blocks[6]!.cid, type: LogEntryType.SIGNED })
          .putCheckpoint('kdoc-queued', { seq: 5, head: headOf(blocks[0]!.cid, blocks[5]!.cid, 6) })
          .dropCheckpoints('kdoc-queued', 3)
          .putCheckpoint('kdoc-queued', { seq: 2, head: headOf(blocks[0]!.cid, blocks[6]!.cid, 3) })
          .indexCommit('kdoc-queued', blocks[7]!.cid, { seq: 7 })
          .indexCommit('kdoc-queued', blocks[7]!.cid, {})
          .commit()

        expect(cidStrings((await storage.readLog('kdoc-queued')).map((e) => e.cid))).toEqual(cidStrings([blocks[0]!, blocks[1]!, blocks[6]!].map((b) => b.cid)))
        expect((await storage.getCheckpoint('kdoc-queued', 100))?.seq).toBe(2)
        expect(await storage.getCommitPlace('kdoc-queued', blocks[7]!.cid)).toEqual({})
      })
    })

    describe('commit index', () => {
      it('gives a log commit its position, a commit off the log an empty place and an unknown commit undefined', async () => {
        const [genesis, update, loser, unknown] = await fiveBlocks('places')
        await writeLog('kdoc-places', [genesis, update])
        await storage.batch().putBlock(loser.cid, loser.bytes).indexCommit('kdoc-places', loser.cid, {}).commit()

        expect(await storage.getCommitPlace('kdoc-places', genesis.cid)).toEqual({ seq: 0 })
        expect(await storage.getCommitPlace('kdoc-places', update.cid)).toEqual({ seq: 1 })
        const offLog = await storage.getCommitPlace('kdoc-places', loser.cid)
        expect(offLog).toEqual({})
        expect(offLog?.seq).toBeUndefined()
        expect(await storage.getCommitPlace('kdoc-places', unknown.cid)).toBeUndefined()
        expect(await storage.getCommitPlace('kdoc-nowhere', genesis.cid)).toBeUndefined()
      })

      it('keeps each document its own index, even when one DocID is a prefix of another', async () => {
        const [shared, other] = await fiveBlocks('index per document')
        await storage.batch()
          .indexCommit('kdoc', shared.cid, { seq: 4 })
          .indexCommit('kdoc1', shared.cid, {})
          .indexCommit('kdoc1', other.cid, { seq: 0 })
          .commit()
        expect(await storage.getCommitPlace('kdoc', shared.cid)).toEqual({ seq: 4 })
        expect(await storage.getCommitPlace('kdoc1', shared.cid)).toEqual({})
        expect(await storage.getCommitPlace('kdoc', other.cid)).toBeUndefined()
        expect(await storage.getCommitPlace('kdo', shared.cid)).toBeUndefined()
      })

      it('replaces the place of a commit indexed again: one that leaves the log, one that comes back at a new position', async () => {
        const [a, b] = await fiveBlocks('re-index')
        await storage.batch().indexCommit('kdoc-move', a.cid, { seq: 3 }).indexCommit('kdoc-move', b.cid, {}).commit()
        await storage.batch().indexCommit('kdoc-move', a.cid, {}).indexCommit('kdoc-move', b.cid, { seq: 300 }).commit()
        expect(await storage.getCommitPlace('kdoc-move', a.cid)).toEqual({})
        expect(await storage.getCommitPlace('kdoc-move', b.cid)).toEqual({ seq: 300 })
      })
    })

    describe('checkpoints', () => {
      it('gives the checkpoint at the greatest position not above the one asked for', async () => {
        const blocks = await blocksOf(5, 'checkpoints')
        const genesis = blocks[0]!.cid
        const heads = new Map([32, 64, 96, 320].map((seq, i) => [seq, headOf(genesis, blocks[i + 1]!.cid, seq + 1, { at: seq })]))
        const batch = storage.batch()
        for (const [seq, head] of heads) batch.putCheckpoint('kdoc-cp', { seq, head })
        await batch.commit()

        expect(await storage.getCheckpoint('kdoc-cp', 0)).toBeUndefined()
        expect(await storage.getCheckpoint('kdoc-cp', 31)).toBeUndefined()
        for (const [asked, found] of [[32, 32], [33, 32], [63, 32], [64, 64], [100, 96], [319, 96], [320, 320], [1_000_000, 320]]) {
          const checkpoint = await storage.getCheckpoint('kdoc-cp', asked!)
          expect(checkpoint?.seq, `checkpoint for position ${asked!}`).toBe(found)
          expect(checkpoint?.head).toEqual(heads.get(found!))
        }
        const read = await storage.getCheckpoint('kdoc-cp', 64)
        expect(CID.asCID(read?.head.tip)?.equals(blocks[2]!.cid)).toBe(true)
      })

      it('keeps each document its own checkpoints, even when one DocID is a prefix of another', async () => {
        const [genesis, tip] = await fiveBlocks('checkpoints per document')
        await storage.batch()
          .putCheckpoint('kdoc', { seq: 32, head: headOf(genesis.cid, tip.cid, 33, { which: 'kdoc' }) })
          .putCheckpoint('kdoc1', { seq: 40, head: headOf(genesis.cid, tip.cid, 41, { which: 'kdoc1' }) })
          .commit()
        expect(await storage.getCheckpoint('kdoc', 50)).toMatchObject({ seq: 32, head: { content: { which: 'kdoc' } } })
        expect(await storage.getCheckpoint('kdoc1', 35)).toBeUndefined()
        expect(await storage.getCheckpoint('kdo', 50)).toBeUndefined()
        expect(await storage.getCheckpoint('kdoc-none', 50)).toBeUndefined()
      })

      it('drops the checkpoints from a position on, and replaces one written again at its position', async () => {
        const [genesis, a, b, c] = await fiveBlocks('drop checkpoints')
        await storage.batch()
          .putCheckpoint('kdoc-drop', { seq: 32, head: headOf(genesis.cid, a.cid, 33) })
          .putCheckpoint('kdoc-drop', { seq: 64, head: headOf(genesis.cid, b.cid, 65) })
          .putCheckpoint('kdoc-drop', { seq: 96, head: headOf(genesis.cid, c.cid, 97) })
          .commit()
        await storage.batch().dropCheckpoints('kdoc-drop', 64).commit()
        expect((await storage.getCheckpoint('kdoc-drop', 1000))?.seq).toBe(32)

        await storage.batch().putCheckpoint('kdoc-drop', { seq: 32, head: headOf(genesis.cid, c.cid, 33, { again: true }) }).commit()
        expect((await storage.getCheckpoint('kdoc-drop', 40))?.head).toEqual(headOf(genesis.cid, c.cid, 33, { again: true }))

        await storage.batch().dropCheckpoints('kdoc-drop', 0).dropCheckpoints('kdoc-never', 0).commit()
        expect(await storage.getCheckpoint('kdoc-drop', 1000)).toBeUndefined()
      })
    })

    describe('anchor-status records', () => {
      it('gives the head the status of the record about its tip, changed by a batch holding only the record', async () => {
        const [genesis, tip] = await fiveBlocks('status')
        await writeLog('kdoc-status', [genesis, tip])
        const before = await storage.getHead('kdoc-status')
        expect(before?.anchorStatus).toBe(AnchorStatus.PENDING)

        await storage.batch().putAnchorStatus('kdoc-status', { tip: tip.cid, status: AnchorStatus.PROCESSING }).commit()
        expect(await storage.getHead('kdoc-status')).toEqual({ ...before, anchorStatus: AnchorStatus.PROCESSING })
        await storage.batch().putAnchorStatus('kdoc-status', { tip: tip.cid, status: AnchorStatus.FAILED }).commit()
        expect(await storage.getHead('kdoc-status')).toEqual({ ...before, anchorStatus: AnchorStatus.FAILED })
      })

      it('ignores a record about another tip: a new head makes the old record irrelevant, and a late one changes nothing', async () => {
        const [genesis, first, second] = await fiveBlocks('status tips')
        await writeLog('kdoc-tips', [genesis, first])
        await storage.batch().putAnchorStatus('kdoc-tips', { tip: first.cid, status: AnchorStatus.ANCHORED }).commit()
        expect((await storage.getHead('kdoc-tips'))?.anchorStatus).toBe(AnchorStatus.ANCHORED)

        await storage.batch().putHead('kdoc-tips', headOf(genesis.cid, second.cid, 3)).commit()
        expect((await storage.getHead('kdoc-tips'))?.anchorStatus).toBe(AnchorStatus.PENDING)

        await storage.batch().putAnchorStatus('kdoc-tips', { tip: first.cid, status: AnchorStatus.FAILED }).commit()
        expect((await storage.getHead('kdoc-tips'))?.anchorStatus).toBe(AnchorStatus.PENDING)

        await storage.batch().putAnchorStatus('kdoc-tips', { tip: second.cid, status: AnchorStatus.REPLACED }).commit()
        expect((await storage.getHead('kdoc-tips'))?.anchorStatus).toBe(AnchorStatus.REPLACED)
      })

      it('merges a record written in the same batch as the head it is about', async () => {
        const [genesis] = await fiveBlocks('status same batch')
        await storage.batch()
          .putAnchorStatus('kdoc-same', { tip: genesis.cid, status: AnchorStatus.ANCHORED })
          .putHead('kdoc-same', headOf(genesis.cid, genesis.cid, 1))
          .commit()
        expect((await storage.getHead('kdoc-same'))?.anchorStatus).toBe(AnchorStatus.ANCHORED)
      })

      it('makes no head of a record for a document without one', async () => {
        const [genesis] = await fiveBlocks('status alone')
        await storage.batch().putAnchorStatus('kdoc-status-only', { tip: genesis.cid, status: AnchorStatus.ANCHORED }).commit()
        expect(await storage.getHead('kdoc-status-only')).toBeUndefined()
        expect(await collect(storage.listDocuments())).toEqual([])
      })
    })

    describe('batches', () => {
      it('writes nothing before commit and makes every write visible after it', async () => {
        const [genesis] = await fiveBlocks('batch')
        const head = headOf(genesis.cid, genesis.cid, 1)
        const batch = appendBatch('kdoc-batch', genesis.cid, 0, genesis)
          .putCheckpoint('kdoc-batch', { seq: 0, head })
          .putAnchorStatus('kdoc-batch', { tip: genesis.cid, status: AnchorStatus.PROCESSING })
          .pin('kdoc-batch')

        expect(await storage.blocks.has(genesis.cid)).toBe(false)
        expect(await storage.getHead('kdoc-batch')).toBeUndefined()
        expect(await storage.readLog('kdoc-batch')).toEqual([])
        expect(await storage.getCommitPlace('kdoc-batch', genesis.cid)).toBeUndefined()
        expect(await storage.getCheckpoint('kdoc-batch', 0)).toBeUndefined()
        expect(await storage.isPinned('kdoc-batch')).toBe(false)
        expect(await collect(storage.listDocuments())).toEqual([])

        await batch.commit()
        expect(await storage.blocks.get(genesis.cid)).toEqual(genesis.bytes)
        expect(await storage.getHead('kdoc-batch')).toEqual({ ...head, anchorStatus: AnchorStatus.PROCESSING })
        expect(entryStrings(await storage.readLog('kdoc-batch'))).toEqual([`${genesis.cid.toString()}:0`])
        expect(await storage.getCommitPlace('kdoc-batch', genesis.cid)).toEqual({ seq: 0 })
        expect(await storage.getCheckpoint('kdoc-batch', 0)).toEqual({ seq: 0, head })
        expect(await storage.isPinned('kdoc-batch')).toBe(true)
        expect(await collect(storage.listDocuments())).toEqual(['kdoc-batch'])
      })

      it('lands the commits of several documents written in one batch (a group commit) together', async () => {
        const docIds = ['kdoc-group-a', 'kdoc-group-b', 'kdoc-group-c']
        const logs = await Promise.all(docIds.map(async (docId) => await fiveBlocks(docId)))
        for (const [i, docId] of docIds.entries()) await writeLog(docId, logs[i]!.slice(0, 2))
        const batch = storage.batch()
        for (const [i, docId] of docIds.entries()) {
          const [genesis, , next] = logs[i]!
          batch.putBlock(next.cid, next.bytes)
            .putLogEntry(docId, 2, { cid: next.cid, type: LogEntryType.SIGNED })
            .indexCommit(docId, next.cid, { seq: 2 })
            .putHead(docId, headOf(genesis.cid, next.cid, 3, { group: i }))
        }
        await batch.commit()

        for (const [i, docId] of docIds.entries()) {
          const blocks = logs[i]!.slice(0, 3)
          expect(cidStrings((await storage.readLog(docId)).map((e) => e.cid))).toEqual(cidStrings(blocks.map((b) => b.cid)))
          expect(await storage.getHead(docId)).toEqual(headOf(blocks[0]!.cid, blocks[2]!.cid, 3, { group: i }))
          expect(await storage.getCommitPlace(docId, blocks[2]!.cid)).toEqual({ seq: 2 })
        }
      })

      const badWrites: Array<[string, (batch: StorageBatch, cid: CID) => StorageBatch]> = [
        ['a log entry at position -1', (b, cid) => b.putLogEntry('kdoc-bad', -1, { cid, type: LogEntryType.SIGNED })],
        ['a log entry at position 1.5', (b, cid) => b.putLogEntry('kdoc-bad', 1.5, { cid, type: LogEntryType.SIGNED })],
        ['a log entry at position NaN', (b, cid) => b.putLogEntry('kdoc-bad', Number.NaN, { cid, type: LogEntryType.SIGNED })],
        ['a log entry of an unknown type', (b, cid) => b.putLogEntry('kdoc-bad', 1, { cid, type: 9 as LogEntryType })],
        ['a log entry whose time is NaN', (b, cid) => b.putLogEntry('kdoc-bad', 1, { cid, type: LogEntryType.ANCHOR, timestamp: Number.NaN })],
        ['a commit index entry at position -2', (b, cid) => b.indexCommit('kdoc-bad', cid, { seq: -2 })],
        ['a checkpoint at position 2.5', (b, cid) => b.putCheckpoint('kdoc-bad', { seq: 2.5, head: headOf(cid, cid, 3) })],
        ['a checkpoint whose head holds undefined', (b, cid) => b.putCheckpoint('kdoc-bad', { seq: 32, head: { ...headOf(cid, cid, 33), content: { x: undefined } } })],
        ['a truncation at position -1', (b) => b.truncateLog('kdoc-bad', -1)],
        ['a checkpoint drop at position 0.5', (b) => b.dropCheckpoints('kdoc-bad', 0.5)],
        ['an anchor status that is not one', (b, cid) => b.putAnchorStatus('kdoc-bad', { tip: cid, status: 42 as AnchorStatus })]
      ]
      for (const [what, write] of badWrites) {
        it(`rejects a batch holding ${what} with StorageError and writes none of the batch`, async () => {
          const [genesis, update, other] = await fiveBlocks(`bad ${what}`)
          await writeLog('kdoc-bad', [genesis])
          const batch = appendBatch('kdoc-bad', genesis.cid, 1, update)
            .putBlock(other.cid, other.bytes)
            .putHead('kdoc-bad-other', headOf(other.cid, other.cid, 1))
            .pin('kdoc-bad-other')
          await expectRejection(write(batch, update.cid).commit(), 'StorageError')

          expect(await storage.blocks.has(update.cid)).toBe(false)
          expect(await storage.blocks.has(other.cid)).toBe(false)
          expect(await storage.getHead('kdoc-bad')).toEqual(headOf(genesis.cid, genesis.cid, 1))
          expect(await storage.readLog('kdoc-bad')).toHaveLength(1)
          expect(await storage.getCommitPlace('kdoc-bad', update.cid)).toBeUndefined()
          expect(await storage.getCheckpoint('kdoc-bad', 1000)).toBeUndefined()
          expect(await storage.getHead('kdoc-bad-other')).toBeUndefined()
          expect(await storage.isPinned('kdoc-bad-other')).toBe(false)
        })
      }

      it('pins a document with the batch that writes it', async () => {
        const [genesis] = await fiveBlocks('pinned in a batch')
        const batch = appendBatch('kdoc-batch-pin', genesis.cid, 0, genesis).pin('kdoc-batch-pin')
        expect(await storage.isPinned('kdoc-batch-pin')).toBe(false)
        await batch.commit()
        expect(await storage.isPinned('kdoc-batch-pin')).toBe(true)
        expect(await collect(storage.listPins())).toContain('kdoc-batch-pin')
      })

      it('lands concurrent batches for different documents, each with its whole log', async () => {
        const docIds = Array.from({ length: 8 }, (_, i) => `kdoc-concurrent-${i}`)
        const logs = await Promise.all(docIds.map(async (docId) => await fiveBlocks(docId)))
        await Promise.all(docIds.map(async (docId, i) => { await writeLog(docId, logs[i]!) }))

        for (const [i, docId] of docIds.entries()) {
          const blocks = logs[i]!
          expect(cidStrings((await storage.readLog(docId)).map((e) => e.cid))).toEqual(cidStrings(blocks.map((b) => b.cid)))
          expect(await storage.getHead(docId)).toEqual(headOf(blocks[0]!.cid, blocks[4]!.cid, 5))
          for (const block of blocks) expect(await storage.blocks.has(block.cid)).toBe(true)
        }
        expect((await collect(storage.listDocuments())).sort()).toEqual([...docIds].sort())
      })
    })

    describe('documents', () => {
      it('lists every document with a head once, and no document that only has a pin, log, index, checkpoint or status', async () => {
        const [genesis] = await fiveBlocks('list')
        const head = headOf(genesis.cid, genesis.cid, 1)
        await storage.batch().putHead('kdoc-a', head).putHead('kdoc-b', head).commit()
        await storage.batch().putHead('kdoc-a', { ...head, content: { again: true } }).putHead('kdoc-c', head).commit()
        await storage.batch()
          .putLogEntry('kdoc-logged-only', 0, { cid: genesis.cid, type: LogEntryType.GENESIS })
          .indexCommit('kdoc-indexed-only', genesis.cid, { seq: 0 })
          .putCheckpoint('kdoc-checkpoint-only', { seq: 0, head })
          .putAnchorStatus('kdoc-status-only', { tip: genesis.cid, status: AnchorStatus.ANCHORED })
          .commit()
        await storage.pin('kdoc-pinned-only')
        expect((await collect(storage.listDocuments())).sort()).toEqual(['kdoc-a', 'kdoc-b', 'kdoc-c'])
      })

      it('lists no documents in an empty store', async () => {
        expect(await collect(storage.listDocuments())).toEqual([])
      })

      it('keeps documents apart, even when one DocID is a prefix of another', async () => {
        const [a, b, c] = await fiveBlocks('isolation')
        await writeLog('kdoc', [a, b], { which: 'kdoc' })
        await writeLog('kdoc1', [b, c, a], { which: 'kdoc1' })

        expect(cidStrings((await storage.readLog('kdoc')).map((e) => e.cid))).toEqual(cidStrings([a.cid, b.cid]))
        expect(cidStrings((await storage.readLog('kdoc1')).map((e) => e.cid))).toEqual(cidStrings([b.cid, c.cid, a.cid]))
        expect(await storage.readLog('kdo')).toEqual([])
        expect((await storage.getHead('kdoc'))?.content).toEqual({ which: 'kdoc' })
        expect((await storage.getHead('kdoc1'))?.content).toEqual({ which: 'kdoc1' })
        expect(await storage.getHead('kdo')).toBeUndefined()
        expect(await storage.getCommitPlace('kdoc', a.cid)).toEqual({ seq: 0 })
        expect(await storage.getCommitPlace('kdoc1', a.cid)).toEqual({ seq: 2 })
      })

      it('deletes a document\'s head, log, commit index, checkpoints, status record and pin, but keeps its blocks and other documents', async () => {
        const [genesis, update] = await fiveBlocks('delete')
        for (const docId of ['kdoc', 'kdoc1']) {
          await writeLog(docId, [genesis, update])
          await storage.batch()
            .putCheckpoint(docId, { seq: 1, head: headOf(genesis.cid, update.cid, 2) })
            .putAnchorStatus(docId, { tip: update.cid, status: AnchorStatus.ANCHORED })
            .pin(docId)
            .commit()
        }

        await storage.deleteDocument('kdoc')
        expect(await storage.getHead('kdoc')).toBeUndefined()
        expect(await storage.readLog('kdoc')).toEqual([])
        expect(await storage.getCommitPlace('kdoc', genesis.cid)).toBeUndefined()
        expect(await storage.getCommitPlace('kdoc', update.cid)).toBeUndefined()
        expect(await storage.getCheckpoint('kdoc', 1)).toBeUndefined()
        expect(await storage.isPinned('kdoc')).toBe(false)
        expect(await collect(storage.listDocuments())).toEqual(['kdoc1'])
        expect(await collect(storage.listPins())).toEqual(['kdoc1'])
        expect(await storage.blocks.get(genesis.cid)).toEqual(genesis.bytes)
        expect(await storage.blocks.get(update.cid)).toEqual(update.bytes)

        expect(await storage.getHead('kdoc1')).toEqual({ ...headOf(genesis.cid, update.cid, 2), anchorStatus: AnchorStatus.ANCHORED })
        expect(cidStrings((await storage.readLog('kdoc1')).map((e) => e.cid))).toEqual(cidStrings([genesis.cid, update.cid]))
        expect(await storage.getCommitPlace('kdoc1', update.cid)).toEqual({ seq: 1 })
        expect((await storage.getCheckpoint('kdoc1', 1))?.seq).toBe(1)
        expect(await storage.isPinned('kdoc1')).toBe(true)
      })

      it('forgets a deleted document\'s status record: a new head of the same tip has its own status', async () => {
        const [genesis] = await fiveBlocks('delete status')
        await writeLog('kdoc-recreated', [genesis])
        await storage.batch().putAnchorStatus('kdoc-recreated', { tip: genesis.cid, status: AnchorStatus.FAILED }).commit()
        await storage.deleteDocument('kdoc-recreated')
        await writeLog('kdoc-recreated', [genesis])
        expect((await storage.getHead('kdoc-recreated'))?.anchorStatus).toBe(AnchorStatus.PENDING)
      })

      it('deletes an unknown or already deleted document without error, and writes it afresh afterwards', async () => {
        const [a, b, c] = await fiveBlocks('afresh')
        await storage.deleteDocument('kdoc-never')
        await writeLog('kdoc-afresh', [a, b, c])
        await storage.deleteDocument('kdoc-afresh')
        await storage.deleteDocument('kdoc-afresh')
        await writeLog('kdoc-afresh', [b])
        expect(cidStrings((await storage.readLog('kdoc-afresh')).map((e) => e.cid))).toEqual(cidStrings([b.cid]))
        expect(await storage.getCommitPlace('kdoc-afresh', c.cid)).toBeUndefined()
      })
    })

    describe('pins', () => {
      it('pins and unpins documents, listing each pinned one once', async () => {
        expect(await storage.isPinned('kdoc-pin')).toBe(false)
        await storage.pin('kdoc-pin')
        await storage.pin('kdoc-pin')
        await storage.pin('kdoc-pin-2')
        expect(await storage.isPinned('kdoc-pin')).toBe(true)
        expect((await collect(storage.listPins())).sort()).toEqual(['kdoc-pin', 'kdoc-pin-2'])

        await storage.unpin('kdoc-pin')
        expect(await storage.isPinned('kdoc-pin')).toBe(false)
        expect(await collect(storage.listPins())).toEqual(['kdoc-pin-2'])
      })

      it('unpins a document that is not pinned without error', async () => {
        await storage.unpin('kdoc-never-pinned')
        await storage.pin('kdoc-twice')
        await storage.unpin('kdoc-twice')
        await storage.unpin('kdoc-twice')
        expect(await storage.isPinned('kdoc-twice')).toBe(false)
        expect(await collect(storage.listPins())).toEqual([])
      })
    })

    describe('write stats', () => {
      it('counts committed batches, the ones committed with sync, and the bytes they put', async () => {
        const [genesis, update, third] = await fiveBlocks('stats')
        const start = storage.writeStats()
        await appendBatch('kdoc-stats', genesis.cid, 0, genesis).commit({ sync: true })
        const synced = storage.writeStats()
        expect(synced.batches).toBe(start.batches + 1)
        expect(synced.syncs).toBe(start.syncs + 1)
        expect(synced.bytesWritten - start.bytesWritten).toBeGreaterThanOrEqual(genesis.bytes.byteLength)

        await appendBatch('kdoc-stats', genesis.cid, 1, update).commit({ sync: false })
        await appendBatch('kdoc-stats', genesis.cid, 2, third).commit()
        const relaxed = storage.writeStats()
        expect(relaxed.batches).toBe(synced.batches + 2)
        expect(relaxed.syncs).toBe(synced.syncs)
        expect(relaxed.bytesWritten - synced.bytesWritten).toBeGreaterThanOrEqual(update.bytes.byteLength + third.bytes.byteLength)

        await storage.batch().putAnchorStatus('kdoc-stats', { tip: third.cid, status: AnchorStatus.ANCHORED }).commit({ sync: true })
        const status = storage.writeStats()
        expect(status.batches).toBe(relaxed.batches + 1)
        expect(status.syncs).toBe(relaxed.syncs + 1)
        expect(status.bytesWritten).toBeGreaterThan(relaxed.bytesWritten)
      })

      it('counts the bytes of single writes, and gives a copy the caller cannot change', async () => {
        const block = await blockOf({ single: 'write', padding: 'x'.repeat(100) })
        const before = storage.writeStats()
        await storage.blocks.put(block.cid, block.bytes)
        const after = storage.writeStats()
        expect(after.bytesWritten - before.bytesWritten).toBeGreaterThanOrEqual(block.bytes.byteLength)
        expect(after.syncs).toBe(before.syncs)
        after.bytesWritten = 0
        expect(storage.writeStats().bytesWritten).toBeGreaterThan(0)
      })

      it('counts nothing for a batch that was refused or aborted', async () => {
        const [genesis] = await fiveBlocks('stats refused')
        const before = storage.writeStats()
        await expectRejection(appendBatch('kdoc-refused', genesis.cid, 0, genesis, { bad: undefined }).commit({ sync: true }), 'StorageError')
        const controller = new AbortController()
        controller.abort()
        await expectRejection(appendBatch('kdoc-refused', genesis.cid, 0, genesis).commit({ sync: true, signal: controller.signal }), 'AbortError')
        expect(storage.writeStats()).toEqual(before)
      })

      it(`writes the same bytes for an append at the start of a log and after ${LONG_LOG.toLocaleString('en')} entries`, async () => {
        const docId = 'kdoc-long-log'
        // Blocks and heads of constant size: the content has a fixed width, every CID is a sha2-256 CIDv1.
        const blocks = await Promise.all(Array.from({ length: LONG_LOG + 1 }, async (_, n) => await blockOf({ docId, n: String(n).padStart(6, '0') })))
        const genesis = blocks[0]!.cid
        const appendCost: Record<number, number> = {}
        const measured = new Set([10, 320, LONG_LOG])
        for (let seq = 0; seq <= LONG_LOG; seq++) {
          const before = storage.writeStats().bytesWritten
          await appendBatch(docId, genesis, seq, blocks[seq]!).commit()
          if (measured.has(seq)) appendCost[seq] = storage.writeStats().bytesWritten - before
        }
        const [early, middle, late] = [appendCost[10]!, appendCost[320]!, appendCost[LONG_LOG]!]
        expect(early).toBeGreaterThanOrEqual(blocks[10]!.bytes.byteLength)
        // Exactly equal: a backend writes the numbers that grow with the log (positions, the log length) at a fixed width.
        expect(late, `bytes of an append at position ${LONG_LOG} and at 320`).toBe(middle)
        expect(late, `bytes of an append at position ${LONG_LOG} and at 10`).toBe(early)
        expect((await storage.getHead(docId))?.logLength).toBe(LONG_LOG + 1)
        const tail = await storage.readLog(docId, { from: LONG_LOG - 1 })
        expect(cidStrings(tail.map((e) => e.cid))).toEqual(cidStrings([blocks[LONG_LOG - 1]!.cid, blocks[LONG_LOG]!.cid]))
      }, 120_000)
    })

    describe('persistence', () => {
      // Skipped for a backend given without reopen(): an in-memory store keeps nothing after it is closed.
      it.skipIf(skipDurable)(`keeps blocks, heads, logs, commit index, checkpoints, status records and pins after being closed and reopened${durable}`, async () => {
        const [genesis, update, link, loser] = await fiveBlocks('durable')
        const head = headOf(genesis.cid, update.cid, 2, { link: link.cid, nested: { ok: [1, 2, 3] } })
        await writeLog('kdoc-durable', [genesis, update], { link: link.cid, nested: { ok: [1, 2, 3] } })
        await storage.batch()
          .putLogEntry('kdoc-durable', 2, { cid: link.cid, type: LogEntryType.ANCHOR, timestamp: 1_700_000_000 })
          .indexCommit('kdoc-durable', loser.cid, {})
          .putCheckpoint('kdoc-durable', { seq: 1, head })
          .putAnchorStatus('kdoc-durable', { tip: update.cid, status: AnchorStatus.PROCESSING })
          .commit({ sync: true })
        await storage.blocks.put(link.cid, link.bytes)
        await storage.pin('kdoc-durable')

        await reopen()
        expect(await storage.blocks.get(genesis.cid)).toEqual(genesis.bytes)
        expect(await storage.blocks.get(link.cid)).toEqual(link.bytes)
        expect(await storage.getHead('kdoc-durable')).toEqual({ ...head, anchorStatus: AnchorStatus.PROCESSING })
        expect(entryStrings(await storage.readLog('kdoc-durable'))).toEqual([
          `${genesis.cid.toString()}:0`, `${update.cid.toString()}:1`, `${link.cid.toString()}:2:1700000000`
        ])
        expect(await storage.getCommitPlace('kdoc-durable', update.cid)).toEqual({ seq: 1 })
        expect(await storage.getCommitPlace('kdoc-durable', loser.cid)).toEqual({})
        expect(await storage.getCheckpoint('kdoc-durable', 5)).toEqual({ seq: 1, head })
        expect(await storage.isPinned('kdoc-durable')).toBe(true)
        expect(await collect(storage.listDocuments())).toEqual(['kdoc-durable'])
        expect(await collect(storage.listPins())).toEqual(['kdoc-durable'])
      })

      // Skipped without reopen(), as above.
      it.skipIf(skipDurable)(`continues a log after reopening${durable}`, async () => {
        const [a, b, c] = await fiveBlocks('continue')
        await appendBatch('kdoc-continue', a.cid, 0, a).commit()
        await appendBatch('kdoc-continue', a.cid, 1, b).commit()
        await reopen()
        await appendBatch('kdoc-continue', a.cid, 2, c).commit()
        expect(cidStrings((await storage.readLog('kdoc-continue')).map((e) => e.cid))).toEqual(cidStrings([a.cid, b.cid, c.cid]))
        expect(await storage.getHead('kdoc-continue')).toEqual(headOf(a.cid, c.cid, 3))
      })

      // Skipped without reopen(), as above.
      it.skipIf(skipDurable)(`keeps a deletion, a truncation, a checkpoint drop and an unpin after reopening${durable}`, async () => {
        const [genesis, update] = await fiveBlocks('deleted')
        await writeLog('kdoc-gone', [genesis])
        await writeLog('kdoc-cut', [genesis, update])
        await storage.batch().putCheckpoint('kdoc-cut', { seq: 1, head: headOf(genesis.cid, update.cid, 2) }).commit()
        await storage.pin('kdoc-gone')
        await storage.pin('kdoc-unpinned')
        await storage.deleteDocument('kdoc-gone')
        await storage.unpin('kdoc-unpinned')
        await storage.batch().truncateLog('kdoc-cut', 1).dropCheckpoints('kdoc-cut', 1).commit()
        await reopen()
        expect(await storage.getHead('kdoc-gone')).toBeUndefined()
        expect(await storage.readLog('kdoc-gone')).toEqual([])
        expect(await storage.getCommitPlace('kdoc-gone', genesis.cid)).toBeUndefined()
        expect(await collect(storage.listPins())).toEqual([])
        expect(await storage.readLog('kdoc-cut')).toHaveLength(1)
        expect(await storage.getCheckpoint('kdoc-cut', 1)).toBeUndefined()
      })
    })

    describe('abort', () => {
      it('rejects every operation given an already aborted signal with AbortError', async () => {
        const [block] = await fiveBlocks('abort')
        await storage.blocks.put(block.cid, block.bytes)
        const controller = new AbortController()
        controller.abort()
        const signal = controller.signal
        const operations: Array<[string, () => Promise<unknown>]> = [
          ['blocks.get', async () => await storage.blocks.get(block.cid, { signal })],
          ['blocks.put', async () => { await storage.blocks.put(block.cid, block.bytes, { signal }) }],
          ['blocks.has', async () => await storage.blocks.has(block.cid, { signal })],
          ['getHead', async () => await storage.getHead('kdoc-abort', { signal })],
          ['readLog', async () => await storage.readLog('kdoc-abort', {}, { signal })],
          ['getCommitPlace', async () => await storage.getCommitPlace('kdoc-abort', block.cid, { signal })],
          ['getCheckpoint', async () => await storage.getCheckpoint('kdoc-abort', 0, { signal })],
          ['listDocuments', async () => await collect(storage.listDocuments({ signal }))],
          ['deleteDocument', async () => { await storage.deleteDocument('kdoc-abort', { signal }) }],
          ['pin', async () => { await storage.pin('kdoc-abort', { signal }) }],
          ['unpin', async () => { await storage.unpin('kdoc-abort', { signal }) }],
          ['isPinned', async () => await storage.isPinned('kdoc-abort', { signal })],
          ['listPins', async () => await collect(storage.listPins({ signal }))],
          ['batch.commit', async () => { await storage.batch().putLogEntry('kdoc-abort', 0, { cid: block.cid, type: LogEntryType.GENESIS }).commit({ signal }) }]
        ]
        for (const [name, run] of operations) {
          const err = await run().then(() => undefined, (e: unknown) => e)
          expect((err as Error | undefined)?.name, `${name} with an aborted signal`).toBe('AbortError')
        }
      })

      it('writes nothing of a batch committed with an aborted signal', async () => {
        const [genesis] = await fiveBlocks('aborted batch')
        const controller = new AbortController()
        controller.abort()
        const batch = appendBatch('kdoc-aborted', genesis.cid, 0, genesis).pin('kdoc-aborted')
        await expectRejection(batch.commit({ signal: controller.signal, sync: true }), 'AbortError')
        expect(await storage.blocks.has(genesis.cid)).toBe(false)
        expect(await storage.getHead('kdoc-aborted')).toBeUndefined()
        expect(await storage.readLog('kdoc-aborted')).toEqual([])
        expect(await storage.getCommitPlace('kdoc-aborted', genesis.cid)).toBeUndefined()
        expect(await storage.isPinned('kdoc-aborted')).toBe(false)
      })

      it('stops listing documents when the signal fires mid-iteration', async () => {
        const [genesis] = await fiveBlocks('mid-iteration')
        const head = headOf(genesis.cid, genesis.cid, 1)
        await storage.batch().putHead('kdoc-1', head).putHead('kdoc-2', head).putHead('kdoc-3', head).commit()
        const controller = new AbortController()
        const seen: string[] = []
        const iterate = async (): Promise<void> => {
          for await (const docId of storage.listDocuments({ signal: controller.signal })) {
            seen.push(docId)
            controller.abort()
          }
        }
        await expectRejection(iterate(), 'AbortError')
        expect(seen).toHaveLength(1)
      })
    })
  })
}

/** A valid head of a tile document whose log runs from `genesis` to `tip` over `logLength` entries. */
function headOf (genesis: CID, tip: CID, logLength: number, content: unknown = { title: 'a document' }): DocHead {
  return {
    type: 0,
    content,
    metadata: { controllers: [CONTROLLER] },
    signature: SignatureStatus.SIGNED,
    anchorStatus: AnchorStatus.PENDING,
    genesis,
    tip,
    logLength
  }
}

async function blockOf (value: unknown): Promise<Block> {
  return await encodeRecord(value)
}

async function blocksOf (count: number, label: string): Promise<Block[]> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => await encodeRecord({ label, i })))
}

/** Five distinct blocks for one test, typed as a tuple so that destructuring them needs no checks. */
async function fiveBlocks (label: string): Promise<[Block, Block, Block, Block, Block]> {
  return await blocksOf(5, label) as [Block, Block, Block, Block, Block]
}

async function collect<T> (iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

function cidStrings (cids: CID[]): string[] {
  return cids.map((cid) => cid.toString())
}

/** Log entries as `cid:type[:timestamp]` strings, so a missing or extra time shows in a diff. */
function entryStrings (entries: StoredLogEntry[]): string[] {
  return entries.map((e) => `${e.cid.toString()}:${e.type}${'timestamp' in e ? `:${String(e.timestamp)}` : ''}`)
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0)
  }
  return a.length - b.length
}

async function expectRejection (promise: Promise<unknown>, name: string): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, `expected a rejection with ${name}`).toBeInstanceOf(Error)
  expect((err as Error).name).toBe(name)
  return err as Error
}
