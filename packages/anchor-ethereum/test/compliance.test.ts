import { afterAll, beforeAll, describe } from 'vitest'
import { anchorTests } from '@kiln/interface-tests/anchor'
import { deployAnchorContract, ethereumAnchor } from '@kiln/anchor-ethereum'
import { startChain, type LocalChain } from './fixtures/ganache.js'

let chain: LocalChain
let contract: string

beforeAll(async () => {
  chain = await startChain()
  contract = await deployAnchorContract({ rpcUrl: chain.rpcUrl, privateKey: chain.keys[0]! })
})

afterAll(async () => {
  await chain?.close()
})

describe('an Ethereum anchor through the KilnAnchor contract, batching when triggered', () => {
  anchorTests({
    setup: () => {
      // An hour-long interval: only trigger() sends, so several requests surely share a transaction.
      const plugin = ethereumAnchor({ rpcUrl: chain.rpcUrl, chainId: 'eip155:1337', privateKey: chain.keys[1]!, contract, intervalMs: 3_600_000 })({})
      return { plugin, trigger: async () => { await plugin.service.anchorPending() } }
    }
  })
})

describe('an Ethereum anchor as raw transactions, batching every 50 ms on its own', () => {
  anchorTests({
    setup: () => ({ plugin: ethereumAnchor({ rpcUrl: chain.rpcUrl, chainId: 'eip155:1337', privateKey: chain.keys[2]!, intervalMs: 50 })({}) })
  })
})
