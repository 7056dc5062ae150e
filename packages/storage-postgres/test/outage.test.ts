import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AnchorStatus, LogEntryType, SignatureStatus } from '@kiln/interface'
import type { Block, DocHead, Storage } from '@kiln/interface'
import { encodeRecord } from '@kiln/codec'
import { postgresStorage } from '@kiln/storage-postgres'
import { findPostgresBinaries, startPostgresServer, type PostgresServer } from '@kiln/storage-postgres/testing'

const binDir = await findPostgresBinaries()
const reason = binDir === undefined ? ' (skipped: no PostgreSQL server binaries (initdb, pg_ctl) found to start a private server; see docs/postgres.md)' : ''

function headOf (block: Block, logLength: number): DocHead {
  return {
    type: 0, content: { n: logLength }, metadata: { controllers: ['did:key:alice'] }, signature: SignatureStatus.SIGNED,
    anchorStatus: AnchorStatus.PENDING, genesis: block.cid, tip: block.cid, logLength
  }
}

async function rejection (promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(Error)
  return err as Error
}

// Skipped only where PostgreSQL's server binaries (initdb, pg_ctl) are not installed; the reason is in the title.
describe.skipIf(binDir === undefined)(`postgresStorage when the server fails${reason}`, () => {
  let server: PostgresServer

  beforeAll(async () => {
    server = await startPostgresServer({ binDir, fsync: false })
  }, 60_000)

  afterAll(async () => {
    await server?.destroy()
  })

  it('refuses a connection string that is not a postgres URL with StorageError, before connecting', () => {
    for (const connectionString of ['', 'not a url', 'mysql://u@h/db']) {
      let err: Error | undefined
      try {
        postgresStorage({ connectionString })
      } catch (e) {
        err = e as Error
      }
      expect(err?.name).toBe('StorageError')
      expect(err?.message).toMatch(/connection string/)
    }
  })

  it('fails start() with StorageError naming the server (not its password) when nothing listens there', async () => {
    const storage = postgresStorage({ connectionString: 'postgres://kiln:secret@127.0.0.1:1/kiln', connectTimeoutSeconds: 2 })({})
    const err = await rejection(Promise.resolve(storage.start?.()))
    expect(err.name).toBe('StorageError')
    expect(err.message).toContain('postgres://kiln@127.0.0.1:1/kiln')
    expect(err.message).not.toContain('secret')
    expect(err.message).toMatch(/unreachable/)
  })

  it('refuses writes with StorageError while the server is down, keeps every acknowledged write, and works again once it is back', async () => {
    const storage: Storage = postgresStorage({ connectionString: server.url, connectTimeoutSeconds: 2 })({})
    await storage.start?.()
    try {
      const blocks = new Map<number, Block>()
      const acknowledged: number[] = []
      const refused: Error[] = []
      let stopping: Promise<void> | undefined
      // Writers run until the server stops under them, each until its first refusal; each batch is a document's genesis, its log entry and its head.
      await Promise.all([0, 1, 2, 3].map(async (lane) => {
        // Until the outage refuses one: however fast the writes go, the server is stopping under them.
        for (let i = lane; i < 100_000; i += 4) {
          const block = await encodeRecord({ outage: i })
          blocks.set(i, block)
          const docId = `kdoc-outage-${i}`
          try {
            await storage.batch().putBlock(block.cid, block.bytes)
              .putLogEntry(docId, 0, { cid: block.cid, type: LogEntryType.GENESIS })
              .indexCommit(docId, block.cid, { seq: 0 })
              .putHead(docId, headOf(block, 1))
              .commit({ sync: true })
            acknowledged.push(i)
            if (acknowledged.length === 20) stopping ??= server.stop()
          } catch (err) {
            // This lane has seen the outage: one refusal each is enough.
            refused.push(err as Error)
            return
          }
        }
      }))
      await stopping
      expect(refused.length).toBeGreaterThan(0)
      for (const err of refused) {
        expect(err.name).toBe('StorageError')
        expect(err.message).toContain(server.url.replace(/\/postgres$/, ''))
      }
      expect(refused.some((err) => /unreachable/.test(err.message))).toBe(true)
      expect((await rejection(storage.getHead('kdoc-outage-0'))).name).toBe('StorageError')

      await server.start()
      // The same storage, not restarted: its pool reconnects.
      for (const i of acknowledged) {
        const docId = `kdoc-outage-${i}`
        expect(await storage.getHead(docId), docId).toEqual(headOf(blocks.get(i)!, 1))
        expect(await storage.readLog(docId)).toHaveLength(1)
      }
      // A write refused was written whole or not at all: never a head without its log entry.
      for await (const docId of storage.listDocuments()) expect(await storage.readLog(docId), docId).toHaveLength(1)
      const block = await encodeRecord({ outage: 'after' })
      await storage.batch().putBlock(block.cid, block.bytes).putHead('kdoc-after', headOf(block, 1)).commit({ sync: true })
      expect(await storage.getHead('kdoc-after')).toEqual(headOf(block, 1))
    } finally {
      await storage.stop?.()
    }
  }, 60_000)

  it('survives the server being killed: no unhandled error, StorageError meanwhile, working again after a restart', async () => {
    const storage: Storage = postgresStorage({ connectionString: server.url, connectTimeoutSeconds: 2, idleTimeoutSeconds: 60 })({})
    await storage.start?.()
    try {
      // Idle pooled connections are open when the server dies.
      await Promise.all(Array.from({ length: 4 }, async (_, i) => await storage.isPinned(`kdoc-${i}`)))
      await server.kill()
      const err = await rejection(storage.pin('kdoc-killed'))
      expect(err.name).toBe('StorageError')
      await server.start()
      await storage.pin('kdoc-killed')
      expect(await storage.isPinned('kdoc-killed')).toBe(true)
    } finally {
      await storage.stop?.()
    }
  }, 60_000)
})
