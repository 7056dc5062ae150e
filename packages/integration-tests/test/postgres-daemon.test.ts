import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { httpClient } from '@kiln/http-client'
import type { Commit } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import type { DocID } from '@kiln/docid'
import {
  createTestDatabase, findPostgresBinaries, startPostgresServer, testPostgres, type PostgresServer
} from '@kiln/storage-postgres/testing'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { startDaemon, type DaemonProcess } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xd3) })
const server = await testPostgres()
const binDir = await findPostgresBinaries()

/** A daemon on PostgreSQL, its keys in `dir`. */
async function postgresDaemon (dir: string, url: string): Promise<DaemonProcess> {
  return await startDaemon(['--data-dir', dir, '--anchor', 'none', '--storage', url])
}

// Skipped only without a PostgreSQL server (KILN_TEST_DATABASE_URL unset and no binaries to start one; CI starts one):
// the reason is in the suite's title.
describe.skipIf(server.skip)(`a daemon on PostgreSQL killed with SIGKILL mid-write${server.reason}`, () => {
  afterAll(async () => { await server.stop() })

  it('keeps every update it acknowledged, and nothing half-applied', async () => {
    const UPDATES = 80
    const database = await createTestDatabase(server.url)
    const dir = await dataDir()
    try {
      let daemon = await postgresDaemon(dir.path, database.url)
      let client = httpClient({ url: daemon.url })
      const docs: Array<{ id: DocID, update: Commit, content: Record<string, unknown> }> = []
      for (let i = 0; i < UPDATES; i++) {
        const created = await client.createDocument('tile', (await makeGenesis({ i, v: 0 }, {}, alice)).commit, { anchor: false })
        const content = { i, v: 1, padding: 'x'.repeat(200) }
        docs.push({ id: created.id, update: (await makeUpdate(created.state, content, alice)).commit, content })
      }

      const acknowledged: number[] = []
      let killed = false
      await Promise.all(docs.map(async (doc, i) => {
        try {
          await client.applyCommit(doc.id, doc.update, { anchor: false })
          acknowledged.push(i)
          // Killed once a quarter are acknowledged: the rest are in flight or not yet sent.
          if (acknowledged.length === UPDATES / 4 && !killed) { killed = true; await daemon.kill() }
        } catch {
          // refused or cut off by the kill: not acknowledged, so not promised
        }
      }))
      if (!killed) await daemon.kill()
      expect(acknowledged.length).toBeGreaterThanOrEqual(UPDATES / 4)

      daemon = await postgresDaemon(dir.path, database.url)
      client = httpClient({ url: daemon.url })
      try {
        for (const i of acknowledged) expect((await client.load(docs[i]!.id)).state.content).toEqual(docs[i]!.content)
        const updated: string[] = []
        for (const [i, doc] of docs.entries()) {
          const { content } = (await client.load(doc.id)).state as { content: { v: number } }
          expect([{ i, v: 0 }, doc.content]).toContainEqual(content)
          if (content.v === 1) updated.push(doc.id.toString())
        }
        // The query index landed in the same transactions as the heads: it agrees with them after the kill.
        const page = await client.query({ filter: { content: { path: '/v', equalTo: 1 } }, first: 1000, count: true })
        expect(page.count).toBe(updated.length)
        expect(page.items.map((item) => item.id.toString()).sort()).toEqual(updated.sort())
      } finally {
        expect(await daemon.stop()).toBe(0)
      }
    } finally {
      await dir.remove()
      await database.drop()
    }
  }, 120_000)
})

// Skipped only where PostgreSQL's server binaries (initdb, pg_ctl) are not installed; the reason is in the title.
describe.skipIf(binDir === undefined)(`a daemon whose PostgreSQL server goes down${binDir === undefined ? ' (skipped: no PostgreSQL server binaries (initdb, pg_ctl) found; see docs/postgres.md)' : ''}`, () => {
  let pg: PostgresServer | undefined

  afterAll(async () => { await pg?.destroy() })

  it('refuses writes with 503 StorageError and answers the healthcheck 503 while it is down, and recovers without a restart', async () => {
    pg = await startPostgresServer({ binDir, fsync: false })
    const dir = await dataDir()
    const statuses: number[] = []
    // Records the status of every answer, to see the 503s behind the errors the client throws.
    const recording: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      statuses.push(response.status)
      return response
    }
    // This one is told its database by the environment, as an operator keeping a password off the command line would.
    const daemon = await startDaemon(['--data-dir', dir.path, '--anchor', 'none'], 20_000, { KILN_DATABASE_URL: pg.url })
    const health = async (): Promise<number> => (await fetch(`${daemon.url}/api/v0/node/healthcheck`)).status
    try {
      const client = httpClient({ url: daemon.url, fetch: recording })
      const created: Array<{ id: DocID, content: unknown }> = []
      const refused: Error[] = []
      let stopping: Promise<void> | undefined
      // Four writers create documents until the server stops under them; each stops at its first refusal.
      await Promise.all([0, 1, 2, 3].map(async (lane) => {
        // Until the outage refuses one: however fast the creates go, the server is stopping under them.
        for (let i = 0; i < 100_000; i++) {
          const content = { lane, i }
          try {
            const doc = await client.createDocument('tile', (await makeGenesis(content, {}, alice)).commit, { anchor: false })
            created.push({ id: doc.id, content })
            if (created.length === 12) stopping ??= pg!.stop()
          } catch (err) {
            refused.push(err as Error)
            return
          }
        }
      }))
      await stopping
      expect(refused.length).toBeGreaterThan(0)
      for (const err of refused) expect(err.name).toBe('StorageError')
      expect(statuses).toContain(503)
      expect(await health()).toBe(503)
      const late = await client.createDocument('tile', (await makeGenesis({ late: true }, {}, alice)).commit, { anchor: false }).then(() => undefined, (e: unknown) => e as Error)
      expect(late?.name).toBe('StorageError')
      expect(late?.message).toMatch(/PostgreSQL/)

      await pg.start()
      // The same daemon process: its pool reconnects on the next operation.
      await vi.waitFor(async () => { expect(await health()).toBe(200) }, { timeout: 20_000, interval: 200 })
      const after = await client.createDocument('tile', (await makeGenesis({ after: true }, {}, alice)).commit, { anchor: false })
      expect((await client.load(after.id)).state.content).toEqual({ after: true })
      for (const doc of created) expect((await client.load(doc.id)).state.content).toEqual(doc.content)
    } finally {
      expect(await daemon.stop()).toBe(0)
      await dir.remove()
    }
  }, 120_000)
})
