import { parseArgs } from 'node:util'
import { UsageError } from '../errors.js'
import { openRestoreNode } from '../node-assembly.js'
import { printJSON, progressLine } from '../output.js'
import { clientOf, clientOptions, signerOf } from './client-options.js'
import type { Command } from './command.js'

/** `kiln backup`: the pinned documents of a running node as an incremental CAR archive. */
export const backupCommand: Command = {
  summary: 'write the pinned documents of a running node to a directory of CAR files, only those changed since the last run (admin)',
  usage: `kiln backup --to <dir> [--seed <admin seed hex>] [--url …] [--json]

  Asks the node at --url (the daemon keeps running) for its pins (an admin route: --seed or KILN_SEED is the seed of
  one of the node's --admin-did), and writes each pinned document's export (its log,
  anchor proofs and the schemas it names) to <dir>/cars/<docid>.<tip>.car. <dir>/manifest.json records the tip each
  CAR holds: the next run writes only the documents whose tip changed, and drops their old CARs. Restore with
  \`kiln restore --from <dir>\`. Shows progress on a terminal.`,
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: { ...clientOptions, to: { type: 'string' } }, allowPositionals: true, strict: true })
    if (values.to === undefined || positionals.length > 0) throw new UsageError('usage: kiln backup --to <dir> [--seed <admin seed hex>] [--url …]')
    const { archiveDocuments } = await import('@kiln/backup')
    const line = progressLine(io, 'backing up')
    let result
    try {
      result = await archiveDocuments(clientOf(values, io, signerOf(values, io)), values.to, { signal: io.signal, onProgress: (p) => { line.update(p.done, p.total) } })
    } finally {
      line.clear()
    }
    if (values.json === true) printJSON(io, { dir: values.to, ...result })
    else io.out.write(`backed up ${result.total} pinned document(s) to ${values.to}: ${result.written} written, ${result.unchanged} unchanged\n`)
    return 0
  }
}

/** `kiln restore`: rebuilds a node's data directory from an archive or a warehouse. */
export const restoreCommand: Command = {
  summary: 'rebuild a node\'s data directory from a CAR archive (kiln backup) or a PostgreSQL warehouse (daemon --backup)',
  usage: `kiln restore --from <dir | postgres://…> [--data-dir ./.kiln] [--schema kiln_warehouse] [--mock-chain-did <did>] [--eth-rpc <url>] [--json]

  Run it with the daemon stopped: it opens the data directory itself. Every commit goes through the node's apply
  pipeline (hashes, signatures, links, schemas, anchor proofs), one document at a time, the schemas a document names
  first. From a warehouse, a row that was tampered with stops the restore with TamperedWarehouseRowError naming its
  table, key and document, of which nothing is imported. Anchors are verified: mock-chain anchors against
  --mock-chain-did (the chain key \`kiln daemon\` printed), or the data directory's mock-chain.key; Ethereum anchors
  against --eth-rpc. Shows progress on a terminal.`,
  async run (args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        from: { type: 'string' }, 'data-dir': { type: 'string' }, schema: { type: 'string' }, 'mock-chain-did': { type: 'string' }, 'eth-rpc': { type: 'string' }, json: { type: 'boolean' }
      },
      allowPositionals: true,
      strict: true
    })
    const from = values.from
    if (from === undefined || positionals.length > 0) throw new UsageError('usage: kiln restore --from <dir | postgres://…> [--data-dir <dir>]')
    const warehouse = /^postgres(ql)?:\/\//.test(from)
    if (!warehouse && values.schema !== undefined) throw new UsageError('--schema names the warehouse schema: it goes with --from postgres://…')
    const { restoreFromArchive, restoreFromWarehouse } = await import('@kiln/backup')
    const dataDir = values['data-dir'] ?? './.kiln'
    const { node, stop } = await openRestoreNode({
      dataDir,
      ...(values['mock-chain-did'] === undefined ? {} : { mockChainDid: values['mock-chain-did'] }),
      ...(values['eth-rpc'] === undefined ? {} : { ethRpc: values['eth-rpc'] })
    })
    const line = progressLine(io, 'restoring')
    const options = { signal: io.signal, onProgress: (p: { done: number, total: number }) => { line.update(p.done, p.total) } }
    let result
    try {
      result = warehouse
        ? await restoreFromWarehouse({ connectionString: from, ...(values.schema === undefined ? {} : { schema: values.schema }) }, node, options)
        : await restoreFromArchive(from, node, options)
    } finally {
      line.clear()
      await stop()
    }
    if (values.json === true) printJSON(io, { from: warehouse ? 'warehouse' : from, dataDir, ...result })
    else io.out.write(`restored ${result.done} document(s) into ${dataDir}\n`)
    return 0
  }
}
