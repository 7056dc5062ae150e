import { InvalidQueryError, QueryTooBroadError } from '@kiln/interface'
import type { QuerySort, StorageQuery, StorageQueryPage } from '@kiln/interface'
import { checkPageSize, decodeCursor, encodeCursor, type SortPosition } from '@kiln/query'
import { transaction, type Pool } from './connection.js'
import { Params, afterCondition, compileFilter, sortPlan } from './query-sql.js'

/** SQLSTATE query_canceled: the statement timeout fired. */
const QUERY_CANCELED = '57014'

/**
 * Runs one page of a query in a read-only transaction whose statements the server cancels after `timeoutMs`: a query
 * no index narrows cannot hold a connection (or the server) for long; it fails with QueryTooBroadError instead.
 */
export async function runQuery (pool: Pool, query: StorageQuery, timeoutMs: number): Promise<StorageQueryPage> {
  if (query === null || typeof query !== 'object') throw new InvalidQueryError('Invalid query: it is not an object', { details: { field: 'query' } })
  checkPageSize(query.first)
  const first = query.first
  const params = new Params()
  const where = compileFilter(query.filter, params)
  const plan = sortPlan(query.sort, params)
  const countParams = params.values.slice()
  const conditions = [where]
  if (query.after !== undefined) conditions.push(afterCondition(plan, keysOf(decodeCursor(query.after, query.sort), query.sort), params))
  const keys = plan.keys.map((key, i) => `${key} AS k${i}`).join(', ')
  const order = plan.keys.map((key, i) => `${key} ${plan.directions[i]!}`).join(', ')
  const page = `SELECT ${keys} FROM kiln_documents WHERE ${conditions.join(' AND ')} ORDER BY ${order} LIMIT ${first + 1}`
  try {
    // One round trip opens the transaction and sets its timeout; the statements are not prepared (their text varies).
    return await transaction(pool, `BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`, async (tx) => {
      const rows = (await tx.query(page, params.values)).rows as Row[]
      const hasNextPage = rows.length > first
      const shown = rows.slice(0, first)
      const result: StorageQueryPage = { ids: shown.map((row) => String(row[`k${plan.keys.length - 1}`])), hasNextPage }
      const last = shown.at(-1)
      if (hasNextPage && last !== undefined) result.endCursor = encodeCursor(query.sort, positionOf(last, query.sort, plan.keys.length))
      if (query.count === true) {
        const counted = await tx.query(`SELECT count(*) AS n FROM kiln_documents WHERE ${where}`, countParams)
        result.count = Number(counted.rows[0]?.n ?? 0)
      }
      return result
    })
  } catch (err) {
    if ((err as { code?: unknown }).code === QUERY_CANCELED) {
      throw new QueryTooBroadError(`The query ran longer than ${timeoutMs} ms and was cancelled: narrow the filter (doctype, controller, family, tags, schema, linksTo)`, {
        cause: err, details: { timeoutMs }
      })
    }
    throw err
  }
}

// Cursors are @kiln/query's, the same on every backend: a sort key (number, string or null) and a DocID. The SQL sort
// key is wider (see sortPlan): these convert between the two.

/** The SQL sort key of a cursor's position. */
function keysOf (position: SortPosition, sort: QuerySort): unknown[] {
  const { key, id } = position
  switch (sort.by) {
    case 'created':
    case 'updated':
      return [timeKey(key), id]
    case 'anchored':
      return key === null ? [1, 0, id] : [0, timeKey(key), id]
    case 'content':
      if (typeof key === 'number') return [0, 0, String(key), '', id]
      if (typeof key === 'string') return [0, 1, '0', key, id]
      return [1, 2, '0', '', id]
  }
}

/** Times are whole milliseconds in the table; a cursor's fractional time sorts where its floor does. */
function timeKey (key: number | string | null): number {
  if (typeof key !== 'number') throw new InvalidQueryError('The cursor in "after" holds a key its sort cannot have', { details: { field: 'after' } })
  return Math.floor(key)
}

/** A result row: the sort key's columns k0…k{n-1}. */
type Row = Record<string, unknown>

/** The cursor position of a result row (its columns k0…k{n-1}, the last the DocID). */
function positionOf (row: Row, sort: QuerySort, keys: number): SortPosition {
  const id = String(row[`k${keys - 1}`])
  switch (sort.by) {
    case 'created':
    case 'updated':
      return { key: Number(row.k0), id }
    case 'anchored':
      return { key: Number(row.k0) === 1 ? null : Number(row.k1), id }
    case 'content': {
      const rank = Number(row.k1)
      return { key: rank === 0 ? Number(row.k2) : rank === 1 ? String(row.k3) : null, id }
    }
  }
}
