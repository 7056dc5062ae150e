import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { CID } from 'multiformats/cid'
import { AnchorStatus, LogEntryType, SignatureStatus } from '@kiln/interface'
import type { Block, DocState, Storage } from '@kiln/interface'
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

    describe('states', () => {
      it('round-trips a state holding CIDs, bytes and nested JSON', async () => {
        const [genesis, update, root, tx, link] = await fiveBlocks('round-trip')
        const state: DocState = {
          ...stateOf([genesis.cid, update.cid], {
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
        state.log[1] = { cid: update.cid, type: LogEntryType.SIGNED, timestamp: 1_700_000_000 }
        await storage.batch().putState('kdoc-round-trip', state).commit()

        const read = await storage.getState('kdoc-round-trip')
        expect(read).toEqual(state)
        expect(read?.log[0]?.cid.equals(genesis.cid)).toBe(true)
        expect(read?.log[1]?.cid.equals(update.cid)).toBe(true)
        expect(read?.anchorProof?.root.equals(root.cid)).toBe(true)
        expect(read?.anchorProof?.txHash.equals(tx.cid)).toBe(true)
        const content = read?.content as { link: CID }
        expect(CID.asCID(content.link)?.equals(link.cid)).toBe(true)
      })

      it('returns undefined for a document without a state', async () => {
        expect(await storage.getState('kdoc-unknown')).toBeUndefined()
      })

      it('replaces a document state with the one of a later batch', async () => {
        const [genesis, update] = await fiveBlocks('replace')
        await storage.batch().putState('kdoc-replace', stateOf([genesis.cid], { v: 1 })).commit()
        await storage.batch().putState('kdoc-replace', stateOf([genesis.cid, update.cid], { v: 2 })).commit()
        expect(await storage.getState('kdoc-replace')).toEqual(stateOf([genesis.cid, update.cid], { v: 2 }))
      })

      it('keeps its own copy of a state: changing the written or the returned object changes nothing stored', async () => {
        const [genesis] = await fiveBlocks('state-copy')
        const written = stateOf([genesis.cid], { list: [1, 2] })
        await storage.batch().putState('kdoc-copy', written).commit()
        ;(written.content as { list: number[] }).list.push(3)
        written.metadata.controllers.push('did:key:intruder')
        const read = await storage.getState('kdoc-copy')
        expect(read).toEqual(stateOf([genesis.cid], { list: [1, 2] }))
        ;(read?.content as { list: number[] }).list.push(4)
        read?.log.pop()
        expect(await storage.getState('kdoc-copy')).toEqual(stateOf([genesis.cid], { list: [1, 2] }))
      })
    })

    describe('batches', () => {
      it('writes nothing before commit and makes every write visible after it', async () => {
        const [genesis] = await fiveBlocks('batch')
        const batch = storage.batch()
          .putBlock(genesis.cid, genesis.bytes)
          .putState('kdoc-batch', stateOf([genesis.cid]))
          .indexCommit('kdoc-batch', genesis.cid)

        expect(await storage.blocks.has(genesis.cid)).toBe(false)
        expect(await storage.getState('kdoc-batch')).toBeUndefined()
        expect(await storage.listCommits('kdoc-batch')).toEqual([])
        expect(await collect(storage.listDocuments())).toEqual([])

        await batch.commit()
        expect(await storage.blocks.get(genesis.cid)).toEqual(genesis.bytes)
        expect(await storage.getState('kdoc-batch')).toEqual(stateOf([genesis.cid]))
        expect(cidStrings(await storage.listCommits('kdoc-batch'))).toEqual([genesis.cid.toString()])
        expect(await collect(storage.listDocuments())).toEqual(['kdoc-batch'])
      })

      const unencodable: Array<[string, unknown]> = [
        ['a function', { run: () => 1 }],
        ['an undefined value', { missing: undefined }],
        ['NaN', { ratio: Number.NaN }]
      ]
      for (const [what, content] of unencodable) {
        it(`rejects a batch whose state holds ${what} with StorageError and writes none of the batch`, async () => {
          const [genesis, update, otherGenesis] = await fiveBlocks(`failed ${what}`)
          await storage.batch()
            .putBlock(genesis.cid, genesis.bytes)
            .putState('kdoc-failed', stateOf([genesis.cid]))
            .indexCommit('kdoc-failed', genesis.cid)
            .commit()

          const failing = storage.batch()
            .putBlock(update.cid, update.bytes)
            .indexCommit('kdoc-failed', update.cid)
            .putState('kdoc-other', stateOf([otherGenesis.cid]))
            .indexCommit('kdoc-other', otherGenesis.cid)
            .pin('kdoc-other')
            .putState('kdoc-failed', stateOf([genesis.cid, update.cid], content))
          await expectRejection(failing.commit(), 'StorageError')
          expect(await storage.isPinned('kdoc-other')).toBe(false)

          expect(await storage.blocks.has(update.cid)).toBe(false)
          expect(await storage.getState('kdoc-failed')).toEqual(stateOf([genesis.cid]))
          expect(cidStrings(await storage.listCommits('kdoc-failed'))).toEqual([genesis.cid.toString()])
          expect(await storage.getState('kdoc-other')).toBeUndefined()
          expect(await storage.listCommits('kdoc-other')).toEqual([])
          expect(await collect(storage.listDocuments())).toEqual(['kdoc-failed'])
        })
      }

      it('pins a document with the batch that writes it', async () => {
        const [genesis] = await fiveBlocks('pinned in a batch')
        const batch = storage.batch().putBlock(genesis.cid, genesis.bytes).putState('kdoc-batch-pin', stateOf([genesis.cid])).pin('kdoc-batch-pin')
        expect(await storage.isPinned('kdoc-batch-pin')).toBe(false)
        await batch.commit()
        expect(await storage.isPinned('kdoc-batch-pin')).toBe(true)
        expect(await collect(storage.listPins())).toContain('kdoc-batch-pin')
      })

      it('lands concurrent batches for different documents, each with its whole log index', async () => {
        const docIds = Array.from({ length: 8 }, (_, i) => `kdoc-concurrent-${i}`)
        const shared = await blockOf({ shared: true })
        const logs = await Promise.all(docIds.map(async (docId) => await fiveBlocks(docId)))
        await Promise.all(docIds.map(async (docId, i) => {
          const blocks = logs[i] ?? []
          const batch = storage.batch()
          for (const block of blocks) batch.putBlock(block.cid, block.bytes).indexCommit(docId, block.cid)
          batch.indexCommit(docId, shared.cid).putState(docId, stateOf(blocks.map((b) => b.cid)))
          await batch.commit()
        }))

        for (const [i, docId] of docIds.entries()) {
          const blocks = logs[i] ?? []
          expect(cidStrings(await storage.listCommits(docId))).toEqual([...cidStrings(blocks.map((b) => b.cid)), shared.cid.toString()])
          expect(await storage.getState(docId)).toEqual(stateOf(blocks.map((b) => b.cid)))
          for (const block of blocks) expect(await storage.blocks.has(block.cid)).toBe(true)
        }
        expect((await collect(storage.listDocuments())).sort()).toEqual([...docIds].sort())
      })
    })

    describe('log index', () => {
      it('lists commits in the order they were first indexed, not in CID order', async () => {
        const blocks = await blocksOf(6, 'order')
        // Byte order reversed, so a backend that sorts by CID gets it wrong.
        const cids = blocks.map((b) => b.cid).sort((a, b) => compareBytes(b.bytes, a.bytes))
        const signed = CID.createV1(DAG_JOSE, cids[0]!.multihash)
        await storage.batch().indexCommit('kdoc-order', cids[0]!).indexCommit('kdoc-order', cids[1]!).commit()
        await storage.batch().indexCommit('kdoc-order', cids[2]!).commit()
        await storage.batch().indexCommit('kdoc-order', signed).indexCommit('kdoc-order', cids[3]!).indexCommit('kdoc-order', cids[4]!).commit()
        await storage.batch().indexCommit('kdoc-order', cids[5]!).commit()

        const listed = await storage.listCommits('kdoc-order')
        expect(cidStrings(listed)).toEqual(cidStrings([cids[0]!, cids[1]!, cids[2]!, signed, cids[3]!, cids[4]!, cids[5]!]))
        expect(listed[3]?.equals(signed)).toBe(true)
        expect(listed[3]?.code).toBe(DAG_JOSE)
      })

      it('keeps the order of a long log written over many batches', async () => {
        const blocks = await blocksOf(300, 'long')
        for (let i = 0; i < blocks.length; i += 10) {
          const batch = storage.batch()
          for (const block of blocks.slice(i, i + 10)) batch.indexCommit('kdoc-long', block.cid)
          await batch.commit()
        }
        expect(cidStrings(await storage.listCommits('kdoc-long'))).toEqual(cidStrings(blocks.map((b) => b.cid)))
      })

      it('treats indexing a CID already indexed for the document as a no-op, in one batch and across batches', async () => {
        const [a, b, c] = await fiveBlocks('once')
        await storage.batch().indexCommit('kdoc-once', a.cid).indexCommit('kdoc-once', b.cid).indexCommit('kdoc-once', a.cid).commit()
        await storage.batch().indexCommit('kdoc-once', b.cid).indexCommit('kdoc-once', c.cid).indexCommit('kdoc-once', a.cid).commit()
        expect(cidStrings(await storage.listCommits('kdoc-once'))).toEqual(cidStrings([a.cid, b.cid, c.cid]))
      })

      it('returns an empty list for a document without a log index', async () => {
        expect(await storage.listCommits('kdoc-unknown')).toEqual([])
      })

      it('keeps documents apart, even when one DocID is a prefix of another', async () => {
        const [a, b, c] = await fiveBlocks('isolation')
        await storage.batch()
          .indexCommit('kdoc', a.cid).indexCommit('kdoc', b.cid)
          .indexCommit('kdoc1', b.cid).indexCommit('kdoc1', c.cid).indexCommit('kdoc1', a.cid)
          .putState('kdoc', stateOf([a.cid, b.cid], { which: 'kdoc' }))
          .putState('kdoc1', stateOf([b.cid], { which: 'kdoc1' }))
          .commit()

        expect(cidStrings(await storage.listCommits('kdoc'))).toEqual(cidStrings([a.cid, b.cid]))
        expect(cidStrings(await storage.listCommits('kdoc1'))).toEqual(cidStrings([b.cid, c.cid, a.cid]))
        expect(await storage.listCommits('kdo')).toEqual([])
        expect((await storage.getState('kdoc'))?.content).toEqual({ which: 'kdoc' })
        expect((await storage.getState('kdoc1'))?.content).toEqual({ which: 'kdoc1' })
        expect(await storage.getState('kdo')).toBeUndefined()
      })
    })

    describe('documents', () => {
      it('lists every document with a stored state once, and no document that is only pinned or indexed', async () => {
        const [genesis] = await fiveBlocks('list')
        await storage.batch().putState('kdoc-a', stateOf([genesis.cid])).putState('kdoc-b', stateOf([genesis.cid])).commit()
        await storage.batch().putState('kdoc-a', stateOf([genesis.cid], { again: true })).putState('kdoc-c', stateOf([genesis.cid])).commit()
        await storage.batch().indexCommit('kdoc-indexed-only', genesis.cid).commit()
        await storage.pin('kdoc-pinned-only')
        expect((await collect(storage.listDocuments())).sort()).toEqual(['kdoc-a', 'kdoc-b', 'kdoc-c'])
      })

      it('lists no documents in an empty store', async () => {
        expect(await collect(storage.listDocuments())).toEqual([])
      })

      it('deletes a document state, log index and pin but keeps its blocks and other documents', async () => {
        const [genesis, update] = await fiveBlocks('delete')
        for (const docId of ['kdoc', 'kdoc1']) {
          await storage.batch()
            .putBlock(genesis.cid, genesis.bytes).putBlock(update.cid, update.bytes)
            .indexCommit(docId, genesis.cid).indexCommit(docId, update.cid)
            .putState(docId, stateOf([genesis.cid, update.cid]))
            .commit()
          await storage.pin(docId)
        }

        await storage.deleteDocument('kdoc')
        expect(await storage.getState('kdoc')).toBeUndefined()
        expect(await storage.listCommits('kdoc')).toEqual([])
        expect(await storage.isPinned('kdoc')).toBe(false)
        expect(await collect(storage.listDocuments())).toEqual(['kdoc1'])
        expect(await collect(storage.listPins())).toEqual(['kdoc1'])
        expect(await storage.blocks.get(genesis.cid)).toEqual(genesis.bytes)
        expect(await storage.blocks.get(update.cid)).toEqual(update.bytes)
        expect(await storage.getState('kdoc1')).toEqual(stateOf([genesis.cid, update.cid]))
        expect(cidStrings(await storage.listCommits('kdoc1'))).toEqual(cidStrings([genesis.cid, update.cid]))
      })

      it('deletes an unknown or already deleted document without error, and indexes it afresh afterwards', async () => {
        const [a, b] = await fiveBlocks('afresh')
        await storage.deleteDocument('kdoc-never')
        await storage.batch().indexCommit('kdoc-afresh', a.cid).indexCommit('kdoc-afresh', b.cid).commit()
        await storage.deleteDocument('kdoc-afresh')
        await storage.deleteDocument('kdoc-afresh')
        await storage.batch().indexCommit('kdoc-afresh', b.cid).indexCommit('kdoc-afresh', a.cid).commit()
        expect(cidStrings(await storage.listCommits('kdoc-afresh'))).toEqual(cidStrings([b.cid, a.cid]))
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

    describe('persistence', () => {
      it.skipIf(skipDurable)(`keeps blocks, states, log index and pins after being closed and reopened${durable}`, async () => {
        const [genesis, update, link] = await fiveBlocks('durable')
        const state = stateOf([genesis.cid, update.cid], { link: link.cid, nested: { ok: [1, 2, 3] } })
        await storage.batch()
          .putBlock(genesis.cid, genesis.bytes).putBlock(update.cid, update.bytes)
          .indexCommit('kdoc-durable', genesis.cid).indexCommit('kdoc-durable', update.cid)
          .putState('kdoc-durable', state)
          .commit()
        await storage.blocks.put(link.cid, link.bytes)
        await storage.pin('kdoc-durable')

        await reopen()
        expect(await storage.blocks.get(genesis.cid)).toEqual(genesis.bytes)
        expect(await storage.blocks.get(link.cid)).toEqual(link.bytes)
        expect(await storage.getState('kdoc-durable')).toEqual(state)
        expect(cidStrings(await storage.listCommits('kdoc-durable'))).toEqual(cidStrings([genesis.cid, update.cid]))
        expect(await storage.isPinned('kdoc-durable')).toBe(true)
        expect(await collect(storage.listDocuments())).toEqual(['kdoc-durable'])
        expect(await collect(storage.listPins())).toEqual(['kdoc-durable'])
      })

      it.skipIf(skipDurable)(`continues a log index after reopening: new commits go last, known ones are not indexed again${durable}`, async () => {
        const [a, b, c] = await fiveBlocks('continue')
        await storage.batch().indexCommit('kdoc-continue', a.cid).indexCommit('kdoc-continue', b.cid).commit()
        await reopen()
        await storage.batch().indexCommit('kdoc-continue', a.cid).indexCommit('kdoc-continue', c.cid).indexCommit('kdoc-continue', b.cid).commit()
        expect(cidStrings(await storage.listCommits('kdoc-continue'))).toEqual(cidStrings([a.cid, b.cid, c.cid]))
      })

      it.skipIf(skipDurable)(`keeps a deletion and an unpin after reopening${durable}`, async () => {
        const [genesis] = await fiveBlocks('deleted')
        await storage.batch().putState('kdoc-gone', stateOf([genesis.cid])).indexCommit('kdoc-gone', genesis.cid).commit()
        await storage.pin('kdoc-gone')
        await storage.pin('kdoc-unpinned')
        await storage.deleteDocument('kdoc-gone')
        await storage.unpin('kdoc-unpinned')
        await reopen()
        expect(await storage.getState('kdoc-gone')).toBeUndefined()
        expect(await storage.listCommits('kdoc-gone')).toEqual([])
        expect(await collect(storage.listPins())).toEqual([])
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
          ['getState', async () => await storage.getState('kdoc-abort', { signal })],
          ['listCommits', async () => await storage.listCommits('kdoc-abort', { signal })],
          ['listDocuments', async () => await collect(storage.listDocuments({ signal }))],
          ['deleteDocument', async () => { await storage.deleteDocument('kdoc-abort', { signal }) }],
          ['pin', async () => { await storage.pin('kdoc-abort', { signal }) }],
          ['unpin', async () => { await storage.unpin('kdoc-abort', { signal }) }],
          ['isPinned', async () => await storage.isPinned('kdoc-abort', { signal })],
          ['listPins', async () => await collect(storage.listPins({ signal }))],
          ['batch.commit', async () => { await storage.batch().indexCommit('kdoc-abort', block.cid).commit({ signal }) }]
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
        const batch = storage.batch()
          .putBlock(genesis.cid, genesis.bytes)
          .putState('kdoc-aborted', stateOf([genesis.cid]))
          .indexCommit('kdoc-aborted', genesis.cid)
        await expectRejection(batch.commit({ signal: controller.signal }), 'AbortError')
        expect(await storage.blocks.has(genesis.cid)).toBe(false)
        expect(await storage.getState('kdoc-aborted')).toBeUndefined()
        expect(await storage.listCommits('kdoc-aborted')).toEqual([])
      })

      it('stops listing documents when the signal fires mid-iteration', async () => {
        const [genesis] = await fiveBlocks('mid-iteration')
        await storage.batch().putState('kdoc-1', stateOf([genesis.cid])).putState('kdoc-2', stateOf([genesis.cid])).putState('kdoc-3', stateOf([genesis.cid])).commit()
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

/** A valid `DocState` of a tile document whose log is `cids` (genesis first, then signed updates). */
function stateOf (cids: CID[], content: unknown = { title: 'a document' }): DocState {
  return {
    type: 0,
    content,
    metadata: { controllers: [CONTROLLER] },
    signature: SignatureStatus.SIGNED,
    anchorStatus: AnchorStatus.PENDING,
    log: cids.map((cid, i) => ({ cid, type: i === 0 ? LogEntryType.GENESIS : LogEntryType.SIGNED }))
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
