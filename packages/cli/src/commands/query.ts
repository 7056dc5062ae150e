import { parseArgs } from 'node:util'
import type { DocID } from '@kiln/docid'
import type { DocSnapshot, QueryFilterInput, QueryInput, QueryResult } from '@kiln/interface'
import { UsageError } from '../errors.js'
import { printJSON, withProgress, type CliIO } from '../output.js'
import { clientOf, clientOptions } from './client-options.js'
import type { Command } from './command.js'

const QUERY_USAGE = 'kiln query [<query JSON>] [--doctype <name>] [--controller <did>] [--family <f>] [--tag <t>]… [--any-tag <t>]… ' +
  '[--schema <id>] [--links-to <id>] [--where </path>=<JSON or text>]… [--sort created|updated|anchored|</path>] [--desc] ' +
  '[--first <n>] [--after <cursor>] [--count] [--all] [--url …] [--json]'

const queryOptions = {
  ...clientOptions,
  doctype: { type: 'string' },
  controller: { type: 'string' },
  family: { type: 'string' },
  tag: { type: 'string', multiple: true },
  'any-tag': { type: 'string', multiple: true },
  schema: { type: 'string' },
  'links-to': { type: 'string' },
  where: { type: 'string', multiple: true },
  sort: { type: 'string' },
  desc: { type: 'boolean' },
  first: { type: 'string' },
  after: { type: 'string' },
  count: { type: 'boolean' },
  all: { type: 'boolean' }
} as const

/** `kiln query`: the documents the node stores that match a query (docs/queries.md), page by page. */
export const queryCommand: Command = {
  summary: 'find the documents the node stores by metadata, content, links and time',
  usage: QUERY_USAGE,
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: queryOptions, allowPositionals: true, strict: true })
    if (positionals.length > 1) throw new UsageError(`usage: ${QUERY_USAGE}`)
    const query = queryFromArgs(positionals[0], values)
    const client = clientOf(values, io)
    // --all follows the cursors to the end; otherwise one page, and the cursor of the next is printed.
    let page = await withProgress(io, 'querying', async () => await client.query(query))
    const pages = [page]
    while (values.all === true && page.pageInfo.hasNextPage) {
      const next: QueryInput = { ...query, after: page.pageInfo.endCursor }
      delete next.count
      page = await withProgress(io, 'querying', async () => await client.query(next))
      pages.push(page)
    }
    printPages(io, pages, values.json === true)
    return 0
  }
}

/** `kiln backlinks <id>`: the documents the node stores that link to a document. */
export const backlinksCommand: Command = {
  summary: 'list the documents the node stores whose content links to a document',
  usage: 'kiln backlinks <docid> [--first <n>] [--after <cursor>] [--all] [--url …] [--json]',
  async run (args, io) {
    const options = { ...clientOptions, first: { type: 'string' }, after: { type: 'string' }, all: { type: 'boolean' } } as const
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true })
    const [id, extra] = positionals
    if (id === undefined || extra !== undefined) throw new UsageError('usage: kiln backlinks <docid> [--first <n>] [--after <cursor>] [--all]')
    const client = clientOf(values, io)
    const first = values.first === undefined ? undefined : pageSize(values.first)
    let page = await withProgress(io, 'finding backlinks', async () => await client.backlinks(id, { first, after: values.after }))
    const pages = [page]
    while (values.all === true && page.pageInfo.hasNextPage) {
      const after = page.pageInfo.endCursor
      page = await withProgress(io, 'finding backlinks', async () => await client.backlinks(id, { first, after }))
      pages.push(page)
    }
    printPages(io, pages, values.json === true)
    return 0
  }
}

type QueryValues = {
  doctype?: string
  controller?: string
  family?: string
  tag?: string[]
  'any-tag'?: string[]
  schema?: string
  'links-to'?: string
  where?: string[]
  sort?: string
  desc?: boolean
  first?: string
  after?: string
  count?: boolean
}

/** The query of the positional JSON and the flags: the flags' filters are and-ed with the JSON's. */
export function queryFromArgs (json: string | undefined, values: QueryValues): QueryInput {
  let query: QueryInput = {}
  if (json !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(json)
    } catch (err) {
      throw new UsageError(`the query is not JSON: ${(err as Error).message}`)
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('the query must be a JSON object, like {"filter": {"family": "notes"}}')
    query = parsed as QueryInput
  }
  const filters: QueryFilterInput[] = query.filter === undefined ? [] : [query.filter]
  if (values.doctype !== undefined) filters.push({ doctype: /^[0-9]+$/.test(values.doctype) ? Number(values.doctype) : values.doctype })
  if (values.controller !== undefined) filters.push({ controller: values.controller })
  if (values.family !== undefined) filters.push({ family: values.family })
  if (values.tag !== undefined) filters.push({ tags: { all: values.tag } })
  if (values['any-tag'] !== undefined) filters.push({ tags: { any: values['any-tag'] } })
  if (values.schema !== undefined) filters.push({ schema: values.schema })
  if (values['links-to'] !== undefined) filters.push({ linksTo: values['links-to'] })
  for (const where of values.where ?? []) filters.push({ content: whereOf(where) })
  if (filters.length === 1) query.filter = filters[0]
  else if (filters.length > 1) query.filter = { and: filters }
  if (values.sort !== undefined) {
    const order = values.desc === true ? 'desc' : 'asc'
    if (values.sort.startsWith('/')) query.sort = { by: 'content', path: values.sort, order }
    else if (values.sort === 'created' || values.sort === 'updated' || values.sort === 'anchored') query.sort = { by: values.sort, order }
    else throw new UsageError(`--sort takes created, updated, anchored or a content path like /title, got ${values.sort}`)
  } else if (values.desc === true) {
    query.sort = { ...(query.sort ?? { by: 'created' }), order: 'desc' }
  }
  if (values.first !== undefined) query.first = pageSize(values.first)
  if (values.after !== undefined) query.after = values.after
  if (values.count === true) query.count = true
  return query
}

/** `--where /path=value`: equality with the value as JSON when it parses, else as text. */
function whereOf (where: string): { path: string, equalTo: unknown } {
  const at = where.indexOf('=')
  if (!where.startsWith('/') || at < 0) throw new UsageError(`--where takes </json/pointer>=<value>, like /status=done, got ${where}`)
  const text = where.slice(at + 1)
  return { path: where.slice(0, at), equalTo: jsonOrText(text) }
}

/** The text as a JSON value when it parses as one (`3`, `true`, `"x"`), else the text itself (`done`). */
function jsonOrText (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function pageSize (text: string): number {
  if (!/^[0-9]{1,6}$/.test(text)) throw new UsageError(`--first takes a page size, a whole number, got ${text}`)
  return Number(text)
}

/** Pages for people (one line per document, then the count and the next cursor) or as JSON. */
function printPages (io: CliIO, pages: Array<QueryResult<DocSnapshot<DocID>>>, json: boolean): void {
  const items = pages.flatMap((page) => page.items)
  const last = pages[pages.length - 1]!
  const count = pages[0]!.count
  if (json) {
    const out: Record<string, unknown> = {
      items: items.map(({ id, state }) => ({ streamId: id.toString(), content: state.content, metadata: state.metadata })),
      pageInfo: last.pageInfo
    }
    if (count !== undefined) out.count = count
    printJSON(io, out)
    return
  }
  for (const { id, state } of items) io.out.write(`${id.toString()}  ${clip(JSON.stringify(state.content) ?? 'null', 100)}\n`)
  if (count !== undefined) io.out.write(`count: ${count}\n`)
  if (last.pageInfo.hasNextPage && last.pageInfo.endCursor !== undefined) io.out.write(`next page: --after ${last.pageInfo.endCursor}\n`)
}

function clip (text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}
