import { describe, it, expect, afterEach, vi } from 'vitest'
import * as ecc from 'tiny-secp256k1'
import { Block, Transaction, crypto, opcodes, payments, script } from 'bitcoinjs-lib'
import { encodeRecord } from '@kiln/codec'
import { AnchorStatus } from '@kiln/interface'
import {
  BITCOIN_NETWORKS,
  OP_RETURN_PREFIX,
  bitcoinAnchor,
  bitcoinVerifier,
  memoryHeaderSource,
  parseHeader,
  regtestMiner,
  type BlockSource,
  type RegtestMiner,
  txHashCID
} from '@kiln/anchor-bitcoin'
import { anchorBatch, newRequest, recordEvents, regtestKey, regtestPlugin, rejection, type OpenedAnchor, type RegtestSetup } from './fixtures/bitcoin.js'

const REGTEST = 'bip122:0f9188f13cb7b2c71f2a335e3a4fc328'
const running: RegtestSetup[] = []

function setup (...args: Parameters<typeof regtestPlugin>): RegtestSetup {
  const made = regtestPlugin(...args)
  running.push(made)
  return made
}

async function anchorOne (made: RegtestSetup): Promise<OpenedAnchor> {
  const [anchored] = await anchorBatch(made.plugin, [await newRequest()])
  return anchored!
}

/** Changes the header's fields with `change`, then grinds its nonce until `wanted` holds of its hash. */
function regrind (header: Uint8Array, change: (block: Block) => void, wanted: (hash: bigint, bits: number) => boolean): Uint8Array {
  const block = Block.fromBuffer(header)
  change(block)
  for (block.nonce = 0; ; block.nonce++) {
    const bytes = block.toBuffer(true)
    if (wanted(BigInt(`0x${Buffer.from(crypto.hash256(bytes)).reverse().toString('hex')}`), block.bits)) return bytes
  }
}

async function expectInvalid (promise: Promise<unknown>, message?: string): Promise<void> {
  const err = await rejection(promise)
  expect(err.name, err.message).toBe('InvalidAnchorProofError')
  if (message !== undefined) expect(err.message).toContain(message)
}

afterEach(async () => {
  for (const made of running.splice(0)) await made.plugin.service.stop()
})

/** The miner as a block source that tells the test each time the service starts waiting for a transaction to be mined. */
function inclusionWaits (miner: RegtestMiner): { blocks: BlockSource, next: () => Promise<void> } {
  const waits: Array<{ started: Promise<void>, start: () => void }> = []
  const nth = (i: number): { started: Promise<void>, start: () => void } => {
    if (waits[i] === undefined) {
      let start!: () => void
      waits[i] = { started: new Promise<void>((resolve) => { start = resolve }), start }
    }
    return waits[i]
  }
  let calls = 0
  let awaited = 0
  const blocks: BlockSource = {
    async waitForInclusion (txid, options) {
      const inclusion = miner.waitForInclusion(txid, options)
      nth(calls++).start()
      return await inclusion
    }
  }
  // The first call resolves once the service waits for its first block, the second for its second, and so on.
  return { blocks, next: async () => { await nth(awaited++).started } }
}

describe('bitcoinAnchor options', () => {
  it('anchors to regtest under its bip122 chain id, verified in the bip122 namespace', () => {
    const { plugin } = setup()
    expect(plugin.service.chainId).toBe(REGTEST)
    expect(BITCOIN_NETWORKS.regtest.chainId).toBe(REGTEST)
    expect(plugin.verifier.namespace).toBe('bip122')
  })

  it('refuses an unknown network, a bad fee rate, interval or address type, and a signer that is not one', () => {
    const miner = regtestMiner()
    const base = { network: 'regtest' as const, signer: regtestKey(), utxos: miner, broadcaster: miner, blocks: miner, headers: miner.headers }
    const bad = [
      { network: 'signet' as 'regtest' },
      { feeRate: 0.5 },
      { feeRate: Number.NaN },
      { intervalMs: 0 },
      { addressType: 'p2tr' as 'p2wpkh' },
      { signer: { publicKey: 'abc' } as never }
    ]
    for (const change of bad) {
      expect(() => bitcoinAnchor({ ...base, ...change }), JSON.stringify(change)).toThrow(expect.objectContaining({ name: 'InvalidBitcoinAnchorOptionError' }))
    }
    expect(() => bitcoinVerifier({ headers: miner.headers, minConfirmations: 0 })).toThrow(expect.objectContaining({ name: 'InvalidBitcoinAnchorOptionError' }))
  })
})

describe('an anchor in a regtest block', () => {
  it('verifies, with the header time as its timestamp', async () => {
    // The miner stamps blocks with the clock, in seconds; a fixed clock makes that checkable without a tolerance.
    const now = 1_700_000_000
    vi.useFakeTimers({ toFake: ['Date'], now: now * 1000 })
    try {
      const made = setup()
      const { claim, getBlock, proof } = await anchorOne(made)
      const { timestamp } = await made.plugin.verifier.verify(claim, getBlock)
      expect(timestamp).toBe(parseHeader(proof.header).timestamp)
      // Each block is at least a second after its parent, and this chain has only the funding block before it.
      expect(timestamp).toBe(now + 1)
    } finally {
      vi.useRealTimers()
    }
  })

  it('carries the raw transaction, its branch and index, and the 80-byte header; the OP_RETURN holds KILN and the root digest', async () => {
    const made = setup()
    const { proof } = await anchorOne(made)
    expect(proof.txType).toBe('op_return')
    expect(proof.header.length).toBe(80)
    // A block of the coinbase and the anchor transaction.
    expect(proof.index).toBe(1)
    expect(proof.branch.length).toBe(1)
    const tx = Transaction.fromBuffer(proof.tx)
    expect(proof.txHash.code).toBe(0xb1)
    expect(proof.txHash.multihash.code).toBe(0x56)
    expect(Buffer.from(proof.txHash.multihash.digest).reverse().toString('hex')).toBe(tx.getId())
    const data = script.decompile(tx.outs[0]!.script)!
    expect(data[0]).toBe(opcodes.OP_RETURN)
    expect(Buffer.from(data[1] as Uint8Array)).toEqual(Buffer.from([...OP_RETURN_PREFIX, ...proof.root.multihash.digest]))
    expect(new TextDecoder().decode(OP_RETURN_PREFIX)).toBe('KILN')
  })

  it('is in a well-formed block: Merkle root, witness commitment and proof of work check with bitcoinjs-lib', async () => {
    const made = setup()
    const { proof } = await anchorOne(made)
    const block = Block.fromBuffer(made.miner.block(parseHeader(proof.header).id)!)
    expect(block.transactions!.length).toBe(2)
    expect(block.hasWitnessCommit()).toBe(true)
    expect(block.checkTxRoots()).toBe(true)
    expect(block.checkProofOfWork()).toBe(true)
    expect(Buffer.from(block.prevHash!).reverse().toString('hex')).not.toBe('00'.repeat(32))
  })

  it('spends the key\'s P2WPKH output with a signature that verifies, paying the change back', async () => {
    const made = setup({ feeRate: 3 })
    const { proof } = await anchorOne(made)
    const tx = Transaction.fromBuffer(proof.tx)
    const [signature, publicKey] = tx.ins[0]!.witness
    expect(Buffer.from(publicKey!)).toEqual(Buffer.from(made.signer.publicKey))
    const scriptCode = payments.p2pkh({ pubkey: publicKey! }).output!
    const hash = tx.hashForWitnessV0(0, scriptCode, 100_000_000n, Transaction.SIGHASH_ALL)
    expect(ecc.verify(hash, publicKey!, script.signature.decode(signature!).signature)).toBe(true)
    const fee = 100_000_000n - tx.outs[1]!.value
    expect(fee).toBeGreaterThanOrEqual(BigInt(tx.virtualSize() * 3))
    expect(fee).toBeLessThan(BigInt(tx.virtualSize() * 3 + 10))
  })

  it('anchors with a P2PKH key too', async () => {
    const made = setup({ addressType: 'p2pkh' })
    const { claim, getBlock, proof } = await anchorOne(made)
    await made.plugin.verifier.verify(claim, getBlock)
    expect(Transaction.fromBuffer(proof.tx).hasWitnesses()).toBe(false)
  })

  it('puts several documents in one transaction, each verifying with its own path', async () => {
    const made = setup()
    const requests = await Promise.all([1, 2, 3, 4, 5].map(async () => await newRequest()))
    const anchored = await anchorBatch(made.plugin, requests)
    expect(new Set(anchored.map((a) => a.proof.txHash.toString())).size).toBe(1)
    expect(new Set(anchored.map((a) => a.record.path)).size).toBe(5)
    for (const a of anchored) await made.plugin.verifier.verify(a.claim, a.getBlock)
  })

  it('anchors batch after batch, each spending the change of the one before', async () => {
    const made = setup()
    const first = await anchorOne(made)
    const second = await anchorOne(made)
    const tx1 = Transaction.fromBuffer(first.proof.tx)
    const tx2 = Transaction.fromBuffer(second.proof.tx)
    expect(Buffer.from(tx2.ins[0]!.hash).reverse().toString('hex')).toBe(tx1.getId())
    expect(tx2.ins[0]!.index).toBe(1)
    await made.plugin.verifier.verify(first.claim, first.getBlock)
    await made.plugin.verifier.verify(second.claim, second.getBlock)
  })
})

describe('the Bitcoin verifier rejects with InvalidAnchorProofError', () => {
  it('a wrong branch: a changed sibling hash, another index, an extra level', async () => {
    const made = setup()
    const { claim, getBlock, proof } = await anchorOne(made)
    const sibling = Uint8Array.from(proof.branch[0]!)
    sibling[0] = sibling[0]! ^ 1
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, branch: [sibling] } }, getBlock), 'does not lead to the Merkle root')
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, index: 0 } }, getBlock), 'does not lead to the Merkle root')
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, branch: [...proof.branch, new Uint8Array(32)] } }, getBlock))
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, index: 2 } }, getBlock), 'index')
  })

  it('a header whose hash does not meet its target, with regtest bits or mainnet bits', async () => {
    const made = setup()
    const { claim, getBlock, proof } = await anchorOne(made)
    const regtestTarget = 0x7fffffn << 232n
    const above = regrind(proof.header, () => {}, (hash) => hash > regtestTarget)
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, header: above } }, getBlock), 'does not meet its own target')
    const hard = regrind(proof.header, (b) => { b.bits = 0x1d00ffff }, () => true)
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, header: hard } }, getBlock), 'does not meet its own target')
  })

  it('a header claiming an easier target than the network allows, even though its hash meets it', async () => {
    const made = setup()
    const { claim, getBlock, proof } = await anchorOne(made)
    const easy = regrind(proof.header, (b) => { b.bits = 0x2100ffff }, (hash) => hash <= 0xffffn << 240n)
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, header: easy } }, getBlock), 'easier target than regtest allows')
    // Regtest's own bits are far too easy for mainnet.
    const mainnet = bitcoinVerifier({ headers: made.miner.headers, network: 'bitcoin' })
    const err = await rejection(mainnet.verify({ ...claim, proof: { ...proof, chainId: BITCOIN_NETWORKS.bitcoin.chainId } }, getBlock))
    expect(err.message).toContain('easier target than bitcoin allows')
  })

  it('a changed OP_RETURN, even with the txHash of the changed transaction', async () => {
    const made = setup()
    const { claim, getBlock, proof } = await anchorOne(made)
    const other = await encodeRecord(['another root'])
    const tx = Transaction.fromBuffer(proof.tx)
    tx.outs[0]!.script = script.compile([opcodes.OP_RETURN, Uint8Array.from([...OP_RETURN_PREFIX, ...other.cid.multihash.digest])])
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, tx: tx.toBuffer(), txHash: txHashCID(tx) } }, getBlock), 'no OP_RETURN output')
    tx.outs[0]!.script = script.compile([opcodes.OP_RETURN, proof.root.multihash.digest])
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, tx: tx.toBuffer(), txHash: txHashCID(tx) } }, getBlock), 'no OP_RETURN output')
  })

  it('a changed transaction whose txid is not the proof\'s txHash', async () => {
    const made = setup()
    const { claim, getBlock, proof } = await anchorOne(made)
    const tx = Transaction.fromBuffer(proof.tx)
    tx.outs[1]!.value -= 1n
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, tx: tx.toBuffer() } }, getBlock), 'not its txHash')
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, tx: Uint8Array.from([1, 2, 3]) } }, getBlock), 'not a Bitcoin transaction')
  })

  it('a block unknown to the header source, or off its best chain', async () => {
    const made = setup()
    const { claim, getBlock, proof } = await anchorOne(made)
    await expectInvalid(bitcoinVerifier({ headers: memoryHeaderSource(), network: 'regtest' }).verify(claim, getBlock), 'unknown to the header source')
    // Another chain that knows the block only as a side branch.
    const headers = memoryHeaderSource()
    const otherMiner = regtestMiner({ headers })
    otherMiner.mine()
    headers.add(proof.header)
    expect(await headers.confirmations(parseHeader(proof.header).id)).toBe(-1)
    await expectInvalid(bitcoinVerifier({ headers, network: 'regtest' }).verify(claim, getBlock), 'not on the best chain')
  })

  it('a block with fewer confirmations than asked for, until more blocks are mined on it', async () => {
    const made = setup()
    const { claim, getBlock } = await anchorOne(made)
    const verifier = bitcoinVerifier({ headers: made.miner.headers, network: 'regtest', minConfirmations: 3 })
    await expectInvalid(verifier.verify(claim, getBlock), 'has 1 confirmations; 3 are needed')
    made.miner.mine()
    made.miner.mine()
    await verifier.verify(claim, getBlock)
  })

  it('a proof without the Bitcoin fields, or with a wrong txType', async () => {
    const made = setup()
    const { claim, getBlock, proof } = await anchorOne(made)
    for (const field of ['tx', 'branch', 'index', 'header']) {
      const { [field]: _, ...rest } = proof
      await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: rest as typeof proof }, getBlock), field)
    }
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, header: proof.header.subarray(0, 79) } }, getBlock), '80 bytes')
    await expectInvalid(made.plugin.verifier.verify({ ...claim, proof: { ...proof, txType: 'f(bytes32)' } }, getBlock), 'txType')
  })
})

describe('the Bitcoin anchor service', () => {
  it('reports a batch FAILED when the key has no output large enough', async () => {
    const made = setup({}, 500n)
    const events = recordEvents(made.plugin)
    const request = await newRequest()
    await made.plugin.service.requestAnchor(request)
    await made.plugin.service.anchorPending()
    const failed = events.find((e) => e.status === AnchorStatus.FAILED)
    expect(failed?.message).toContain('unspent output of at least')
  })

  it('reports the batch waiting for a block FAILED when it stops, without leaving the wait running', async () => {
    const miner = regtestMiner({ automine: false })
    const signer = regtestKey()
    miner.fund(payments.p2wpkh({ pubkey: signer.publicKey }).output!, 1_000_000n)
    const waits = inclusionWaits(miner)
    const plugin = bitcoinAnchor({ network: 'regtest', signer, utxos: miner, broadcaster: miner, blocks: waits.blocks, headers: miner.headers, intervalMs: 3_600_000 })({})
    const events = recordEvents({ ...plugin })
    plugin.service.start()
    const request = await newRequest()
    await plugin.service.requestAnchor(request)
    const batch = plugin.service.anchorPending()
    await waits.next()
    await plugin.service.stop()
    await batch
    expect(events.filter((e) => e.tip.equals(request.tip)).map((e) => e.status)).toEqual([AnchorStatus.PENDING, AnchorStatus.PROCESSING, AnchorStatus.FAILED])
    // Stopped, it still anchors on anchorPending(): the aborted wait does not carry over.
    const again = await newRequest()
    await plugin.service.requestAnchor(again)
    const next = plugin.service.anchorPending()
    await waits.next()
    miner.mine()
    await next
    expect(events.filter((e) => e.tip.equals(again.tip)).map((e) => e.status)).toContain(AnchorStatus.ANCHORED)
  })
})
