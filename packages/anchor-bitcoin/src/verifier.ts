import { Transaction } from 'bitcoinjs-lib'
import { asAnchorProof, equalBytes } from '@kiln/codec'
import { verifyMerklePath } from '@kiln/anchor-merkle'
import {
  AbortError,
  InvalidAnchorProofError,
  UnsupportedChainError,
  isKilnError,
  type AbortOptions,
  type AnchorClaim,
  type AnchorProofVerifier,
  type BlockGetter,
  type ErrorDetails
} from '@kiln/interface'
import { InvalidBitcoinAnchorOptionError } from './errors.js'
import { hashToNumber, parseHeader, targetFromBits } from './header.js'
import type { BlockHeaderSource } from './header-source.js'
import { MAX_BRANCH_LENGTH, merkleRootFromBranch } from './merkle-branch.js'
import { BITCOIN_NAMESPACE, bitcoinNetwork, type BitcoinNetworkName } from './networks.js'
import { BITCOIN_TX_TYPE, opReturnData, opReturnPushes, txHashCID } from './transaction.js'

/** Options of {@link bitcoinVerifier}. */
export interface BitcoinVerifierInit {
  /** Answers whether a block is on the best chain; a Bitcoin Core node behind `bitcoinCoreHeaderSource` in production. */
  headers: BlockHeaderSource
  /** The one network whose anchors it accepts; `bitcoin` (mainnet) by default. */
  network?: BitcoinNetworkName
  /** How many confirmations the anchor's block needs; 1 (on the best chain) by default. */
  minConfirmations?: number
}

/** The Bitcoin-specific fields of a proof, after the common `{chainId, root, txHash, txType}`. */
interface BitcoinProofFields {
  tx: Uint8Array
  branch: Uint8Array[]
  index: number
  header: Uint8Array
}

/**
 * A verifier of Kiln's Bitcoin anchors (namespace `bip122`): checks the proof's transaction, its `OP_RETURN`, its Merkle
 * branch to the header, the header's proof of work and network limit, asks `headers` whether the block is on the best
 * chain, then walks the document's path; resolves with the header's time.
 */
export function bitcoinVerifier (init: BitcoinVerifierInit): AnchorProofVerifier {
  const network = bitcoinNetwork(init.network ?? 'bitcoin')
  const minConfirmations = init.minConfirmations ?? 1
  if (!Number.isSafeInteger(minConfirmations) || minConfirmations < 1) {
    throw new InvalidBitcoinAnchorOptionError(`minConfirmations must be a positive integer, got ${String(minConfirmations)}`)
  }
  const headers = init.headers
  const powLimit = targetFromBits(network.powLimitBits)!

  async function verify (claim: AnchorClaim, getBlock: BlockGetter, options: AbortOptions = {}): Promise<{ timestamp: number }> {
    if (options.signal?.aborted === true) throw new AbortError('anchor verification aborted', { cause: options.signal.reason })
    const proof = await step('the anchor proof is malformed', async () => asAnchorProof(claim.proof))
    if (proof.chainId.split(':')[0] !== BITCOIN_NAMESPACE) {
      throw new UnsupportedChainError(`the Bitcoin verifier checks ${BITCOIN_NAMESPACE} chains, not ${proof.chainId}`, { details: { chainId: proof.chainId } })
    }
    const details: ErrorDetails = { chainId: proof.chainId, root: proof.root.toString(), txHash: proof.txHash.toString(), path: claim.path }
    const fail = (message: string): never => { throw new InvalidAnchorProofError(message, { details }) }
    if (proof.chainId !== network.chainId) fail(`the proof names chain ${proof.chainId}; this verifier checks ${network.name} (${network.chainId})`)
    if (proof.txType !== BITCOIN_TX_TYPE) fail(`the proof's txType is ${JSON.stringify(proof.txType)}, not "${BITCOIN_TX_TYPE}"`)
    const fields = bitcoinFields(proof, fail)

    // 1. The transaction is the one the proof names, and anchors the proof's root.
    const tx = await step('the proof\'s tx is not a Bitcoin transaction', async () => Transaction.fromBuffer(fields.tx), details)
    const txid = txHashCID(tx)
    // equals() is a type guard: its false branch would narrow txHash to never.
    const sameTx: boolean = txid.equals(proof.txHash)
    if (!sameTx) fail(`the proof's tx hashes to ${txid.toString()}, not its txHash ${proof.txHash.toString()}`)
    // A 64-byte transaction could pass for an inner node of the Merkle tree.
    if (tx.byteLength(false) === 64) fail('the proof\'s tx is 64 bytes long, which could be an inner Merkle node')
    const expected = await step('the proof\'s root cannot be anchored in Bitcoin', async () => opReturnData(proof.root), details)
    const pushes = opReturnPushes(tx)
    if (!pushes.some((data) => equalBytes(data, expected))) {
      const found = pushes.map((d) => Buffer.from(d).toString('hex')).join(', ') || 'none'
      fail(`the proof's tx has no OP_RETURN output with KILN and the digest of ${proof.root.toString()} (OP_RETURN data found: ${found})`)
    }

    // 2. The branch leads from the transaction to the header's Merkle root.
    const header = await step('the proof\'s header is not a Bitcoin block header', async () => parseHeader(fields.header), details)
    const merkleRoot = merkleRootFromBranch(tx.getHash(), fields.branch, fields.index)
    if (!equalBytes(merkleRoot, header.merkleRoot)) fail(`the proof's branch at index ${fields.index} does not lead to the Merkle root of block ${header.id}`)

    // 3. The header did the work it claims, and claims no easier target than the network allows.
    const target = targetFromBits(header.bits)
    if (target === undefined) fail(`block ${header.id} has invalid bits 0x${header.bits.toString(16)}`)
    if (target! > powLimit) {
      fail(`block ${header.id} claims bits 0x${header.bits.toString(16)}, an easier target than ${network.name} allows (0x${network.powLimitBits.toString(16)})`)
    }
    if (hashToNumber(header.hash) > target!) fail(`block ${header.id} does not meet its own target (bits 0x${header.bits.toString(16)})`)

    // 4. The block is on the best chain, deep enough.
    const confirmations = await step(`cannot ask the header source about block ${header.id}`, async () => await headers.confirmations(header.id, options), details)
    if (confirmations === undefined) fail(`block ${header.id} is unknown to the header source`)
    if (confirmations! < 1) fail(`block ${header.id} is not on the best chain`)
    if (confirmations! < minConfirmations) fail(`block ${header.id} has ${confirmations!} confirmations; ${minConfirmations} are needed`)

    await verifyMerklePath(proof.root, claim.path, claim.prev, getBlock, options)
    return { timestamp: header.timestamp }
  }

  return Object.freeze({ namespace: BITCOIN_NAMESPACE, verify })
}

function bitcoinFields (proof: Record<string, unknown>, fail: (message: string) => never): BitcoinProofFields {
  const { tx, branch, index, header } = proof
  if (!(tx instanceof Uint8Array)) fail('the proof has no tx bytes')
  if (!(header instanceof Uint8Array)) fail('the proof has no header bytes')
  if (!Array.isArray(branch) || branch.length > MAX_BRANCH_LENGTH || !branch.every((h) => h instanceof Uint8Array && h.length === 32)) {
    fail(`the proof's branch must be a list of at most ${MAX_BRANCH_LENGTH} 32-byte hashes`)
  }
  const length = (branch as unknown[]).length
  if (!Number.isSafeInteger(index) || (index as number) < 0 || (index as number) >= 2 ** length) {
    fail(`the proof's index must be an integer from 0 to ${2 ** length - 1} for a branch of ${length}, got ${String(index)}`)
  }
  return { tx: tx as Uint8Array, branch: branch as Uint8Array[], index: index as number, header: header as Uint8Array }
}

/** Runs one step of a verification; any failure but an abort becomes an `InvalidAnchorProofError` with `message`. */
async function step<T> (message: string, fn: () => Promise<T>, details: ErrorDetails = {}): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (isKilnError(err, 'AbortError') || isKilnError(err, 'InvalidAnchorProofError')) throw err
    throw new InvalidAnchorProofError(`${message}: ${(err as Error)?.message ?? String(err)}`, { cause: err, details })
  }
}
