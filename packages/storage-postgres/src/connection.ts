import pg from 'pg'
import type { Logger } from '@kiln/interface'

/** A pool of node-postgres clients: the storage's own, or one the caller made. */
export type Pool = pg.Pool

/** A client checked out of the pool: the one a transaction runs on. */
export type Client = pg.PoolClient

/** What a statement needs: a pool (any connection) or the client of a transaction. */
export interface Queryable {
  query: pg.Pool['query']
}

/** Limits of a pool the storage makes itself. */
export interface PoolLimits {
  connectionString: string
  max: number
  connectTimeoutSeconds: number
  idleTimeoutSeconds: number
}

/**
 * A pool with limits: at most `max` connections, an operation waits `connectTimeoutSeconds` for one, idle ones close.
 * An idle connection the server drops emits `'error'` on the pool; without a listener that would end the process, so
 * it is logged, and the pool replaces the connection on the next operation.
 */
export function createPool (limits: PoolLimits, logger: Logger | undefined): Pool {
  const pool = new pg.Pool({
    connectionString: limits.connectionString,
    max: limits.max,
    connectionTimeoutMillis: limits.connectTimeoutSeconds * 1000,
    idleTimeoutMillis: limits.idleTimeoutSeconds * 1000,
    application_name: 'kiln'
  })
  watchIdleErrors(pool, logger)
  return pool
}

/** Logs the errors of idle connections of `pool` instead of letting them end the process. */
export function watchIdleErrors (pool: Pool, logger: Logger | undefined): () => void {
  const onError = (err: Error): void => { logger?.warn({ err: err.message }, 'postgres: an idle connection failed; it will be replaced') }
  pool.on('error', onError)
  return () => { pool.off('error', onError) }
}

/** A statement prepared once per connection under `name` (node-postgres keeps the prepared statements per client). */
export interface Statement {
  name: string
  text: string
}

/** Runs a prepared statement with `values`. */
export async function run (db: Queryable, statement: Statement, values: unknown[]): Promise<pg.QueryResult> {
  return await db.query({ name: statement.name, text: statement.text, values })
}

/**
 * Runs `fn` in a transaction on one client: `begin` (e.g. `BEGIN READ ONLY; SET LOCAL …`, sent as one round trip),
 * then `fn`, then COMMIT; ROLLBACK on any failure. A client that failed is destroyed rather than reused. While it is
 * checked out, an error the connection raises between statements is kept, not thrown at the process.
 */
export async function transaction<T> (pool: Pool, begin: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  let failed: unknown
  const onError = (err: Error): void => { failed ??= err }
  client.on('error', onError)
  try {
    await client.query(begin)
    const result = await fn(client)
    if (failed !== undefined) throw failed
    await client.query('COMMIT')
    return result
  } catch (err) {
    failed ??= err
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.off('error', onError)
    // A truthy argument destroys the client: a connection that failed is not handed out again.
    client.release(failed === undefined ? undefined : true)
  }
}
