import { afterAll, describe, expect, it } from 'vitest'
import { testPool } from './fixtures/database.js'
import { SCHEMA_VERSION, postgresStorage } from '@kiln/storage-postgres'
import { createTestDatabase, testPostgres } from '@kiln/storage-postgres/testing'

const server = await testPostgres()

// Skipped only without a PostgreSQL server (KILN_TEST_DATABASE_URL unset and no binaries to start one; CI starts one):
// the reason is in the suite's title.
describe.skipIf(server.skip)(`postgresStorage schema migrations${server.reason}`, () => {
  afterAll(async () => { await server.stop() })

  it('applies each migration once when several storages start on a new database at the same time', async () => {
    const database = await createTestDatabase(server.url)
    const storages = Array.from({ length: 4 }, () => postgresStorage({ connectionString: database.url, maxConnections: 2 })({}))
    const sql = testPool(database.url, 1)
    try {
      await Promise.all(storages.map(async (storage) => await storage.start?.()))
      const { rows } = await sql.query('SELECT version FROM kiln_migrations ORDER BY version')
      expect(rows.map((row) => Number(row.version))).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1))
      // Every storage works on the one schema.
      await Promise.all(storages.map(async (storage, i) => { await storage.pin(`kdoc-${i}`) }))
      expect(await storages[0]!.isPinned('kdoc-3')).toBe(true)
    } finally {
      await Promise.all(storages.map(async (storage) => await storage.stop?.()))
      await sql.end()
      await database.drop()
    }
  })

  it('refuses with StorageError to start on a database of a newer schema, and changes nothing there', async () => {
    const database = await createTestDatabase(server.url)
    const sql = testPool(database.url, 1)
    try {
      const first = postgresStorage({ connectionString: database.url })({})
      await first.start?.()
      await first.pin('kdoc-kept')
      await first.stop?.()
      await sql.query('INSERT INTO kiln_migrations (version, name) VALUES ($1, $2)', [SCHEMA_VERSION + 1, 'from a newer Kiln'])

      const err = await Promise.resolve(postgresStorage({ connectionString: database.url })({}).start?.()).then(() => undefined, (e: unknown) => e as Error)
      expect(err?.name).toBe('StorageError')
      expect(err?.message).toMatch(new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this package's ${SCHEMA_VERSION}`))
      expect((await sql.query('SELECT doc_id FROM kiln_pins')).rows.map((row) => row.doc_id)).toEqual(['kdoc-kept'])
    } finally {
      await sql.end()
      await database.drop()
    }
  })
})
