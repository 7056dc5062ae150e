import { Block, Transaction, crypto, opcodes, script } from 'bitcoinjs-lib'
import { AbortError, type AbortOptions } from '@kiln/interface'
import { TransactionRejectedError } from './errors.js'
import { displayHex, fromDisplayHex, meetsTarget, parseHeader } from './header.js'
import { memoryHeaderSource, type MemoryHeaderSource } from './header-source.js'
import { merkleBranch, merkleRootOf } from './merkle-branch.js'
import { BITCOIN_NETWORKS } from './networks.js'
import type { BlockSource, Broadcaster, TxInclusion, UtxoSource } from './service.js'
import { txidOf, type Utxo } from './transaction.js'

/** Regtest's genesis block: the parent of the miner's first block. */
const REGTEST_GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'

/** An in-process regtest chain for tests and development: it mines real blocks, but is no Bitcoin node. */
export interface RegtestMiner extends UtxoSource, Broadcaster, BlockSource {
  /** The header source every mined header goes to; give it to the verifier. */
  readonly headers: MemoryHeaderSource
  /** Mines a block whose coinbase pays `value` satoshis to `outputScript`, and returns that output. */
  fund(outputScript: Uint8Array, value: bigint): Utxo
  /** Mines the transactions waiting into a block (an empty one if none) and returns its 80-byte header. */
  mine(): Uint8Array
  /** The whole serialized block `blockHash` (hex as Bitcoin Core shows it), or `undefined`. */
  block(blockHash: string): Uint8Array | undefined
}

/** Options of {@link regtestMiner}. */
export interface RegtestMinerInit {
  /** Where mined headers go; a new `memoryHeaderSource()` by default. */
  headers?: MemoryHeaderSource
  /** Mine a block as soon as a transaction is broadcast; true by default. */
  automine?: boolean
}

interface Output { script: Uint8Array, value: bigint }

/**
 * An in-process regtest "miner": assembles blocks of a coinbase and the broadcast transactions, with a witness
 * commitment when needed, and grinds each nonce until the header meets regtest's target (about two tries). It tracks the
 * outputs it mined, but checks no signature, no fee and no coinbase maturity: a stand-in for `bitcoind -regtest`.
 */
export function regtestMiner (init: RegtestMinerInit = {}): RegtestMiner {
  const headers = init.headers ?? memoryHeaderSource()
  const automine = init.automine ?? true
  const unspent = new Map<string, Output>()
  const mempool: Transaction[] = []
  const included = new Map<string, TxInclusion>()
  const blocks = new Map<string, Uint8Array>()
  const waiters = new Map<string, Array<(inclusion: TxInclusion) => void>>()
  let tip = fromDisplayHex(REGTEST_GENESIS)
  let height = 0
  let lastTime = 0

  function addOutputs (tx: Transaction): void {
    const txid = txidOf(tx)
    tx.outs.forEach((out, vout) => {
      if (out.script[0] !== opcodes.OP_RETURN) unspent.set(`${txid}:${vout}`, { script: out.script, value: out.value })
    })
  }

  function coinbase (outputs: Output[], witnessCommitment: Uint8Array | undefined): Transaction {
    const tx = new Transaction()
    tx.version = 2
    // BIP 34: the height starts the coinbase script.
    tx.addInput(new Uint8Array(32), 0xffffffff, 0xffffffff, script.compile([script.number.encode(height + 1), new TextEncoder().encode('kiln regtest')]))
    for (const out of outputs) tx.addOutput(out.script, out.value)
    if (witnessCommitment !== undefined) {
      tx.addOutput(script.compile([opcodes.OP_RETURN, Uint8Array.from([0xaa, 0x21, 0xa9, 0xed, ...witnessCommitment])]), 0n)
      tx.setWitness(0, [new Uint8Array(32)])
    }
    return tx
  }

  function mineBlock (outputs: Output[]): Uint8Array {
    const txs = mempool.splice(0)
    // BIP 141: a block with witnesses commits to their root (the coinbase's wtxid counts as zero) in its coinbase.
    const commitment = txs.some((t) => t.hasWitnesses())
      ? crypto.hash256(Uint8Array.from([...merkleRootOf([new Uint8Array(32), ...txs.map((t) => t.getHash(true))]), ...new Uint8Array(32)]))
      : undefined
    const all = [coinbase(outputs, commitment), ...txs]
    const hashes = all.map((t) => t.getHash())
    const block = new Block()
    block.version = 0x20000000
    block.prevHash = tip
    block.merkleRoot = merkleRootOf(hashes)
    lastTime = Math.max(lastTime + 1, Math.floor(Date.now() / 1000))
    block.timestamp = lastTime
    block.bits = BITCOIN_NETWORKS.regtest.powLimitBits
    block.transactions = all
    for (block.nonce = 0; !meetsTarget(parseHeader(block.toBuffer(true))); block.nonce++);
    const header = block.toBuffer(true)
    const hash = crypto.hash256(header)
    tip = hash
    height++
    blocks.set(displayHex(hash), block.toBuffer())
    headers.add(header)
    addOutputs(all[0]!)
    all.forEach((tx, index) => {
      const txid = txidOf(tx)
      const inclusion = { header, index, branch: merkleBranch(hashes, index) }
      included.set(txid, inclusion)
      for (const wake of waiters.get(txid) ?? []) wake(inclusion)
      waiters.delete(txid)
    })
    return header
  }

  return {
    headers,
    fund (outputScript, value) {
      const header = mineBlock([{ script: outputScript, value }])
      const block = Block.fromBuffer(blocks.get(parseHeader(header).id)!)
      return { txid: txidOf(block.transactions![0]!), vout: 0, value }
    },
    mine () {
      return mineBlock([])
    },
    block (blockHash) {
      return blocks.get(blockHash)
    },
    async listUnspent (outputScript) {
      const found: Utxo[] = []
      for (const [key, out] of unspent) {
        if (Buffer.compare(out.script, outputScript) !== 0) continue
        const [txid, vout] = key.split(':')
        found.push({ txid: txid!, vout: Number(vout), value: out.value })
      }
      return found
    },
    async broadcast (rawTransaction) {
      let tx: Transaction
      try {
        tx = Transaction.fromBuffer(rawTransaction)
      } catch (err) {
        throw new TransactionRejectedError(`the regtest miner cannot parse the transaction: ${(err as Error).message}`, { cause: err })
      }
      const spends = tx.ins.map((input) => `${displayHex(input.hash)}:${input.index}`)
      const missing = spends.find((key) => !unspent.has(key))
      if (missing !== undefined) throw new TransactionRejectedError(`transaction ${txidOf(tx)} spends ${missing}, which is not unspent`)
      for (const key of spends) unspent.delete(key)
      // Spendable at once, as `listunspent 0` lists unconfirmed change: the next batch need not wait for a block.
      addOutputs(tx)
      mempool.push(tx)
      if (automine) mineBlock([])
    },
    async waitForInclusion (txid, options: AbortOptions = {}) {
      const known = included.get(txid)
      if (known !== undefined) return known
      return await new Promise<TxInclusion>((resolve, reject) => {
        const signal = options.signal
        if (signal?.aborted === true) { reject(new AbortError(`stopped waiting for ${txid} to be mined`)); return }
        const onAbort = (): void => { reject(new AbortError(`stopped waiting for ${txid} to be mined`, { cause: signal?.reason })) }
        signal?.addEventListener('abort', onAbort, { once: true })
        waiters.set(txid, [...(waiters.get(txid) ?? []), (inclusion) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(inclusion)
        }])
      })
    }
  }
}
