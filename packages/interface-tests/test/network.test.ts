import { describe } from 'vitest'
import { memoryNetworkHub, networkTestComponents, networkTests, type NetworkTestPeer } from '@kiln/interface-tests/network'

describe('the in-memory network double', () => {
  networkTests({
    setup: async () => {
      const hub = memoryNetworkHub()
      const peer = async (): Promise<NetworkTestPeer> => {
        const components = networkTestComponents()
        const network = hub.network()(components)
        await network.start?.()
        return { network, components }
      }
      return { peers: [await peer(), await peer(), await peer()], queryTimeoutMs: 200 }
    }
  })
})
