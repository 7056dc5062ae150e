import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import type { CID } from 'multiformats/cid'
import { AnchorStatus, LogEntryType, SignatureStatus } from '@kiln/interface'
import type { DocHead, Storage } from '@kiln/interface'
import { encodeRecord } from '@kiln/codec'
import { levelStorage } from '@kiln/storage-level'

describe('levelStorage with a failing disk (faults.failWrite)', () => {
  let dir: string
  let failing: boolean
  let storage: Storage

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-level-faults-'))
    failing = false
    storage = levelStorage({ path: dir, faults: { failWrite: () => failing } })({})
    await storage.start?.()
  })

  afterEach(async () => {
    await storage.stop?.()
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps the index keys of a replaced record right when a replacement in between failed to write', async () => {
    const genesis = await encodeRecord({ label: 'indexed' })
    const head = headOf(genesis.cid, genesis.cid, 1)
    const replace = (tag: string, at: number): Promise<void> => storage.batch().putHead('kdoc', head)
      .putIndex('kdoc', { doctype: 0, controllers: ['did:key:z'], tags: [tag], content: { tag }, links: [], createdAt: 1000, updatedAt: at }).commit()
    const tagged = async (tag: string): Promise<string[]> =>
      (await storage.query({ filter: { tags: { all: [tag] } }, sort: { by: 'created', order: 'asc' }, first: 10 })).ids
    await replace('first', 1000)
    failing = true
    expect((await rejection(replace('lost', 2000))).name).toBe('StorageError')
    failing = false
    await replace('third', 3000)
    // The keys of 'first' were deleted (the record the failed batch did not write was not taken as stored).
    expect(await tagged('first')).toEqual([])
    expect(await tagged('lost')).toEqual([])
    expect(await tagged('third')).toEqual(['kdoc'])
    expect((await storage.query({ filter: { updated: { after: 0, before: 2500 } }, sort: { by: 'created', order: 'asc' }, first: 10 })).ids).toEqual([])
  })

  it('rejects a batch whose write fails with StorageError, writes none of it, and writes the next batch', async () => {
    const [genesis, update, other] = await Promise.all(['genesis', 'update', 'other'].map(async (label) => await encodeRecord({ label })))
    await storage.batch()
      .putBlock(genesis!.cid, genesis!.bytes)
      .putLogEntry('kdoc', 0, { cid: genesis!.cid, type: LogEntryType.GENESIS })
      .indexCommit('kdoc', genesis!.cid, { seq: 0 })
      .putHead('kdoc', headOf(genesis!.cid, genesis!.cid, 1))
      .commit({ sync: true })
    const stats = storage.writeStats()

    const batch = (): ReturnType<Storage['batch']> => storage.batch()
      .putBlock(update!.cid, update!.bytes)
      .putLogEntry('kdoc', 1, { cid: update!.cid, type: LogEntryType.SIGNED })
      .indexCommit('kdoc', update!.cid, { seq: 1 })
      .putHead('kdoc', headOf(genesis!.cid, update!.cid, 2))
      .putCheckpoint('kdoc', { seq: 1, head: headOf(genesis!.cid, update!.cid, 2) })
      .putAnchorStatus('kdoc', { tip: update!.cid, status: AnchorStatus.ANCHORED })
      .truncateLog('kdoc', 5)
      .putHead('kdoc-other', headOf(other!.cid, other!.cid, 1))
      .pin('kdoc-other')
    failing = true
    const err = await rejection(batch().commit({ sync: true }))
    expect(err.name).toBe('StorageError')
    expect(err.message).toContain('failWrite')
    expect(err.message).toContain(dir)
    expect(storage.writeStats()).toEqual(stats)

    // Nothing of it, in this instance or after reopening.
    for (let pass = 0; pass < 2; pass++) {
      expect(await storage.blocks.has(update!.cid)).toBe(false)
      expect(await storage.getHead('kdoc')).toEqual(headOf(genesis!.cid, genesis!.cid, 1))
      expect((await storage.readLog('kdoc')).map((e) => e.cid.toString())).toEqual([genesis!.cid.toString()])
      expect(await storage.getCommitPlace('kdoc', update!.cid)).toBeUndefined()
      expect(await storage.getCheckpoint('kdoc', 1)).toBeUndefined()
      expect(await storage.getHead('kdoc-other')).toBeUndefined()
      expect(await storage.isPinned('kdoc-other')).toBe(false)
      failing = false
      await storage.stop?.()
      await storage.start?.()
    }

    await batch().commit({ sync: true })
    expect((await storage.getHead('kdoc'))?.anchorStatus).toBe(AnchorStatus.ANCHORED)
    expect((await storage.readLog('kdoc')).map((e) => e.cid.toString())).toEqual([genesis!.cid.toString(), update!.cid.toString()])
    expect(await storage.isPinned('kdoc-other')).toBe(true)
  })

  it('fails single writes (a block, a pin, an unpin, a deletion) the same way, writing nothing', async () => {
    const block = await encodeRecord({ single: true })
    await storage.pin('kdoc-pinned')
    await storage.batch().putHead('kdoc-kept', headOf(block.cid, block.cid, 1)).commit()
    failing = true
    for (const write of [
      storage.blocks.put(block.cid, block.bytes),
      storage.pin('kdoc-new-pin'),
      storage.unpin('kdoc-pinned'),
      storage.deleteDocument('kdoc-kept')
    ]) {
      const err = await rejection(write)
      expect(err.name).toBe('StorageError')
      expect(err.message).toContain('failWrite')
    }
    failing = false
    expect(await storage.blocks.has(block.cid)).toBe(false)
    expect((await collect(storage.listPins())).sort()).toEqual(['kdoc-pinned'])
    expect(await storage.getHead('kdoc-kept')).toBeDefined()
  })
})

function headOf (genesis: CID, tip: CID, logLength: number): DocHead {
  return {
    type: 0,
    content: { title: 'a document' },
    metadata: { controllers: ['did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'] },
    signature: SignatureStatus.SIGNED,
    anchorStatus: AnchorStatus.PENDING,
    genesis,
    tip,
    logLength
  }
}

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
