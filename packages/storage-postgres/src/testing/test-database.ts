import { randomBytes } from 'node:crypto'
import { StorageError } from '@kiln/interface'
import pg from 'pg'
import { describeError, serverOf } from '../server-errors.js'
import { findPostgresBinaries, startPostgresServer, type PostgresServer } from './server.js'

/** A database made for one test suite. */
export interface TestDatabase {
  /** Connection string of the new database. */
  readonly url: string
  /** Drops the database, cutting any connection still open to it. */
  drop(): Promise<void>
}

/** The PostgreSQL server tests run against, or why there is none. */
export type TestPostgres =
  | { url: string, skip: false, reason: '', stop(): Promise<void> }
  | { url: undefined, skip: true, reason: string, stop(): Promise<void> }

/**
 * The server for this test process: `KILN_TEST_DATABASE_URL` when set; otherwise a private server started from the
 * PostgreSQL binaries found here (stop it with `stop()`); otherwise `skip` with a reason naming what is missing.
 */
export async function testPostgres (): Promise<TestPostgres> {
  const url = process.env.KILN_TEST_DATABASE_URL
  if (url !== undefined && url !== '') return { url, skip: false, reason: '', stop: async () => {} }
  const binDir = await findPostgresBinaries()
  if (binDir === undefined) {
    return {
      url: undefined,
      skip: true,
      reason: ' (skipped: KILN_TEST_DATABASE_URL is not set and no PostgreSQL server binaries (initdb, pg_ctl) were found; see docs/postgres.md)',
      stop: async () => {}
    }
  }
  const server: PostgresServer = await startPostgresServer({ binDir, fsync: false })
  return { url: server.url, skip: false, reason: '', stop: async () => { await server.destroy() } }
}

/**
 * Creates a database with a unique name on the server of `serverUrl` (default `KILN_TEST_DATABASE_URL`), for one
 * test suite to use and drop.
 */
export async function createTestDatabase (serverUrl: string | undefined = process.env.KILN_TEST_DATABASE_URL): Promise<TestDatabase> {
  if (serverUrl === undefined || serverUrl === '') throw new StorageError('createTestDatabase needs a server: pass its URL or set KILN_TEST_DATABASE_URL')
  const name = `kiln_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000 })
  try {
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
  } catch (err) {
    throw new StorageError(`Cannot create a test database on ${serverOf(new URL(serverUrl))}: ${describeError(err)} (is KILN_TEST_DATABASE_URL a server the tests may create databases on?)`, { cause: err })
  } finally {
    await admin.end().catch(() => {})
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const sql = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000 })
      try {
        await sql.connect()
        await sql.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await sql.end().catch(() => {})
      }
    }
  }
}
