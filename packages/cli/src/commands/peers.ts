import { parseArgs } from 'node:util'
import type { PeerSyncState } from '@kiln/interface'
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
      const sync = peer.sync === undefined ? '' : `  sync: ${describeSync(peer.sync)}`
      io.out.write(`${peer.peerId}  ${peer.addresses.join(' ')}${sync}\n`)
    }
    return 0
  }
}

/** Where catch-up sync stands with a peer, in words: `in-sync (last: 3 received)`, `syncing (120 of 500 received, 100 applied)`… */
export function describeSync (sync: PeerSyncState): string {
  const count = (n: number): string => n.toLocaleString('en-US')
  if (sync.state === 'syncing' && sync.progress !== undefined) {
    const { wanted, received, applied } = sync.progress
    return `syncing (${count(received)} of ${count(wanted)} commits received, ${count(applied)} applied)`
  }
  if (sync.state === 'backing-off') return `backing off (${sync.failures} failed in a row)`
  if (sync.state === 'in-sync' && sync.last !== undefined) return `in sync (the last session found ${count(sync.last.missing)} missing here, ${count(sync.last.peerMissing)} there)`
  return sync.state
}
