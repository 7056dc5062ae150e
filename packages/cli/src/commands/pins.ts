import { parseArgs } from 'node:util'
import { UsageError } from '../errors.js'
import { printJSON, withProgress } from '../output.js'
import { clientOf, clientOptions, signerOf } from './client-options.js'
import type { Command } from './command.js'

/** `kiln pin add|rm|ls`: the node's pins, as one of its admin DIDs. */
export const pin: Command = {
  summary: "manage the node's pins (needs the seed of one of the node's admin DIDs)",
  usage: 'kiln pin add <docid> | kiln pin rm <docid> | kiln pin ls   [--seed <admin seed hex>] [--url …] [--json]',
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: clientOptions, allowPositionals: true, strict: true })
    const [action, id, extra] = positionals
    if (extra !== undefined || (action === 'ls' ? id !== undefined : (action !== 'add' && action !== 'rm') || id === undefined)) {
      throw new UsageError('usage: kiln pin add <docid> | kiln pin rm <docid> | kiln pin ls')
    }
    const client = clientOf(values, io, signerOf(values, io))
    if (action === 'ls') {
      const pins = await withProgress(io, 'listing pins', async () => await client.listPins())
      if (values.json === true) printJSON(io, { pinnedStreamIds: pins.map(String) })
      else for (const p of pins) io.out.write(`${p.toString()}\n`)
      return 0
    }
    if (action === 'add') await withProgress(io, 'pinning', async () => { await client.pin(id!) })
    else await withProgress(io, 'unpinning', async () => { await client.unpin(id!) })
    if (values.json === true) printJSON(io, { streamId: id, isPinned: action === 'add' })
    else io.out.write(`${action === 'add' ? 'pinned' : 'unpinned'} ${id!}\n`)
    return 0
  }
}
