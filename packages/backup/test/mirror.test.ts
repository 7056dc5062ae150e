import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { warehouseMirror, type WarehouseMirror, type WarehouseMirrorInit } from '@kiln/backup'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import type { DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate, tile } from '@kiln/doctype-tile'
import type { StorageFactory } from '@kiln/interface'
import { levelStorage } from '@kiln/storage-level'
import { createTestDatabase, testPostgres, type TestDatabase } from '@kiln/storage-postgres/testing'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { alice } from './fixtures/documents.js'
import { tcpProxy, type TcpProxy } from './fixtures/tcp-proxy.js'

const postgres = await testPostgres()

/** A node with the tile doctype and a warehouse mirror, and the mirror. */
async function mirroredNode (storage: StorageFactory, init: WarehouseMirrorInit): Promise<{ node: KilnNode, mirror: WarehouseMirror }> {
  const factory = warehouseMirror({ minRetryMs: 10, maxRetryMs: 200, ...init })
  let mirror: WarehouseMirror | undefined
  const node = await createNode({ doctypes: [tile()], storage, durability: 'relaxed', observers: [(components) => (mirror = factory(components))] })
  return { node, mirror: mirror! }
}

async function writeTiles (node: KilnNode, count: number, label: string): Promise<DocID[]> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => (await node.createDocument('tile', (await makeGenesis({ label, i }, {}, alice)).commit)).id))
}

// Skipped only without a PostgreSQL server (KILN_TEST_DATABASE_URL unset and no binaries to start one; CI starts one):
// the reason is in the suite's title.
describe.skipIf(postgres.skip)(`the warehouse mirror${postgres.reason}`, () => {
  let database: TestDatabase
  let proxy: TcpProxy
  let viaProxy: string
  let client: pg.Client

  beforeAll(async () => {
    database = await createTestDatabase(postgres.url)
    const url = new URL(database.url)
    proxy = await tcpProxy(url.hostname, Number(url.port))
    url.port = String(proxy.port)
    viaProxy = url.toString()
    client = new pg.Client({ connectionString: database.url })
    await client.connect()
  })

  afterAll(async () => {
    await client?.end()
    await proxy?.close()
    await database?.drop()
    await postgres.stop()
  })

  beforeEach(async () => {
    proxy.restore()
    await client.query('DROP SCHEMA IF EXISTS kiln_warehouse CASCADE')
  })

  /** The warehouse's tip of each document it has. */
  async function warehouseTips (): Promise<Map<string, string>> {
    const { rows } = await client.query<{ doc_id: string, tip: string }>('SELECT doc_id, tip FROM kiln_warehouse.documents')
    return new Map(rows.map((r) => [r.doc_id, r.tip]))
  }

  async function nodeTips (node: KilnNode, ids: readonly DocID[]): Promise<Map<string, string>> {
    const tips = new Map<string, string>()
    for (const id of ids) { const { state } = await node.load(id); tips.set(id.toString(), state.log.at(-1)!.cid.toString()) }
    return tips
  }

  describe('on a node', () => {
    let node: KilnNode | undefined
    afterEach(async () => { await node?.stop(); node = undefined })

    it('keeps writing while the warehouse is down, and catches up when it returns', async () => {
      proxy.cut()
      const running = await mirroredNode(memoryStorage(), { connectionString: viaProxy })
      node = running.node
      const ids = await writeTiles(node, 30, 'down')
      const doc = await node.load(ids[0]!)
      await node.applyCommit(ids[0]!, (await makeUpdate(doc.state, { label: 'down', i: 0, again: true }, alice)).commit)
      // Every write was acknowledged with the warehouse unreachable: the mirror only failed, and waits to retry.
      await vi.waitFor(() => { expect(running.mirror.status().lastError).toBeDefined() })
      expect(running.mirror.status().mirrored).toBe(0)
      proxy.restore()
      await running.mirror.caughtUp()
      expect(running.mirror.status()).toMatchObject({ pending: 0, rescan: false })
      expect(running.mirror.status().mirrored).toBeGreaterThanOrEqual(30)
      expect(await warehouseTips()).toEqual(await nodeTips(node, ids))
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM kiln_warehouse.log_entries WHERE doc_id = $1', [ids[0]!.toString()])
      expect(rows[0]!.n).toBe(2)
    })

    it('forgets documents past maxPending while the warehouse is down, and finds them by a rescan when it returns', async () => {
      proxy.cut()
      const running = await mirroredNode(memoryStorage(), { connectionString: viaProxy, maxPending: 3 })
      node = running.node
      const ids = await writeTiles(node, 12, 'overflow')
      expect(running.mirror.status().pending).toBeLessThanOrEqual(3)
      expect(running.mirror.status().rescan).toBe(true)
      proxy.restore()
      await running.mirror.caughtUp()
      expect(await warehouseTips()).toEqual(await nodeTips(node, ids))
    })

    it('copies a document again after a change, and an unchanged warehouse row is left as it is', async () => {
      const running = await mirroredNode(memoryStorage(), { connectionString: database.url })
      node = running.node
      const ids = await writeTiles(node, 5, 'changes')
      await running.mirror.caughtUp()
      const doc = await node.load(ids[2]!)
      await node.applyCommit(ids[2]!, (await makeUpdate(doc.state, { label: 'changed' }, alice)).commit)
      await running.mirror.caughtUp()
      expect(await warehouseTips()).toEqual(await nodeTips(node, ids))
      const { rows } = await client.query<{ content: unknown }>('SELECT content FROM kiln_warehouse.documents WHERE doc_id = $1', [ids[2]!.toString()])
      expect(rows[0]!.content).toEqual({ label: 'changed' })
    })
  })

  it('resumes after a restart: what was written while it could not copy is copied when the node starts again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-mirror-'))
    try {
      const first = await mirroredNode(levelStorage({ path: dir }), { connectionString: viaProxy })
      const early = await writeTiles(first.node, 10, 'early')
      await first.mirror.caughtUp()
      proxy.cut()
      const late = await writeTiles(first.node, 10, 'late')
      await vi.waitFor(() => { expect(first.mirror.status().lastError).toBeDefined() })
      const waiting = first.mirror.caughtUp().then(() => undefined, (err: unknown) => err as Error)
      await first.node.stop()
      expect((await waiting)?.name).toBe('NodeStoppedError')
      expect((await warehouseTips()).size).toBe(10)

      proxy.restore()
      const second = await mirroredNode(levelStorage({ path: dir }), { connectionString: viaProxy })
      try {
        await second.mirror.caughtUp()
        expect(await warehouseTips()).toEqual(await nodeTips(second.node, [...early, ...late]))
      } finally {
        await second.node.stop()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
