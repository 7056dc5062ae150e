import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { ClassicLevel } from 'classic-level'
import { CID } from 'multiformats/cid'
import type { Storage } from '@kiln/interface'
import { encodeRecord } from '@kiln/codec'
import { storeTests } from '@kiln/interface-tests/store'
import { levelStorage } from '@kiln/storage-level'

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
      storage.getState('kdoc'),
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

  it('rejects reading a corrupted state with StorageError naming the document', async () => {
    await writeRaw(dir, stateKeyOf('kdoc-corrupt'), Uint8Array.of(0xa1, 0x61))
    await writeRaw(dir, stateKeyOf('kdoc-not-a-state'), (await encodeRecord([1, 2, 3])).bytes)
    const storage = await openAt(dir)
    try {
      for (const docId of ['kdoc-corrupt', 'kdoc-not-a-state']) {
        const err = await rejection(storage.getState(docId))
        expect(err.name).toBe('StorageError')
        expect(err.message).toContain(docId)
        expect(err.message).toContain('corrupt')
      }
    } finally {
      await storage.stop?.()
    }
  })

  it('rejects listing a log index holding bytes that are not a CID with StorageError', async () => {
    const docId = 'kdoc-bad-log'
    const id = new TextEncoder().encode(docId)
    const key = new Uint8Array([0x6c, 0, 0, 0, id.length, ...id, 0, 0, 0, 0, 0, 0, 0, 0])
    await writeRaw(dir, key, Uint8Array.of(1, 2, 3))
    const storage = await openAt(dir)
    try {
      const err = await rejection(storage.listCommits(docId))
      expect(err.name).toBe('StorageError')
      expect(err.message).toContain(docId)
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

  it('serializes concurrent batches for one document, so no log entry is lost', async () => {
    const storage = await openAt(dir)
    try {
      const blocks = await Promise.all(Array.from({ length: 20 }, async (_, i) => await encodeRecord({ same: 'doc', i })))
      await Promise.all(blocks.map(async (block) => { await storage.batch().indexCommit('kdoc-same', block.cid).commit() }))
      const listed = (await storage.listCommits('kdoc-same')).map(String)
      expect(listed).toHaveLength(20)
      expect(new Set(listed)).toEqual(new Set(blocks.map((b) => b.cid.toString())))
    } finally {
      await storage.stop?.()
    }
  })

  it('refuses a database written with another key layout', async () => {
    await writeRaw(dir, Uint8Array.of(0x76), Uint8Array.of(9))
    const err = await rejection(Promise.resolve(levelStorage({ path: dir })({}).start?.()))
    expect(err.name).toBe('StorageError')
    expect(err.message).toContain('layout 9')
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

function stateKeyOf (docId: string): Uint8Array {
  return new Uint8Array([0x73, ...new TextEncoder().encode(docId)])
}

// Writes one raw key, as a disk error or an older bug might have left it.
async function writeRaw (path: string, key: Uint8Array, value: Uint8Array): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  await db.put(key, value)
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
