import { parseArgs } from 'node:util'
import { UsageError } from '../errors.js'
import { printJSON, withProgress } from '../output.js'
import { clientOf, clientOptions } from './client-options.js'
import type { Command } from './command.js'

/** `kiln peers`: the peers the node is connected to, and its own PeerId and addresses. */
export const peers: Command = {
  summary: 'list the peers the node is connected to, with its own PeerId and addresses',
  usage: 'kiln peers [--url …] [--json]',
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: clientOptions, allowPositionals: true, strict: true })
    if (positionals.length > 0) throw new UsageError('usage: kiln peers [--url …] [--json]')
    const node = await withProgress(io, 'asking the node', async () => await clientOf(values, io).node())
    if (values.json === true) {
      printJSON(io, node)
      return 0
    }
    if (node.peerId === null) {
      io.out.write('this node is on no network (start it with --p2p-listen <multiaddr>)\n')
      return 0
    }
    io.out.write(`this node  ${node.peerId} on ${node.topic ?? '?'}\n${node.addresses.map((a) => `  ${a}\n`).join('')}`)
    io.out.write(node.peers.length === 0 ? 'no peers connected\n' : `${node.peers.length} peer${node.peers.length === 1 ? '' : 's'} connected\n`)
    for (const peer of node.peers) {
      const sync = peer.sync === undefined ? '' : `  sync: ${peer.sync.state}${peer.sync.failures > 0 ? ` (${peer.sync.failures} failed)` : ''}`
      io.out.write(`${peer.peerId}  ${peer.addresses.join(' ')}${sync}\n`)
    }
    return 0
  }
}
