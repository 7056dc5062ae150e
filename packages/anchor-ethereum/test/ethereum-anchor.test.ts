import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { encodeRecord } from '@kiln/codec'
import { AnchorStatus } from '@kiln/interface'
import {
  ANCHOR_SELECTOR,
  cidToTxHash,
  deployAnchorContract,
  ethereumAnchor,
  ethereumVerifier,
  txHashToCID,
  type EthereumAnchorInit,
  type EthereumAnchorPlugin
} from '@kiln/anchor-ethereum'
import { JsonRpcProvider, Network } from 'ethers'
import { CID } from 'multiformats/cid'
import { newRequest, openAnchor, recordEvents, statusesOf, tipOf, type OpenedAnchor } from './fixtures/anchors.js'
import { startChain, type LocalChain } from './fixtures/ganache.js'

let chain: LocalChain
let contract: string
const running: EthereumAnchorPlugin[] = []

beforeAll(async () => {
  chain = await startChain()
  contract = await deployAnchorContract({ rpcUrl: chain.rpcUrl, privateKey: chain.keys[0]! })
})

afterEach(async () => {
  for (const plugin of running.splice(0)) await plugin.service.stop()
})

afterAll(async () => {
  await chain?.close()
})

/** A plugin on the local chain that only sends on anchorPending(), stopped after the test. */
function triggered (init: Partial<EthereumAnchorInit> = {}): EthereumAnchorPlugin {
  const plugin = ethereumAnchor({ rpcUrl: chain.rpcUrl, chainId: 'eip155:1337', privateKey: chain.keys[1]!, contract, intervalMs: 3_600_000, ...init })({})
  running.push(plugin)
  return plugin
}

async function anchorOne (plugin: EthereumAnchorPlugin): Promise<OpenedAnchor> {
  const events = recordEvents(plugin.service)
  const request = await newRequest()
  await plugin.service.requestAnchor(request)
  await plugin.service.anchorPending()
  return await openAnchor(events, request.tip)
}

async function rejection (promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, 'expected a rejection').toBeInstanceOf(Error)
  return err as Error
}

interface RpcBlock { timestamp: string, number: string }
interface RpcTransaction { input: string, to: string, blockNumber: string }
interface RpcReceipt { gasUsed: string, status: string }

describe('anchoring on a local EVM (ganache)', () => {
  it('anchors 1,000 documents in one transaction, each with its own proof that verifies', async () => {
    const { service, verifier } = triggered()
    const events = recordEvents(service)
    const requests = await Promise.all(Array.from({ length: 1000 }, async () => await newRequest()))
    const before = Number(await chain.request<string>('eth_blockNumber'))
    for (const request of requests) await service.requestAnchor(request)
    await service.anchorPending()
    const anchored = await Promise.all(requests.map(async (r) => await openAnchor(events, r.tip)))
    expect(new Set(anchored.map((a) => a.txHash)).size).toBe(1)
    expect(new Set(anchored.map((a) => a.proof.root.toString())).size).toBe(1)
    expect(new Set(anchored.map((a) => a.record.path)).size).toBe(1000)
    expect(Number(await chain.request<string>('eth_blockNumber'))).toBe(before + 1)
    const tx = await chain.request<RpcTransaction>('eth_getTransactionByHash', [anchored[0]!.txHash])
    expect(tx.to.toLowerCase()).toBe(contract.toLowerCase())
    expect(tx.input).toBe(ANCHOR_SELECTOR + Buffer.from(anchored[0]!.proof.root.multihash.digest).toString('hex'))
    for (const a of anchored) {
      expect(a.proof.txType).toBe('f(bytes32)')
      expect(a.proof.chainId).toBe('eip155:1337')
      await verifier.verify(a.claim, a.getBlock)
    }
  })

  it('takes the timestamp of the block holding the transaction as the anchor time', async () => {
    const plugin = triggered()
    const before = await chain.request<RpcBlock>('eth_getBlockByNumber', ['latest', false])
    await chain.increaseTime(3600)
    const anchored = await anchorOne(plugin)
    const tx = await chain.request<RpcTransaction>('eth_getTransactionByHash', [anchored.txHash])
    const block = await chain.request<RpcBlock>('eth_getBlockByNumber', [tx.blockNumber, false])
    const { timestamp } = await plugin.verifier.verify(anchored.claim, anchored.getBlock)
    expect(timestamp).toBe(Number(block.timestamp))
    // The chain's clock, moved an hour ahead: not the time this process sent the transaction at.
    expect(timestamp).toBeGreaterThanOrEqual(Number(before.timestamp) + 3600)
  })

  it('wraps the transaction hash as an eth-tx CID with a keccak-256 multihash', async () => {
    const anchored = await anchorOne(triggered())
    expect(anchored.proof.txHash.code).toBe(0x93)
    expect(anchored.proof.txHash.multihash.code).toBe(0x1b)
    expect(cidToTxHash(anchored.proof.txHash)).toBe(anchored.txHash)
    expect(txHashToCID(anchored.txHash).equals(anchored.proof.txHash)).toBe(true)
    const receipt = await chain.request<RpcReceipt>('eth_getTransactionReceipt', [anchored.txHash])
    expect(Number(receipt.status)).toBe(1)
  })

  it('sends raw transactions whose data is the root without a contract, and verifies them', async () => {
    const plugin = triggered({ contract: undefined, privateKey: chain.keys[2]! })
    expect(plugin.service.txType).toBe('raw')
    const anchored = await anchorOne(plugin)
    expect(anchored.proof.txType).toBe('raw')
    const tx = await chain.request<RpcTransaction>('eth_getTransactionByHash', [anchored.txHash])
    expect(tx.input).toBe(`0x${Buffer.from(anchored.proof.root.multihash.digest).toString('hex')}`)
    expect(tx.to.toLowerCase()).toBe(plugin.service.address.toLowerCase())
    await plugin.verifier.verify(anchored.claim, anchored.getBlock)
    // Read as a contract call, the same transaction holds no root.
    const err = await rejection(plugin.verifier.verify({ ...anchored.claim, proof: { ...anchored.proof, txType: 'f(bytes32)' } }, anchored.getBlock))
    expect(err.name).toBe('InvalidAnchorProofError')
  })

  it('splits a queue longer than maxBatch into several transactions', async () => {
    const { service, verifier } = triggered({ maxBatch: 4 })
    const events = recordEvents(service)
    const requests = await Promise.all(Array.from({ length: 10 }, async () => await newRequest()))
    for (const request of requests) await service.requestAnchor(request)
    await service.anchorPending()
    const anchored = await Promise.all(requests.map(async (r) => await openAnchor(events, r.tip)))
    expect(new Set(anchored.map((a) => a.txHash)).size).toBe(3)
    for (const a of anchored) await verifier.verify(a.claim, a.getBlock)
  })

  it('reports an older request REPLACED by a newer one for the same document, and anchors only the newer', async () => {
    const { service } = triggered()
    const events = recordEvents(service)
    const older = await newRequest()
    const newer = { ...older, tip: await tipOf(older.genesis, 'newer') }
    await service.requestAnchor(older)
    await service.requestAnchor(newer)
    await service.anchorPending()
    expect(statusesOf(events, older.tip)).toEqual(['PENDING', 'REPLACED'])
    expect(statusesOf(events, newer.tip)).toEqual(['PENDING', 'PROCESSING', 'ANCHORED'])
  })

  it('anchors on its interval once started, and stop() fails what is still pending', async () => {
    // Only the service's interval is faked: the chain and the JSON-RPC calls run on real time.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    try {
      const plugin = triggered({ intervalMs: 30 })
      const events = recordEvents(plugin.service)
      const first = await newRequest()
      plugin.service.start()
      await plugin.service.requestAnchor(first)
      expect(statusesOf(events, first.tip)).toEqual(['PENDING'])
      vi.advanceTimersByTime(30)
      await expect.poll(() => statusesOf(events, first.tip).at(-1), { timeout: 5000 }).toBe('ANCHORED')
      await plugin.service.stop()
      const late = await newRequest()
      await plugin.service.requestAnchor(late)
      // Ten intervals: a stopped service starts no batch. stop() waits for any batch that did start.
      vi.advanceTimersByTime(300)
      await plugin.service.stop()
      expect(statusesOf(events, late.tip)).toEqual(['PENDING', 'FAILED'])
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('rejecting altered proofs', () => {
  let anchored: OpenedAnchor
  let plugin: EthereumAnchorPlugin
  let other: OpenedAnchor

  beforeAll(async () => {
    plugin = ethereumAnchor({ rpcUrl: chain.rpcUrl, chainId: 'eip155:1337', privateKey: chain.keys[3]!, contract, intervalMs: 3_600_000 })({})
    const events = recordEvents(plugin.service)
    const [a, b] = [await newRequest(), await newRequest()]
    await plugin.service.requestAnchor(a)
    await plugin.service.requestAnchor(b)
    await plugin.service.anchorPending()
    anchored = await openAnchor(events, a.tip)
    // Another transaction: a real anchor, but of another root.
    other = await anchorOne(plugin)
  })

  async function expectInvalid (claim: OpenedAnchor['claim'], getBlock = anchored.getBlock): Promise<Error> {
    const err = await rejection(plugin.verifier.verify(claim, getBlock))
    expect(err.name, err.message).toBe('InvalidAnchorProofError')
    return err
  }

  it('accepts the unaltered proof', async () => {
    await plugin.verifier.verify(anchored.claim, anchored.getBlock)
  })

  it('rejects an altered root, even one whose tree leads to prev', async () => {
    const fake = await encodeRecord([anchored.claim.prev, null, { forged: true }])
    const getBlock = async (cid: CID): Promise<Uint8Array> => cid.equals(fake.cid) ? fake.bytes : await anchored.getBlock(cid)
    const err = await expectInvalid({ ...anchored.claim, proof: { ...anchored.proof, root: fake.cid }, path: '0' }, getBlock)
    expect(err.message).toContain('anchors root')
    await expectInvalid({ ...anchored.claim, proof: { ...anchored.proof, root: other.proof.root } })
  })

  it('rejects an altered path', async () => {
    const flipped = anchored.claim.path.split('/').map((s, i) => i === 0 ? (s === '0' ? '1' : '0') : s).join('/')
    await expectInvalid({ ...anchored.claim, path: flipped })
    await expectInvalid({ ...anchored.claim, path: `${anchored.claim.path}/0` })
  })

  it('rejects an altered transaction: another anchor transaction, an unknown hash, a CID that is not eth-tx', async () => {
    const err = await expectInvalid({ ...anchored.claim, proof: { ...anchored.proof, txHash: other.proof.txHash } })
    expect(err.message).toContain('anchors root')
    const unknown = txHashToCID(`0x${'ab'.repeat(32)}`)
    expect((await expectInvalid({ ...anchored.claim, proof: { ...anchored.proof, txHash: unknown } })).message).toContain('no transaction')
    const notEthTx = CID.create(1, 0x71, anchored.proof.txHash.multihash)
    expect((await expectInvalid({ ...anchored.claim, proof: { ...anchored.proof, txHash: notEthTx } })).message).toContain('eth-tx')
  })

  it('rejects a transaction to another contract when the verifier is given the anchor contract', async () => {
    const strict = ethereumVerifier({ rpcUrl: chain.rpcUrl, contract: `0x${'12'.repeat(20)}` })
    const err = await rejection(strict.verify(anchored.claim, anchored.getBlock))
    expect(err.name).toBe('InvalidAnchorProofError')
    expect(err.message).toContain('not the anchor contract')
    await ethereumVerifier({ rpcUrl: chain.rpcUrl, contract }).verify(anchored.claim, anchored.getBlock)
  })

  it('rejects an altered chain id: UnsupportedChainError for another eip155 chain, InvalidAnchorProofError for a malformed one', async () => {
    for (const chainId of ['eip155:1', 'eip155:31337']) {
      const err = await rejection(plugin.verifier.verify({ ...anchored.claim, proof: { ...anchored.proof, chainId } }, anchored.getBlock))
      expect(err.name, chainId).toBe('UnsupportedChainError')
    }
    await expectInvalid({ ...anchored.claim, proof: { ...anchored.proof, chainId: 'eip155:01337' } })
    const err = await rejection(plugin.verifier.verify({ ...anchored.claim, proof: { ...anchored.proof, chainId: 'bip122:000000000019d6689c085ae165831e93' } }, anchored.getBlock))
    expect(err.name).toBe('UnsupportedChainError')
  })

  it('rejects an unknown txType', async () => {
    await expectInvalid({ ...anchored.claim, proof: { ...anchored.proof, txType: 'f(bytes)' } })
    await expectInvalid({ ...anchored.claim, proof: { ...anchored.proof, txType: undefined } })
  })
})

describe('ethereumVerifier', () => {
  it('rejects a fresh anchor until it has the configured confirmations', async () => {
    const anchored = await anchorOne(triggered())
    const verifier = ethereumVerifier({ rpcUrl: chain.rpcUrl, chainId: 'eip155:1337', confirmations: 3 })
    const err = await rejection(verifier.verify(anchored.claim, anchored.getBlock))
    expect(err.name).toBe('InvalidAnchorProofError')
    expect(err.message).toContain('1 confirmation(s); this verifier needs 3')
    await chain.mine()
    expect((await rejection(verifier.verify(anchored.claim, anchored.getBlock))).message).toContain('2 confirmation(s)')
    await chain.mine()
    const { timestamp } = await verifier.verify(anchored.claim, anchored.getBlock)
    expect(Number.isSafeInteger(timestamp)).toBe(true)
  })

  it('asks the endpoint about a transaction once, then answers the rest of its batch from its cache', async () => {
    const { service } = triggered()
    const events = recordEvents(service)
    const requests = await Promise.all(Array.from({ length: 20 }, async () => await newRequest()))
    for (const request of requests) await service.requestAnchor(request)
    await service.anchorPending()
    const provider = new JsonRpcProvider(chain.rpcUrl, Network.from(1337), { staticNetwork: true, cacheTimeout: -1 })
    const calls: string[] = []
    const send = provider.send.bind(provider)
    provider.send = async (method, params) => { calls.push(method); return await send(method, params) }
    const verifier = ethereumVerifier({ provider })
    for (const request of requests) {
      const a = await openAnchor(events, request.tip)
      await verifier.verify(a.claim, a.getBlock)
    }
    expect(calls.filter((m) => m === 'eth_getTransactionByHash')).toHaveLength(1)
    expect(calls.filter((m) => m === 'eth_chainId')).toHaveLength(1)
    provider.destroy()
  })

  it('fails with EthereumRpcError when the endpoint is down, and for an endpoint of another chain than configured', async () => {
    const anchored = await anchorOne(triggered())
    const down = ethereumVerifier({ rpcUrl: 'http://127.0.0.1:9', chainId: 'eip155:1337' })
    const err = await rejection(down.verify(anchored.claim, anchored.getBlock))
    expect(err.name).toBe('EthereumRpcError')
    expect(err.message).toContain('http://127.0.0.1:9')
    const mainnet = ethereumVerifier({ rpcUrl: chain.rpcUrl, chainId: 'eip155:1' })
    const wrong = await rejection(mainnet.verify(anchored.claim, anchored.getBlock))
    expect(wrong.name).toBe('EthereumRpcError')
    expect(wrong.message).toContain('serves chain eip155:1337')
  })
})

describe('failures of the service', () => {
  it('reports a batch FAILED with the reason when the endpoint cannot be reached', async () => {
    const { service } = triggered({ rpcUrl: 'http://127.0.0.1:9' })
    const events = recordEvents(service)
    const request = await newRequest()
    await service.requestAnchor(request)
    await service.anchorPending()
    expect(statusesOf(events, request.tip)).toEqual(['PENDING', 'PROCESSING', 'FAILED'])
    expect(events.at(-1)!.message).toContain('http://127.0.0.1:9')
  })

  it('sends nothing to an endpoint of another chain than configured', async () => {
    const { service } = triggered({ chainId: 'eip155:1' })
    const events = recordEvents(service)
    const request = await newRequest()
    const nonce = await chain.request<string>('eth_getTransactionCount', [service.address, 'latest'])
    await service.requestAnchor(request)
    await service.anchorPending()
    expect(events.at(-1)!.status).toBe(AnchorStatus.FAILED)
    expect(events.at(-1)!.message).toContain('serves chain eip155:1337, not the eip155:1')
    expect(await chain.request<string>('eth_getTransactionCount', [service.address, 'latest'])).toBe(nonce)
  })

  it('reports a batch FAILED with the node\'s reason when the sender cannot pay for the transaction', async () => {
    // A fresh key: an account with no ether.
    const { service } = triggered({ privateKey: `0x${'42'.repeat(32)}` })
    const events = recordEvents(service)
    const request = await newRequest()
    await service.requestAnchor(request)
    await service.anchorPending()
    expect(events.at(-1)!.status).toBe(AnchorStatus.FAILED)
    expect(events.at(-1)!.message).toMatch(/could not anchor a batch of 1 on eip155:1337: .+/)
  })
})

describe('options', () => {
  const base = { rpcUrl: 'http://127.0.0.1:8545', chainId: 'eip155:1337', privateKey: `0x${'11'.repeat(32)}` }

  it('refuses bad options at configuration with InvalidEthereumAnchorOptionError', () => {
    const bad: Array<Partial<EthereumAnchorInit>> = [
      { rpcUrl: undefined }, { rpcUrl: 'ws://127.0.0.1:8545' }, { privateKey: '0x1234' }, { contract: '0x1234' },
      { intervalMs: 0 }, { maxBatch: 1.5 }, { maxBatch: 0 }, { confirmations: 0 }, { timeoutMs: -1 }
    ]
    for (const change of bad) {
      expect(() => ethereumAnchor({ ...base, ...change }), JSON.stringify(change)).toThrow(expect.objectContaining({ name: 'InvalidEthereumAnchorOptionError' }))
    }
  })

  it('refuses a chain id outside eip155 with UnsupportedChainError', () => {
    for (const chainId of ['inmemory:12345', 'eip155', 'eip155:', 'eip155:0x1', '1337']) {
      expect(() => ethereumAnchor({ ...base, chainId }), chainId).toThrow(expect.objectContaining({ name: 'UnsupportedChainError' }))
    }
  })

  it('refuses an anchor request without a DocID or with a tip that is not a CID', async () => {
    const { service } = triggered()
    const request = await newRequest()
    await expect(service.requestAnchor({ ...request, docId: '' })).rejects.toMatchObject({ name: 'InvalidAnchorRequestError' })
    await expect(service.requestAnchor({ ...request, tip: 'bafy' as unknown as CID })).rejects.toMatchObject({ name: 'InvalidAnchorRequestError' })
  })
})
