import { networkTestComponents, networkTests, type NetworkTestPeer } from '@kiln/interface-tests/network'
import { expect, vi } from 'vitest'
import { libp2pNetwork, type Libp2pNetwork } from '../src/index.js'
import { loopbackOnly } from './fixtures.js'

const TOPIC = '/ceramic/compliance'

/** A started libp2p network on 127.0.0.1 over the suite's components. */
async function peer (): Promise<NetworkTestPeer & { network: Libp2pNetwork }> {
  const components = networkTestComponents()
  const network = libp2pNetwork({ listen: ['/ip4/127.0.0.1/tcp/0'], network: 'compliance', keepaliveMs: 0, dialFilter: loopbackOnly })(components)
  await network.start()
  return { network, components }
}

networkTests({
  async setup () {
    const peers = [await peer(), await peer(), await peer()] as const
    // Every pair connected, and every peer seen on the topic by every other: an announcement then reaches them all.
    for (const [i, from] of peers.entries()) {
      for (const to of peers.slice(i + 1)) await from.network.libp2p.dial(to.network.libp2p.getMultiaddrs()[0]!)
    }
    await vi.waitFor(() => {
      for (const p of peers) expect(p.network.libp2p.services.pubsub.getSubscribers(TOPIC)).toHaveLength(2)
    }, { timeout: 10_000, interval: 20 })
    return { peers: [...peers], queryTimeoutMs: 500 }
  }
})
