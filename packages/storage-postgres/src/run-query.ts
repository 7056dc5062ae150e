import { createHash } from 'node:crypto'
import { InvalidQueryError, QUERY_LIMITS, QueryTooBroadError } from '@kiln/interface'
import type { StorageQuery, StorageQueryPage } from '@kiln/interface'
import type { Sql } from 'postgres'
import { Params, afterCondition, compileFilter, sortPlan, type SortPlan } from './query-sql.js'

const CURSOR_VERSION = 1
/** SQLSTATE query_canceled: the statement timeout fired. */
const QUERY_CANCELED = '57014'

/**
 * Runs one page of a query in a read-only transaction whose statements the server cancels after `timeoutMs`: a query
 * no index narrows cannot hold a connection (or the server) for long; it fails with QueryTooBroadError instead.
 */
export async function runQuery (sql: Sql, query: StorageQuery, timeoutMs: number): Promise<StorageQueryPage> {
  if (query === null || typeof query !== 'object') throw new InvalidQueryError('Invalid query: it is not an object', { details: { field: 'query' } })
  const first = query.first
  if (!Number.isSafeInteger(first) || first < 1 || first > QUERY_LIMITS.maxPageSize) {
    throw new InvalidQueryError(`Invalid query: first must be an integer from 1 to ${QUERY_LIMITS.maxPageSize}, not ${String(first)}`, { details: { field: 'first' } })
  }
  const params = new Params()
  const where = compileFilter(query.filter, params)
  const plan = sortPlan(query.sort, params)
  const fingerprint = fingerprintOf(query)
  const countParams = params.values.slice()
  const conditions = [where]
  if (query.after !== undefined) conditions.push(afterCondition(plan, decodeCursor(query.after, fingerprint, plan), params))
  const keys = plan.keys.map((key, i) => `${key} AS k${i}`).join(', ')
  const order = plan.keys.map((key, i) => `${key} ${plan.directions[i]!}`).join(', ')
  const page = `SELECT ${keys} FROM kiln_documents WHERE ${conditions.join(' AND ')} ORDER BY ${order} LIMIT ${first + 1}`
  try {
    return await sql.begin('read only', async (tx) => {
      await tx.unsafe(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`)
      const rows = await tx.unsafe(page, params.values as never[])
      const hasNextPage = rows.length > first
      const shown = rows.slice(0, first)
      const result: StorageQueryPage = { ids: shown.map((row) => String(row[`k${plan.keys.length - 1}`])), hasNextPage }
      const last = shown.at(-1)
      if (hasNextPage && last !== undefined) result.endCursor = encodeCursor(fingerprint, plan.keys.map((_, i) => last[`k${i}`]))
      if (query.count === true) {
        const [row] = await tx.unsafe(`SELECT count(*) AS n FROM kiln_documents WHERE ${where}`, countParams as never[])
        result.count = Number(row?.n ?? 0)
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

/** A digest of the filter and sort: a cursor is only good for the query that made it. */
function fingerprintOf (query: StorageQuery): string {
  return createHash('sha256').update(JSON.stringify([query.filter ?? null, query.sort])).digest('base64url').slice(0, 16)
}

function encodeCursor (fingerprint: string, key: unknown[]): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, fingerprint, key])).toString('base64url')
}

const NUMERIC = /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i

function decodeCursor (cursor: string, fingerprint: string, plan: SortPlan): unknown[] {
  const bad = (why: string): never => { throw new InvalidQueryError(`Invalid query: the cursor ${why}`, { details: { field: 'after' } }) }
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]*$/.test(cursor)) bad('is not base64url')
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    return bad('is not one this backend made')
  }
  if (!Array.isArray(decoded) || decoded[0] !== CURSOR_VERSION || !Array.isArray(decoded[2])) return bad('is not one this backend made')
  if (decoded[1] !== fingerprint) bad('belongs to a query with another filter or sort')
  const key = decoded[2] as unknown[]
  if (key.length !== plan.keys.length) bad('does not fit the sort')
  for (const [i, type] of plan.types.entries()) {
    const value = key[i]
    const fits = type === 'text' ? typeof value === 'string' : (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && NUMERIC.test(value))
    if (!fits) bad('does not fit the sort')
  }
  return key
}
