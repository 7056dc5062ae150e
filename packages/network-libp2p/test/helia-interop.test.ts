import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createHeliaLight } from 'helia'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterEach, describe, expect, it } from 'vitest'
import { heliaCid } from '../src/blocks.js'
import { blockOf, startNode, type TestNode } from './fixtures.js'

// An IPFS node that knows nothing of Kiln — helia with bitswap, over TCP, noise and yamux — fetches a Kiln record by
// its CID from a Kiln node, as any IPFS implementation would.

const stops: Array<() => Promise<void>> = []
afterEach(async () => { for (const stop of stops.splice(0)) await stop() })

describe('a plain helia node', () => {
  it('dials a Kiln node and fetches a commit block by CID over bitswap; the bytes hash to the CID', async () => {
    const kiln: TestNode = await startNode()
    stops.push(async () => { await kiln.network.stop() })
    const record = await blockOf({ id: 'genesis', prev: null, header: { controllers: ['did:key:z6Mk…'] }, data: { hello: 'ipfs' } })
    await kiln.blocks.put(record.cid, record.bytes)

    const helia = withBitswap(withLibp2pLight(createHeliaLight(), {
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() }
    }))
    await helia.start()
    stops.push(async () => { await helia.stop() })
    await helia.libp2p.dial(kiln.network.libp2p.getMultiaddrs()[0]!)

    const chunks: Uint8Array[] = []
    for await (const chunk of helia.blockstore.get(heliaCid(record.cid), { signal: AbortSignal.timeout(10_000) })) chunks.push(chunk)
    const bytes = new Uint8Array(Buffer.concat(chunks))
    expect(bytes).toEqual(record.bytes)
    expect((await sha256.digest(bytes)).digest).toEqual(record.cid.multihash.digest)
  })
})
