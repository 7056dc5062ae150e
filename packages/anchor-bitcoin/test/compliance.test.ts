import { describe } from 'vitest'
import { anchorTests } from '@kiln/interface-tests/anchor'
import { regtestPlugin } from './fixtures/bitcoin.js'

describe('Bitcoin anchors on an in-process regtest miner, batched when triggered', () => {
  anchorTests({
    setup: () => {
      // An hour-long interval: only trigger() anchors, so several requests surely share a transaction.
      const { plugin } = regtestPlugin()
      return { plugin, trigger: async () => { await plugin.service.anchorPending() } }
    }
  })
})

describe('Bitcoin anchors on an in-process regtest miner, P2PKH, batched every 20 ms on their own', () => {
  anchorTests({ setup: () => ({ plugin: regtestPlugin({ intervalMs: 20, addressType: 'p2pkh' }).plugin }) })
})
