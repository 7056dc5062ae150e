/**
 * Test helpers for code that needs a PostgreSQL server: a fresh database per test suite on the server named by
 * `KILN_TEST_DATABASE_URL`, or a private server started from the PostgreSQL binaries found on this machine.
 * Not for production use.
 * @packageDocumentation
 */
export { createTestDatabase, testPostgres, type TestDatabase, type TestPostgres } from './test-database.js'
export { startPostgresServer, findPostgresBinaries, type PostgresServer, type StartPostgresServerOptions } from './server.js'
