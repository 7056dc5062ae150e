import { describe } from 'vitest'
import { anchorTests } from '@kiln/interface-tests/anchor'
import { mockAnchor } from '@kiln/anchor-mock'

describe('a mock chain that batches when triggered', () => {
  anchorTests({
    setup: () => {
      // An hour-long interval: only trigger() mines, so several requests surely share a batch.
      const plugin = mockAnchor({ intervalMs: 3_600_000 })({})
      return { plugin, trigger: async () => { await plugin.service.anchorPending() } }
    }
  })
})

describe('a mock chain that batches every 20 ms on its own', () => {
  anchorTests({ setup: () => ({ plugin: mockAnchor({ intervalMs: 20 })({}) }) })
})

describe('a mock chain that anchors each request at once', () => {
  anchorTests({ setup: () => ({ plugin: mockAnchor({ anchorOnRequest: true })({}) }) })
})
