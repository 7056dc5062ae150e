import { parseArgs } from 'node:util'
import type { WebhookFilter } from '@kiln/interface'
import { UsageError } from '../errors.js'
import { printJSON, withProgress } from '../output.js'
import { clientOf, clientOptions, signerOf } from './client-options.js'
import type { Command } from './command.js'

const USAGE = 'usage: kiln hooks add --url <url> [--family <f> | --schema <docid> | --doc <docid>] | kiln hooks list | kiln hooks remove <id>'

/** `kiln hooks add|list|remove`: the node's webhooks, as one of its admin DIDs. */
export const hooks: Command = {
  summary: "manage the node's webhooks (needs the seed of one of the node's admin DIDs)",
  usage: 'kiln hooks add --url <url> [--family F | --schema S | --doc D] | kiln hooks list | kiln hooks remove <id>   [--seed <admin seed hex>] [--url …] [--json]',
  async run (args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...clientOptions, 'hook-url': { type: 'string' }, family: { type: 'string' }, schema: { type: 'string' }, doc: { type: 'string' }, node: { type: 'string' } },
      allowPositionals: true,
      strict: true
    })
    const [action, id, extra] = positionals
    if (extra !== undefined) throw new UsageError(USAGE)
    // `--url` is the webhook's URL in `add`; the node is then `--node` (or KILN_URL). Elsewhere `--url` is the node's.
    const nodeValues = action === 'add' ? { ...(values.node === undefined ? {} : { url: values.node }) } : { ...(values.url === undefined ? {} : { url: values.url }) }
    if (action === 'add') {
      const url = values.url ?? values['hook-url']
      if (id !== undefined || url === undefined) throw new UsageError(USAGE)
      const filters = (['family', 'schema', 'doc'] as const).filter((key) => values[key] !== undefined)
      if (filters.length > 1) throw new UsageError('give at most one of --family, --schema, --doc')
      const filter: WebhookFilter = filters.length === 0 ? {} : { [filters[0]!]: values[filters[0]!] }
      const client = clientOf(nodeValues, io, signerOf(values, io))
      const created = await withProgress(io, 'adding the webhook', async () => await client.hooks.add({ url, filter }))
      if (values.json === true) {
        printJSON(io, created)
      } else {
        io.out.write(`added webhook ${created.id} → ${created.url}\n`)
        io.out.write(`secret: ${created.secret}\n(keep it: it is shown only now; the receiver verifies x-kiln-signature with it, see docs/hooks.md)\n`)
      }
      return 0
    }
    if (action === 'list' || action === 'ls') {
      if (id !== undefined) throw new UsageError(USAGE)
      const client = clientOf(nodeValues, io, signerOf(values, io))
      const list = await withProgress(io, 'listing webhooks', async () => await client.hooks.list())
      if (values.json === true) {
        printJSON(io, { hooks: list })
      } else {
        for (const hook of list) {
          const filter = Object.entries(hook.filter).map(([k, v]) => `${k}=${String(v)}`).join(' ') || 'all writes'
          io.out.write(`${hook.id}  ${hook.url}  (${filter})  pending ${hook.pending}, delivered ${hook.delivered}, dead-letter ${hook.deadLetter}${hook.lastError === undefined ? '' : `, last error: ${hook.lastError}`}\n`)
        }
      }
      return 0
    }
    if (action === 'remove' || action === 'rm') {
      if (id === undefined) throw new UsageError(USAGE)
      const client = clientOf(nodeValues, io, signerOf(values, io))
      await withProgress(io, 'removing the webhook', async () => { await client.hooks.remove(id) })
      if (values.json === true) printJSON(io, { id, removed: true })
      else io.out.write(`removed webhook ${id}\n`)
      return 0
    }
    throw new UsageError(USAGE)
  }
}
