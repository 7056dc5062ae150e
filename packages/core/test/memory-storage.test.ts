import { describe, it, expect } from 'vitest'
import { CID } from 'multiformats/cid'
import { encodeRecord } from '@kiln/codec'
import { storeTests } from '@kiln/interface-tests/store'
import { queryTests } from '@kiln/interface-tests/query'
import { memoryStorage } from '@kiln/core'

describe('memoryStorage', () => {
  storeTests({
    setup: async () => {
      const storage = memoryStorage()({})
      await storage.start?.()
      return storage
    },
    teardown: async (storage) => { await storage.stop?.() }
  })

  queryTests({
    setup: async () => {
      const storage = memoryStorage()({})
      await storage.start?.()
      return storage
    },
    teardown: async (storage) => { await storage.stop?.() }
  })

  it('keeps a CID of another codec with the same multihash as a different block', async () => {
    const storage = memoryStorage()({})
    const block = await encodeRecord({ codec: 'dag-cbor' })
    await storage.blocks.put(block.cid, block.bytes)
    expect(await storage.blocks.has(CID.createV1(0x55, block.cid.multihash))).toBe(false)
  })

  it('gives every factory call its own empty store', async () => {
    const factory = memoryStorage()
    await factory({}).pin('kdoc')
    expect(await factory({}).isPinned('kdoc')).toBe(false)
  })
})
