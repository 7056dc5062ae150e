import { afterAll, beforeAll, describe } from 'vitest'
import type pg from 'pg'
import type { Storage } from '@kiln/interface'
import { storeTests } from '@kiln/interface-tests/store'
import { createTestDatabase, testPostgres, type TestDatabase } from '@kiln/storage-postgres/testing'
import { emptyKilnTables, openStorage, storageOn, testPool } from './fixtures/database.js'

const server = await testPostgres()

// Skipped only without a PostgreSQL server (KILN_TEST_DATABASE_URL unset and no binaries to start one; CI starts one):
// the reason is in the suite's title.
describe.skipIf(server.skip)(`postgresStorage${server.reason}`, () => {
  let database: TestDatabase
  let pool: pg.Pool

  beforeAll(async () => {
    database = await createTestDatabase(server.url)
    // The first start creates the schema; each test then starts on empty tables, on a pool the suite shares.
    await (await openStorage(database.url)).stop?.()
    pool = testPool(database.url)
  })

  afterAll(async () => {
    await pool?.end()
    await database?.drop()
    await server.stop()
  })

  storeTests({
    setup: async () => {
      await emptyKilnTables(pool)
      return await storageOn(pool)
    },
    reopen: async (storage: Storage) => {
      await storage.stop?.()
      return await storageOn(pool)
    },
    teardown: async (storage: Storage) => {
      await storage.stop?.()
    }
  })
})
