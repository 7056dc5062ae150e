import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect, beforeEach, afterEach, vi } from 'vitest'
import { ClassicLevel } from 'classic-level'
import { CID } from 'multiformats/cid'
import { AnchorStatus, LogEntryType, SignatureStatus } from '@kiln/interface'
import type { DocHead, Storage } from '@kiln/interface'
import { encodeRecord } from '@kiln/codec'
import { storeTests } from '@kiln/interface-tests/store'
import { queryTests } from '@kiln/interface-tests/query'
import { levelStorage } from '@kiln/storage-level'
import { keyCensus } from './fixtures/layout-1.js'

const paths = new Map<Storage, string>()

async function openAt (path: string): Promise<Storage> {
  const storage = levelStorage({ path })({})
  await storage.start?.()
  paths.set(storage, path)
  return storage
}

describe('levelStorage', () => {
  storeTests({
    setup: async () => await openAt(await mkdtemp(join(tmpdir(), 'kiln-level-'))),
    reopen: async (storage) => {
      const path = paths.get(storage)!
      await storage.stop?.()
      paths.delete(storage)
      return await openAt(path)
    },
    teardown: async (storage) => {
      await storage.stop?.()
      const path = paths.get(storage)
      paths.delete(storage)
      if (path !== undefined) await rm(path, { recursive: true, force: true })
    }
  })

  queryTests({
    setup: async () => await openAt(await mkdtemp(join(tmpdir(), 'kiln-level-query-'))),
    teardown: async (storage) => {
      await storage.stop?.()
      const path = paths.get(storage)
      paths.delete(storage)
      if (path !== undefined) await rm(path, { recursive: true, force: true })
    }
  })
})

describe('levelStorage on disk', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-level-'))
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('creates a missing directory, with its parents, on start', async () => {
    const storage = await openAt(join(dir, 'nested', 'kiln-data'))
    try {
      const block = await encodeRecord({ nested: true })
      await storage.blocks.put(block.cid, block.bytes)
      expect(await storage.blocks.has(block.cid)).toBe(true)
    } finally {
      await storage.stop?.()
    }
  })

  it('refuses to open a path another levelStorage has open, with a StorageError saying it is locked', async () => {
    const first = await openAt(dir)
    try {
      const second = levelStorage({ path: dir })({})
      const err = await rejection(Promise.resolve(second.start?.()))
      expect(err.name).toBe('StorageError')
      expect(err.message).toContain(dir)
      expect(err.message).toMatch(/locked/)
      expect(err.message).toMatch(/already has it open/)
    } finally {
      await first.stop?.()
    }
  })

  it('opens the path once the first levelStorage has stopped', async () => {
    const first = await openAt(dir)
    await first.stop?.()
    const second = await openAt(dir)
    await second.stop?.()
  })

  it('fails operations after stop() with a StorageError saying the store was stopped', async () => {
    const storage = await openAt(dir)
    const block = await encodeRecord({ after: 'stop' })
    await storage.stop?.()
    await storage.stop?.()
    for (const operation of [
      storage.blocks.get(block.cid),
      storage.getHead('kdoc'),
      storage.batch().putBlock(block.cid, block.bytes).commit(),
      collectAll(storage.listDocuments())
    ]) {
      const err = await rejection(operation)
      expect(err.name).toBe('StorageError')
      expect(err.message).toContain('stopped')
      expect(err.message).toContain(dir)
    }
  })

  it('fails operations before start() with a StorageError saying to call start()', async () => {
    const storage = levelStorage({ path: dir })({})
    const err = await rejection(storage.isPinned('kdoc'))
    expect(err.name).toBe('StorageError')
    expect(err.message).toContain('call start() first')
  })

  it('can be started again after stop, with its data', async () => {
    const storage = await openAt(dir)
    try {
      await storage.pin('kdoc')
      await storage.stop?.()
      await storage.start?.()
      expect(await storage.isPinned('kdoc')).toBe(true)
    } finally {
      await storage.stop?.()
    }
  })

  it('rejects reading a corrupted head, log entry, commit index entry or status record with StorageError naming the document', async () => {
    const genesis = await encodeRecord({ corrupt: 'genesis' })
    const storage = await openAt(dir)
    try {
      await storage.batch()
        .putLogEntry('kdoc-bad-entry', 0, { cid: genesis.cid, type: LogEntryType.GENESIS })
        .indexCommit('kdoc-bad-index', genesis.cid, { seq: 0 })
        .putHead('kdoc-bad-status', headOf(genesis.cid, 1))
        .putAnchorStatus('kdoc-bad-status', { tip: genesis.cid, status: AnchorStatus.ANCHORED })
        .commit()
    } finally {
      await storage.stop?.()
    }
    await writeRaw(dir, [
      [keyOf(0x68, 'kdoc-corrupt'), Uint8Array.of(0xa1, 0x61)],
      [keyOf(0x68, 'kdoc-not-a-head'), (await encodeRecord({ type: 0, log: [] })).bytes],
      [keyOf(0x65, lengthPrefixed('kdoc-bad-entry'), u64(0)), Uint8Array.of(7, 0, 1, 2, 3)],
      [keyOf(0x63, lengthPrefixed('kdoc-bad-index'), genesis.cid.bytes), Uint8Array.of(1, 2, 3)],
      [keyOf(0x61, 'kdoc-bad-status'), Uint8Array.of(9, ...genesis.cid.bytes)]
    ])
    const reopened = await openAt(dir)
    try {
      // Each read is handed to rejection() as it starts, so none of them rejects with nobody listening.
      const reads: Array<[string, ReturnType<typeof rejection>]> = [
        ['kdoc-corrupt', rejection(reopened.getHead('kdoc-corrupt'))],
        ['kdoc-not-a-head', rejection(reopened.getHead('kdoc-not-a-head'))],
        ['kdoc-bad-entry', rejection(reopened.readLog('kdoc-bad-entry'))],
        ['kdoc-bad-index', rejection(reopened.getCommitPlace('kdoc-bad-index', genesis.cid))],
        ['kdoc-bad-status', rejection(reopened.getHead('kdoc-bad-status'))]
      ]
      for (const [docId, read] of reads) {
        const err = await read
        expect(err.name, docId).toBe('StorageError')
        expect(err.message).toContain(docId)
        expect(err.message).toContain('corrupt')
      }
    } finally {
      await reopened.stop?.()
    }
  })

  it('refuses a head without the fields every head has, with StorageError, and writes none of its batch', async () => {
    const storage = await openAt(dir)
    try {
      const genesis = await encodeRecord({ not: 'a head' })
      const { tip: _tip, ...tipless } = headOf(genesis.cid, 1)
      const err = await rejection(storage.batch()
        .putBlock(genesis.cid, genesis.bytes)
        .putHead('kdoc-tipless', tipless as DocHead)
        .commit())
      expect(err.name).toBe('StorageError')
      expect(err.message).toContain('kdoc-tipless')
      expect(await storage.blocks.has(genesis.cid)).toBe(false)
      expect(await storage.getHead('kdoc-tipless')).toBeUndefined()
    } finally {
      await storage.stop?.()
    }
  })

  it('rejects reading a log or checkpoint at a position that is not a non-negative integer with StorageError', async () => {
    const storage = await openAt(dir)
    try {
      for (const read of [storage.readLog('kdoc', { from: -1 }), storage.readLog('kdoc', { to: 1.5 }), storage.getCheckpoint('kdoc', -3)]) {
        const err = await rejection(read)
        expect(err.name).toBe('StorageError')
        expect(err.message).toMatch(/not a non-negative integer/)
      }
    } finally {
      await storage.stop?.()
    }
  })

  it('passes sync to LevelDB\'s batch: an fsync for commit({ sync: true }) only', async () => {
    const storage = await openAt(dir)
    // Batches go to classic-level's own _batch (the public batch() ends in it), with LevelDB's options.
    const batch = vi.spyOn(ClassicLevel.prototype as unknown as { _batch: (...args: unknown[]) => Promise<void> }, '_batch')
    try {
      const block = await encodeRecord({ sync: 'passed' })
      await storage.batch().putBlock(block.cid, block.bytes).commit({ sync: true })
      await storage.batch().putBlock(block.cid, block.bytes).commit({ sync: false })
      await storage.batch().putBlock(block.cid, block.bytes).commit()
      expect(batch.mock.calls.map((call) => ((call as unknown[])[1] as { sync?: boolean } | undefined)?.sync)).toEqual([true, false, false])
    } finally {
      batch.mockRestore()
      await storage.stop?.()
    }
  })

  it('writes an append as its block, one log entry, one commit index entry and the head: nothing else', async () => {
    const storage = await openAt(dir)
    try {
      const genesis = await encodeRecord({ append: 'genesis' })
      const update = await encodeRecord({ append: 'update' })
      const docId = 'kdoc-append'
      const id = new TextEncoder().encode(docId).byteLength
      await storage.batch().putLogEntry(docId, 0, { cid: genesis.cid, type: LogEntryType.GENESIS }).commit()
      const head = headOf(genesis.cid, 2, update.cid)
      const before = storage.writeStats().bytesWritten
      await storage.batch()
        .putBlock(update.cid, update.bytes)
        .putLogEntry(docId, 1, { cid: update.cid, type: LogEntryType.SIGNED })
        .indexCommit(docId, update.cid, { seq: 1 })
        .putHead(docId, head)
        .commit()
      const cid = update.cid.bytes.byteLength
      const expected =
        (1 + cid) + update.bytes.byteLength + // block
        (1 + 4 + id + 8) + (2 + cid) + // log entry: key, then type, flags, CID
        (1 + 4 + id + cid) + 8 + // commit index: key, then the position
        (1 + id) + 8 + (await encodeRecord(withoutLogLength(head))).bytes.byteLength // head: its log length in 8 bytes, the rest dag-cbor
      expect(storage.writeStats().bytesWritten - before).toBe(expected)
    } finally {
      await storage.stop?.()
    }
  })

  it('keeps a CID of another codec with the same multihash as a different block', async () => {
    const storage = await openAt(dir)
    try {
      const block = await encodeRecord({ codec: 'dag-cbor' })
      const raw = CID.createV1(0x55, block.cid.multihash)
      await storage.blocks.put(block.cid, block.bytes)
      expect(await storage.blocks.has(raw)).toBe(false)
      expect((await rejection(storage.blocks.get(raw))).name).toBe('BlockNotFoundError')
    } finally {
      await storage.stop?.()
    }
  })

  it('gives concurrent batches that cut and rewrite one log the outcome of one order or the other, never a mix', async () => {
    const storage = await openAt(dir)
    try {
      const [x0, y0, y1] = await Promise.all(['x0', 'y0', 'y1'].map(async (label) => (await encodeRecord({ race: label })).cid))
      for (let round = 0; round < 30; round++) {
        const docId = `kdoc-race-${round}`
        await Promise.all([
          storage.batch().truncateLog(docId, 0).putLogEntry(docId, 0, { cid: x0!, type: LogEntryType.GENESIS }).commit(),
          storage.batch().truncateLog(docId, 0)
            .putLogEntry(docId, 0, { cid: y0!, type: LogEntryType.GENESIS })
            .putLogEntry(docId, 1, { cid: y1!, type: LogEntryType.SIGNED })
            .commit()
        ])
        const log = (await storage.readLog(docId)).map((e) => e.cid.toString())
        expect([[x0!.toString()], [y0!.toString(), y1!.toString()]], `round ${round}`).toContainEqual(log)
      }
    } finally {
      await storage.stop?.()
    }
  })

  it('writes key layout 3 into a new database', async () => {
    const storage = await openAt(dir)
    await storage.stop?.()
    expect((await keyCensus(dir)).layout).toEqual([3])
  })

  it('refuses a database of a newer key layout with a StorageError saying a newer version wrote it, and leaves it as it was', async () => {
    for (const version of [4, 9]) {
      await writeRaw(dir, [[Uint8Array.of(0x76), Uint8Array.of(version)], [keyOf(0x68, 'kdoc'), Uint8Array.of(1)]])
      const err = await rejection(Promise.resolve(levelStorage({ path: dir })({}).start?.()))
      expect(err.name).toBe('StorageError')
      expect(err.message).toContain(`layout ${version}`)
      expect(err.message).toContain('newer version')
      expect(err.message).toContain(dir)
      expect(await keyCensus(dir)).toEqual({ kinds: { v: 1, h: 1 }, layout: [version] })
    }
  })

  it('refuses a layout version it does not know', async () => {
    for (const version of [Uint8Array.of(0), Uint8Array.of(2, 0)]) {
      await writeRaw(dir, [[Uint8Array.of(0x76), version]])
      const err = await rejection(Promise.resolve(levelStorage({ path: dir })({}).start?.()))
      expect(err.name).toBe('StorageError')
      expect(err.message).toContain(`layout ${Array.from(version).join('.')}`)
    }
  })

  it('fails start() with StorageError when the path is a file', async () => {
    const file = join(dir, 'not-a-directory')
    await writeFile(file, 'x')
    const err = await rejection(Promise.resolve(levelStorage({ path: file })({}).start?.()))
    expect(err.name).toBe('StorageError')
    expect(err.message).toContain(file)
  })

  it('rejects a missing path when the factory is called', () => {
    expect(() => levelStorage({ path: '' })).toThrow(/levelStorage needs a directory/)
  })
})

/** A valid head of a document whose log has `logLength` entries, from `genesis` to `tip`. */
function headOf (genesis: CID, logLength: number, tip: CID = genesis): DocHead {
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

function keyOf (kind: number, ...parts: Array<string | Uint8Array>): Uint8Array {
  return new Uint8Array([kind, ...parts.flatMap((p) => [...(typeof p === 'string' ? new TextEncoder().encode(p) : p)])])
}

function lengthPrefixed (docId: string): Uint8Array {
  const id = new TextEncoder().encode(docId)
  return new Uint8Array([0, 0, id.byteLength >> 8, id.byteLength & 0xff, ...id])
}

function u64 (n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

// Writes raw keys, as a disk error or an older bug might have left them.
async function writeRaw (path: string, entries: Array<[Uint8Array, Uint8Array]>): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  for (const [key, value] of entries) await db.put(key, value)
  await db.close()
}

async function collectAll (iterable: AsyncIterable<string>): Promise<string[]> {
  const items: string[] = []
  for await (const item of iterable) items.push(item)
  return items
}

async function rejection (promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, 'expected a rejection').toBeInstanceOf(Error)
  return err as Error
}

/** A head without its log length, which storage writes apart, at a fixed width. */
function withoutLogLength (head: { logLength: number }): Record<string, unknown> {
  const { logLength: _logLength, ...rest } = head
  return rest
}
