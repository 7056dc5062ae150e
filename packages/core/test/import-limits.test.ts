import { encodeCar, encodeRecord } from '@kiln/codec'
import { createNode, EXPORT_FORMAT, MAX_IMPORT_BLOCKS, MAX_IMPORT_BYTES, type KilnNode } from '@kiln/core'
import type { Block } from '@kiln/interface'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { observedStorage, type ObservedStorage } from './fixtures/observed-storage.js'
import { register } from './fixtures/register.js'

describe('importDocument bounds the work one export may cause', () => {
  let node: KilnNode
  let observed: ObservedStorage

  beforeEach(async () => {
    observed = observedStorage()
    node = await createNode({ doctypes: [register()], storage: observed.factory })
  })
  afterEach(async () => { await node.stop() })

  /** Imports `car` and returns the error, after checking that nothing was written. */
  async function refusal (car: Uint8Array): Promise<Error & { details: Record<string, unknown> }> {
    const before = observed.storage.writeStats()
    const err = await node.importDocument(car).then(() => undefined, (e: unknown) => e)
    expect(observed.storage.writeStats()).toEqual(before)
    expect(observed.commits).toEqual([])
    expect(err).toBeInstanceOf(Error)
    return err as Error & { details: Record<string, unknown> }
  }

  it('refuses a CAR of more than 10 000 blocks with LimitExceededError, writing nothing', async () => {
    const filler: Block[] = await Promise.all(Array.from({ length: MAX_IMPORT_BLOCKS }, async (_, i) => await encodeRecord({ i })))
    const manifest = await encodeRecord({ format: EXPORT_FORMAT, documents: [{ docId: 'k', type: 0, log: [filler[0]!.cid], anchors: {} }] })
    const err = await refusal(await encodeCar([manifest.cid], [manifest, ...filler]))
    expect(err.name).toBe('LimitExceededError')
    expect(err.message).toBe('The export has 10001 blocks, more than the 10000 an import reads')
    expect(err.details).toEqual({ blocks: 10_001, limit: MAX_IMPORT_BLOCKS })
  })

  it('refuses a manifest listing more than 10 000 commits, however few blocks it has', async () => {
    const one = await encodeRecord({ i: 0 })
    const manifest = await encodeRecord({ format: EXPORT_FORMAT, documents: [{ docId: 'k', type: 0, log: Array.from({ length: MAX_IMPORT_BLOCKS + 1 }, () => one.cid), anchors: {} }] })
    const err = await refusal(await encodeCar([manifest.cid], [manifest, one]))
    expect(err.name).toBe('LimitExceededError')
    expect(err.details).toEqual({ commits: 10_001, limit: MAX_IMPORT_BLOCKS })
  })

  it('refuses a CAR larger than 16 MiB before decoding it', async () => {
    const err = await refusal(new Uint8Array(MAX_IMPORT_BYTES + 1))
    expect(err.name).toBe('LimitExceededError')
    expect(err.details).toEqual({ bytes: MAX_IMPORT_BYTES + 1, limit: MAX_IMPORT_BYTES })
  })
})
