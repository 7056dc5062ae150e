import { afterAll, beforeAll, describe } from 'vitest'
import type { Storage } from '@kiln/interface'
import { storeTests } from '@kiln/interface-tests/store'
import { createTestDatabase, testPostgres, type TestDatabase } from '@kiln/storage-postgres/testing'
import { emptyKilnTables, openStorage } from './fixtures/database.js'

const server = await testPostgres()

describe.skipIf(server.skip)(`postgresStorage${server.reason}`, () => {
  let database: TestDatabase

  beforeAll(async () => {
    database = await createTestDatabase(server.url)
    // Creates the schema once; each test then starts on empty tables (DELETE, cheaper than TRUNCATE on tiny tables).
    const storage = await openStorage(database.url)
    await storage.stop?.()
  })

  afterAll(async () => {
    await database?.drop()
    await server.stop()
  })

  storeTests({
    setup: async () => {
      await emptyKilnTables(database.url)
      return await openStorage(database.url)
    },
    reopen: async (storage: Storage) => {
      await storage.stop?.()
      return await openStorage(database.url)
    },
    teardown: async (storage: Storage) => {
      await storage.stop?.()
    }
  })
})
