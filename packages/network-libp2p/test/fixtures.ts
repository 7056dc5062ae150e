import { BlockNotFoundError, type Blockstore } from '@kiln/interface'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { libp2pNetwork, type Libp2pNetwork, type Libp2pNetworkInit } from '../src/index.js'

/** A Map blockstore: what a node's storage gives its network. */
export function mapBlockstore (): Blockstore & { size: () => number } {
  const blocks = new Map<string, Uint8Array>()
  return {
    async get (cid) {
      const bytes = blocks.get(cid.toString())
      if (bytes === undefined) throw new BlockNotFoundError(`No block ${cid.toString()}`)
      return bytes
    },
    async put (cid, bytes) { blocks.set(cid.toString(), bytes) },
    async has (cid) { return blocks.has(cid.toString()) },
    size: () => blocks.size
  }
}

/** A dag-cbor block of `value`. */
export async function blockOf (value: unknown): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = dagCbor.encode(value)
  return { cid: CID.create(1, dagCbor.code, await sha256.digest(bytes)), bytes }
}

/** Every address a test node tried to dial; a dial anywhere but loopback is refused and recorded. */
export const dialed: string[] = []
export const loopbackOnly = (address: string): boolean => {
  dialed.push(address)
  return /^\/ip4\/127\.|^\/ip6\/::1\//.test(address)
}

export interface TestNode { network: Libp2pNetwork, blocks: ReturnType<typeof mapBlockstore>, tips: Map<string, CID> }

/** A started network on 127.0.0.1 with a Map blockstore and a tip table for `tipOf`. */
export async function startNode (init: Libp2pNetworkInit = {}): Promise<TestNode> {
  const blocks = mapBlockstore()
  const tips = new Map<string, CID>()
  const network = libp2pNetwork({ listen: ['/ip4/127.0.0.1/tcp/0'], keepaliveMs: 0, dialFilter: loopbackOnly, network: 'test', ...init })({
    blocks,
    tipOf: async (docId) => tips.get(docId)
  })
  await network.start()
  return { network, blocks, tips }
}
