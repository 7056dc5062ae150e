import { describe, it, expect, afterEach, vi } from 'vitest'
import { decodeRecord, encodeRecord, signRecord } from '@kiln/codec'
import { AnchorStatus, type AnchorClaim, type Logger } from '@kiln/interface'
import { keyDidSigner, seedFromHex } from '@kiln/signing'
import { mockAnchor, mockChainVerifier, MOCK_CHAIN_ID, MOCK_TX_TYPE, type MockAnchorPlugin } from '@kiln/anchor-mock'
import { newRequest, openAnchor, recordEvents, settled, statusesOf, storeOf, tipOf } from './fixtures/anchors.js'

const seed = seedFromHex('11'.repeat(32))
const otherSeed = seedFromHex('22'.repeat(32))
const running: MockAnchorPlugin[] = []

/** A plugin that only mines on anchorPending(), stopped after the test. */
function triggered (init: Parameters<typeof mockAnchor>[0] = {}, logger?: Logger): MockAnchorPlugin {
  const plugin = mockAnchor({ intervalMs: 3_600_000, seed, ...init })(logger === undefined ? {} : { logger })
  running.push(plugin)
  return plugin
}

async function rejection (promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, 'expected a rejection').toBeInstanceOf(Error)
  return err as Error
}

async function anchorOne (plugin: MockAnchorPlugin): Promise<Awaited<ReturnType<typeof openAnchor>>> {
  const events = recordEvents(plugin.service)
  const request = await newRequest()
  await plugin.service.requestAnchor(request)
  await plugin.service.anchorPending()
  return await openAnchor(events, request.tip)
}

afterEach(async () => {
  vi.useRealTimers()
  for (const plugin of running.splice(0)) await plugin.service.stop()
})

describe('mockAnchor options', () => {
  it('runs the chain inmemory:12345 in the inmemory namespace by default', async () => {
    const { service, verifier } = triggered()
    expect(service.chainId).toBe(MOCK_CHAIN_ID)
    expect(MOCK_CHAIN_ID).toBe('inmemory:12345')
    expect(verifier.namespace).toBe('inmemory')
  })

  it('puts the chain id it is given in its proofs and transactions', async () => {
    const anchored = await anchorOne(triggered({ chainId: 'inmemory:777' }))
    expect(anchored.claim.proof.chainId).toBe('inmemory:777')
    expect(anchored.tx.chainId).toBe('inmemory:777')
  })

  it('refuses a chain id outside the inmemory namespace, or not CAIP-2, with UnsupportedChainError', () => {
    for (const chainId of ['eip155:1337', 'inmemory', 'inmemory:', 'in memory:1', 'INMEMORY:1']) {
      expect(() => mockAnchor({ chainId }), chainId).toThrow(expect.objectContaining({ name: 'UnsupportedChainError' }))
    }
  })

  it('refuses an interval that is not a positive number of milliseconds', () => {
    for (const intervalMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '1000' as unknown as number]) {
      expect(() => mockAnchor({ intervalMs }), String(intervalMs)).toThrow(expect.objectContaining({ name: 'InvalidMockAnchorOptionError' }))
    }
  })

  it('refuses a seed that is not 32 bytes with InvalidKeyError', () => {
    expect(() => mockAnchor({ seed: new Uint8Array(16) })).toThrow(expect.objectContaining({ name: 'InvalidKeyError' }))
  })

  it('makes the same chain DID from the same seed and a random one without a seed', () => {
    expect(mockAnchor({ seed })({}).service.chainDid).toBe(mockAnchor({ seed })({}).service.chainDid)
    expect(mockAnchor({ seed })({}).service.chainDid).toBe(keyDidSigner({ seed }).did)
    expect(mockAnchor()({}).service.chainDid).not.toBe(mockAnchor()({}).service.chainDid)
  })
})

describe('the mock chain', () => {
  it('answers with the blocks of a real anchor: proof, Merkle path root first, signed transaction and its payload', async () => {
    const plugin = triggered()
    const events = recordEvents(plugin.service)
    const requests = await Promise.all([1, 2, 3].map(async () => await newRequest()))
    for (const request of requests) await plugin.service.requestAnchor(request)
    await plugin.service.anchorPending()
    for (const request of requests) {
      const { record, claim, blocks, tx, txBlocks } = await openAnchor(events, request.tip)
      const steps = record.path.split('/').length
      expect(blocks).toHaveLength(1 + steps + 2)
      expect(blocks[0]!.cid.equals(record.proof)).toBe(true)
      expect(blocks[1]!.cid.equals(claim.proof.root)).toBe(true)
      expect(blocks.at(-2)!.cid.equals(claim.proof.txHash)).toBe(true)
      expect(blocks.at(-1)!.cid.equals(txBlocks.payload.cid)).toBe(true)
      expect(claim.proof.txType).toBe(MOCK_TX_TYPE)
      expect(tx).toEqual({ chainId: MOCK_CHAIN_ID, height: 1, timestamp: expect.any(Number), root: claim.proof.root })
      const root = await decodeRecord<unknown[]>(blocks[1]!.bytes, blocks[1]!.cid)
      expect(root[2]).toEqual({ chainId: MOCK_CHAIN_ID, height: 1, size: 3 })
    }
  })

  it('mines blocks at heights 1, 2, 3, … with timestamps that never go backwards, even when the clock does', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const plugin = triggered()
    const start = new Date('2030-01-01T00:00:00Z').getTime()
    const clock = [start, start + 5_000, start - 3_600_000, start + 10_000, start + 9_000]
    const seen: Array<{ height: number, timestamp: number }> = []
    for (const now of clock) {
      vi.setSystemTime(now)
      const { tx } = await anchorOne(plugin)
      seen.push({ height: tx.height, timestamp: tx.timestamp })
      expect(plugin.service.height).toBe(tx.height)
    }
    expect(seen.map((s) => s.height)).toEqual([1, 2, 3, 4, 5])
    expect(seen.map((s) => s.timestamp)).toEqual([start / 1000, start / 1000 + 5, start / 1000 + 5, start / 1000 + 10, start / 1000 + 10])
  })

  it('gives the timestamp of the transaction back when verifying', async () => {
    const plugin = triggered()
    const { claim, getBlock, tx } = await anchorOne(plugin)
    expect(await plugin.verifier.verify(claim, getBlock)).toEqual({ timestamp: tx.timestamp })
  })

  it('batches the requests of one interval into one block, and later ones into the next', async () => {
    vi.useFakeTimers()
    const plugin = triggered({ intervalMs: 1000 })
    const events = recordEvents(plugin.service)
    plugin.service.start()
    const first = await Promise.all([1, 2, 3].map(async () => await newRequest()))
    for (const request of first) await plugin.service.requestAnchor(request)
    await vi.advanceTimersByTimeAsync(999)
    expect(first.map((r) => statusesOf(events, r.tip))).toEqual(first.map(() => ['PENDING']))
    await vi.advanceTimersByTimeAsync(1)
    await vi.waitFor(() => { expect(settled(events, first.map((r) => r.tip))).toBe(true) })
    const anchored = await Promise.all(first.map(async (r) => await openAnchor(events, r.tip)))
    expect(new Set(anchored.map((a) => a.claim.proof.root.toString())).size).toBe(1)
    expect(anchored.map((a) => a.tx.height)).toEqual([1, 1, 1])

    const later = await newRequest()
    await plugin.service.requestAnchor(later)
    await vi.advanceTimersByTimeAsync(1000)
    await vi.waitFor(() => { expect(settled(events, [later.tip])).toBe(true) })
    expect((await openAnchor(events, later.tip)).tx.height).toBe(2)
  })

  it('mines nothing on a tick when nothing is pending', async () => {
    vi.useFakeTimers()
    const plugin = triggered({ intervalMs: 100 })
    plugin.service.start()
    await vi.advanceTimersByTimeAsync(1000)
    expect(plugin.service.height).toBe(0)
  })

  it('with anchorOnRequest mines each request as its own one-leaf block', async () => {
    const plugin = triggered({ anchorOnRequest: true })
    const events = recordEvents(plugin.service)
    plugin.service.start()
    const requests = await Promise.all([1, 2, 3].map(async () => await newRequest()))
    for (const request of requests) await plugin.service.requestAnchor(request)
    await vi.waitFor(() => { expect(settled(events, requests.map((r) => r.tip))).toBe(true) })
    const anchored = await Promise.all(requests.map(async (r) => await openAnchor(events, r.tip)))
    expect(anchored.map((a) => a.record.path)).toEqual(['0', '0', '0'])
    expect(anchored.map((a) => a.tx.height)).toEqual([1, 2, 3])
    expect(new Set(anchored.map((a) => a.claim.proof.root.toString())).size).toBe(3)
  })

  it('with anchorOnRequest resolves requestAnchor before its PROCESSING reaches a listener', async () => {
    const plugin = triggered({ anchorOnRequest: true })
    const order: string[] = []
    const request = await newRequest()
    plugin.service.onEvent((event) => { order.push(statusesOf([event], request.tip)[0]!) })
    plugin.service.start()
    await plugin.service.requestAnchor(request).then(() => order.push('resolved'))
    await vi.waitFor(() => { expect(order).toContain('ANCHORED') })
    expect(order).toEqual(['PENDING', 'resolved', 'PROCESSING', 'ANCHORED'])
  })

  it('queues requests made before start() and mines them once started', async () => {
    vi.useFakeTimers()
    const plugin = triggered({ intervalMs: 500 })
    const events = recordEvents(plugin.service)
    const request = await newRequest()
    await plugin.service.requestAnchor(request)
    await vi.advanceTimersByTimeAsync(2000)
    expect(statusesOf(events, request.tip)).toEqual(['PENDING'])
    plugin.service.start()
    await vi.advanceTimersByTimeAsync(500)
    await vi.waitFor(() => { expect(statusesOf(events, request.tip)).toEqual(['PENDING', 'PROCESSING', 'ANCHORED']) })
  })

  it('reports a request for a document already pending at another tip REPLACED, naming the newer tip', async () => {
    const plugin = triggered()
    const events = recordEvents(plugin.service)
    const older = await newRequest()
    const newer = { ...older, tip: await tipOf(older.genesis, 'newer') }
    await plugin.service.requestAnchor(older)
    await plugin.service.requestAnchor(newer)
    await plugin.service.anchorPending()
    expect(statusesOf(events, older.tip)).toEqual(['PENDING', 'REPLACED'])
    expect(events.find((e) => e.status === AnchorStatus.REPLACED)!.message).toContain(newer.tip.toString())
    expect(statusesOf(events, newer.tip)).toEqual(['PENDING', 'PROCESSING', 'ANCHORED'])
  })

  it('anchors a tip requested twice while pending once, without replacing it', async () => {
    const plugin = triggered()
    const events = recordEvents(plugin.service)
    const request = await newRequest()
    expect((await plugin.service.requestAnchor(request)).status).toBe(AnchorStatus.PENDING)
    expect((await plugin.service.requestAnchor(request)).status).toBe(AnchorStatus.PENDING)
    await plugin.service.anchorPending()
    expect(statusesOf(events, request.tip)).toEqual(['PENDING', 'PROCESSING', 'ANCHORED'])
  })

  it('puts a request made while its document is in a running batch into the next batch, replacing nothing', async () => {
    const plugin = triggered()
    const events = recordEvents(plugin.service)
    const first = await newRequest()
    const second = { ...first, tip: await tipOf(first.genesis, 'second') }
    plugin.service.onEvent((event) => {
      if (event.status === AnchorStatus.PROCESSING && event.tip.equals(first.tip)) void plugin.service.requestAnchor(second)
    })
    await plugin.service.requestAnchor(first)
    await plugin.service.anchorPending()
    expect(statusesOf(events, first.tip)).toEqual(['PENDING', 'PROCESSING', 'ANCHORED'])
    expect(statusesOf(events, second.tip)).toEqual(['PENDING'])
    await plugin.service.anchorPending()
    expect((await openAnchor(events, second.tip)).tx.height).toBe(2)
  })

  it('rejects a request without a DocID or with a genesis or tip that is not a CID', async () => {
    const { service } = triggered()
    const good = await newRequest()
    const bad = [{ ...good, docId: '' }, { ...good, tip: good.tip.toString() }, { ...good, genesis: undefined }]
    for (const request of bad) {
      expect((await rejection(service.requestAnchor(request as never))).name).toBe('InvalidAnchorRequestError')
    }
  })

  it('rejects a request whose signal has fired with AbortError, queueing nothing', async () => {
    const { service } = triggered()
    const events = recordEvents(service)
    const controller = new AbortController()
    controller.abort()
    expect((await rejection(service.requestAnchor(await newRequest(), { signal: controller.signal }))).name).toBe('AbortError')
    await service.anchorPending()
    expect(events).toEqual([])
    expect(service.height).toBe(0)
  })
})

describe('stopping the mock chain', () => {
  it('leaves no timer running after stop()', async () => {
    vi.useFakeTimers()
    for (const init of [{ intervalMs: 1000 }, { anchorOnRequest: true }]) {
      const { service } = mockAnchor(init)({})
      service.start()
      await service.requestAnchor(await newRequest())
      expect(vi.getTimerCount()).toBe(1)
      await service.stop()
      expect(vi.getTimerCount()).toBe(0)
    }
  })

  it('reports the requests still pending FAILED with a message, and mines nothing more', async () => {
    vi.useFakeTimers()
    const plugin = triggered({ intervalMs: 1000 })
    const events = recordEvents(plugin.service)
    plugin.service.start()
    const request = await newRequest()
    await plugin.service.requestAnchor(request)
    await plugin.service.stop()
    expect(statusesOf(events, request.tip)).toEqual(['PENDING', 'FAILED'])
    expect(events.at(-1)!.message).toMatch(/stopped/)
    await vi.advanceTimersByTimeAsync(5000)
    expect(plugin.service.height).toBe(0)
  })

  it('finishes the batch in progress before stop() resolves', async () => {
    const plugin = triggered()
    const events = recordEvents(plugin.service)
    plugin.service.start()
    const request = await newRequest()
    await plugin.service.requestAnchor(request)
    const mining = plugin.service.anchorPending()
    await plugin.service.stop()
    expect(statusesOf(events, request.tip)).toEqual(['PENDING', 'PROCESSING', 'ANCHORED'])
    await mining
  })

  it('anchors again once started again', async () => {
    vi.useFakeTimers()
    const plugin = triggered({ intervalMs: 100 })
    const events = recordEvents(plugin.service)
    plugin.service.start()
    await plugin.service.stop()
    plugin.service.start()
    const request = await newRequest()
    await plugin.service.requestAnchor(request)
    await vi.advanceTimersByTimeAsync(100)
    await vi.waitFor(() => { expect(statusesOf(events, request.tip)).toEqual(['PENDING', 'PROCESSING', 'ANCHORED']) })
  })
})

describe('event listeners of the mock chain', () => {
  it('still tells every other listener when one throws or rejects, and logs the failure', async () => {
    const warn = vi.fn()
    const logger: Logger = { debug: vi.fn(), info: vi.fn(), warn, error: vi.fn() }
    const plugin = triggered({}, logger)
    plugin.service.onEvent(() => { throw new Error('listener bug') })
    plugin.service.onEvent(async () => { throw new Error('async listener bug') })
    const events = recordEvents(plugin.service)
    const request = await newRequest()
    await plugin.service.requestAnchor(request)
    await plugin.service.anchorPending()
    expect(statusesOf(events, request.tip)).toEqual(['PENDING', 'PROCESSING', 'ANCHORED'])
    await vi.waitFor(() => { expect(warn).toHaveBeenCalledTimes(6) })
    expect(logger.debug).toHaveBeenCalledWith(expect.objectContaining({ height: 1, size: 1 }), expect.any(String))
  })
})

describe('verifying mock chain anchors', () => {
  it('verifies many anchors of one batch, each against its own tip', async () => {
    const plugin = triggered()
    const events = recordEvents(plugin.service)
    const requests = await Promise.all(Array.from({ length: 20 }, async () => await newRequest()))
    for (const request of requests) await plugin.service.requestAnchor(request)
    await plugin.service.anchorPending()
    for (const request of requests) {
      const { claim, getBlock } = await openAnchor(events, request.tip)
      await plugin.verifier.verify(claim, getBlock)
    }
  })

  it('verifies an anchor with a verifier built from the chain DID alone', async () => {
    const plugin = triggered()
    const { claim, getBlock, tx } = await anchorOne(plugin)
    const verifier = mockChainVerifier({ chainDid: plugin.service.chainDid })
    expect(await verifier.verify(claim, getBlock)).toEqual({ timestamp: tx.timestamp })
  })

  it('verifies an anchor made by a chain with the same seed in another process', async () => {
    const { execFile } = await import('node:child_process')
    const { fileURLToPath } = await import('node:url')
    const { CID } = await import('multiformats/cid')
    const script = fileURLToPath(new URL('./fixtures/anchor-in-child.mjs', import.meta.url))
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [script, '11'.repeat(32)], (err, out) => { if (err === null) resolve(out); else reject(err) })
    })
    const child = JSON.parse(stdout) as { chainDid: string, tip: string, commit: { cid: string, bytes: string }, blocks: Array<{ cid: string, bytes: string }> }
    const block = (b: { cid: string, bytes: string }): { cid: InstanceType<typeof CID>, bytes: Uint8Array } => ({ cid: CID.parse(b.cid), bytes: new Uint8Array(Buffer.from(b.bytes, 'base64')) })
    const commit = block(child.commit)
    const blocks = child.blocks.map(block)
    const record = await decodeRecord<{ proof: InstanceType<typeof CID>, path: string, prev: InstanceType<typeof CID> }>(commit.bytes, commit.cid)
    const proofBlock = blocks.find((b) => b.cid.equals(record.proof))!
    const claim = { proof: await decodeRecord(proofBlock.bytes, proofBlock.cid), path: record.path, prev: record.prev } as AnchorClaim

    const restarted = triggered()
    expect(restarted.service.chainDid).toBe(child.chainDid)
    const { timestamp } = await restarted.verifier.verify(claim, storeOf(blocks))
    expect(Number.isSafeInteger(timestamp)).toBe(true)
    expect(record.prev.toString()).toBe(child.tip)

    const stranger = triggered({ seed: otherSeed })
    const err = await rejection(stranger.verifier.verify(claim, storeOf(blocks)))
    expect(err.name).toBe('InvalidAnchorProofError')
    expect(err.message).toContain(stranger.service.chainDid)
  })

  it('rejects an anchor of a chain with another seed', async () => {
    const { claim, getBlock } = await anchorOne(triggered({ seed: otherSeed }))
    expect((await rejection(triggered().verifier.verify(claim, getBlock))).name).toBe('InvalidAnchorProofError')
  })

  it('rejects an anchor of another inmemory chain id, even with the same key', async () => {
    const { claim, getBlock } = await anchorOne(triggered({ chainId: 'inmemory:777' }))
    const err = await rejection(triggered().verifier.verify(claim, getBlock))
    expect(err.name).toBe('InvalidAnchorProofError')
    expect(err.message).toContain('inmemory:777')
  })

  it('rejects a proof whose chainId was changed to another inmemory chain', async () => {
    const plugin = triggered()
    const { claim, getBlock } = await anchorOne(plugin)
    const altered = { ...claim, proof: { ...claim.proof, chainId: 'inmemory:999' } }
    expect((await rejection(plugin.verifier.verify(altered, getBlock))).name).toBe('InvalidAnchorProofError')
    const ownVerifier = mockChainVerifier({ chainDid: plugin.service.chainDid, chainId: 'inmemory:999' })
    const err = await rejection(ownVerifier.verify(altered, getBlock))
    expect(err.name).toBe('InvalidAnchorProofError')
    expect(err.message).toContain(`is on chain ${MOCK_CHAIN_ID}`)
  })

  it('rejects a proof of another namespace with UnsupportedChainError', async () => {
    const plugin = triggered()
    const { claim, getBlock } = await anchorOne(plugin)
    const err = await rejection(plugin.verifier.verify({ ...claim, proof: { ...claim.proof, chainId: 'eip155:1337' } }, getBlock))
    expect(err.name).toBe('UnsupportedChainError')
  })

  it('rejects a proof whose txType was changed', async () => {
    const plugin = triggered()
    const { claim, getBlock } = await anchorOne(plugin)
    for (const txType of ['f(bytes32)', undefined]) {
      const err = await rejection(plugin.verifier.verify({ ...claim, proof: { ...claim.proof, txType } }, getBlock))
      expect(err.name).toBe('InvalidAnchorProofError')
    }
  })

  it('rejects a forged transaction: same content signed by another key', async () => {
    const plugin = triggered()
    const { claim, blocks, tx } = await anchorOne(plugin)
    const forged = await signRecord(tx, keyDidSigner({ seed: otherSeed }))
    const altered = { ...claim, proof: { ...claim.proof, txHash: forged.envelope.cid } }
    const err = await rejection(plugin.verifier.verify(altered, storeOf([...blocks, forged.envelope, forged.payload])))
    expect(err.name).toBe('InvalidAnchorProofError')
    expect(err.message).toContain('not signed by the chain')
  })

  it('rejects a transaction signed by the chain that anchors another root', async () => {
    const plugin = triggered()
    const { claim, blocks, tx } = await anchorOne(plugin)
    const other = await encodeRecord([claim.prev, null, { forged: true }])
    const signed = await signRecord({ ...tx, root: other.cid }, keyDidSigner({ seed }))
    const getBlock = storeOf([...blocks, signed.envelope, signed.payload, other])
    const err = await rejection(plugin.verifier.verify({ ...claim, proof: { ...claim.proof, txHash: signed.envelope.cid } }, getBlock))
    expect(err.name).toBe('InvalidAnchorProofError')
    expect(err.message).toContain('anchors root')
    // Pointing the proof at the forged root does not help either: the claim's root must be the transaction's.
    const moved = { ...claim, path: '0', proof: { ...claim.proof, root: other.cid } }
    expect((await rejection(plugin.verifier.verify(moved, getBlock))).name).toBe('InvalidAnchorProofError')
  })

  it('rejects a block signed by the chain that is not a transaction', async () => {
    const plugin = triggered()
    const { claim, blocks } = await anchorOne(plugin)
    for (const value of [{ chainId: MOCK_CHAIN_ID, height: 0, timestamp: 1, root: claim.proof.root }, { chainId: MOCK_CHAIN_ID, root: claim.proof.root }, ['not', 'a', 'tx']]) {
      const signed = await signRecord(value, keyDidSigner({ seed }))
      const getBlock = storeOf([...blocks, signed.envelope, signed.payload])
      const err = await rejection(plugin.verifier.verify({ ...claim, proof: { ...claim.proof, txHash: signed.envelope.cid } }, getBlock))
      expect(err.name).toBe('InvalidAnchorProofError')
    }
  })

  it('rejects a claim when the transaction payload block is missing', async () => {
    const plugin = triggered()
    const { claim, blocks, txBlocks } = await anchorOne(plugin)
    const getBlock = storeOf(blocks.filter((b) => !b.cid.equals(txBlocks.payload.cid)))
    expect((await rejection(plugin.verifier.verify(claim, getBlock))).name).toBe('InvalidAnchorProofError')
  })

  it('gives up with AbortError when the signal has fired', async () => {
    const plugin = triggered()
    const { claim, getBlock } = await anchorOne(plugin)
    const controller = new AbortController()
    controller.abort()
    expect((await rejection(plugin.verifier.verify(claim, getBlock, { signal: controller.signal }))).name).toBe('AbortError')
  })
})
