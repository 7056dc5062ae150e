import { Transaction, opcodes, payments, script, type Network, type Signer } from 'bitcoinjs-lib'
import { InvalidAnchorProofError } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { InsufficientFundsError } from './errors.js'
import { displayHex } from './header.js'

/** The `txType` of every Bitcoin proof: the root is in an `OP_RETURN` output. */
export const BITCOIN_TX_TYPE = 'op_return'

/** The 4 bytes before the root digest in the `OP_RETURN` output, so that Kiln's anchors can be told apart on chain. */
export const OP_RETURN_PREFIX: Uint8Array = new TextEncoder().encode('KILN')

/** Multicodec `bitcoin-tx`: the codec of a proof's `txHash` CID. */
export const BITCOIN_TX_CODEC = 0xb1

/** Multihash `dbl-sha2-256`: the hash of a proof's `txHash` CID. */
export const DBL_SHA2_256 = 0x56

const SHA2_256 = 0x12

/** The kinds of output the anchoring key can spend. */
export type BitcoinAddressType = 'p2wpkh' | 'p2pkh'

/** An unspent output the anchoring key can spend. */
export interface Utxo {
  /** The transaction id as Bitcoin Core shows it (hex, reversed byte order). */
  txid: string
  vout: number
  /** Satoshis. */
  value: bigint
}

/** The `OP_RETURN` data that anchors `root`: `KILN` ‖ the root's 32-byte sha2-256 digest. */
export function opReturnData (root: CID): Uint8Array {
  if (root.multihash.code !== SHA2_256 || root.multihash.digest.length !== 32) {
    throw new InvalidAnchorProofError(`a Bitcoin anchor root must be a sha2-256 CID, got ${root.toString()}`, { details: { root: root.toString() } })
  }
  const data = new Uint8Array(OP_RETURN_PREFIX.length + 32)
  data.set(OP_RETURN_PREFIX, 0)
  data.set(root.multihash.digest, OP_RETURN_PREFIX.length)
  return data
}

/** The data pushes of every `OP_RETURN` output of `tx` that holds exactly one push. */
export function opReturnPushes (tx: Transaction): Uint8Array[] {
  const found: Uint8Array[] = []
  for (const output of tx.outs) {
    const chunks = script.decompile(output.script)
    if (chunks?.length === 2 && chunks[0] === opcodes.OP_RETURN && chunks[1] instanceof Uint8Array) found.push(chunks[1])
  }
  return found
}

/** The proof's `txHash`: the transaction's hash (txid, internal byte order) as a `bitcoin-tx`, `dbl-sha2-256` CID. */
export function txHashCID (tx: Transaction): CID {
  return CID.createV1(BITCOIN_TX_CODEC, createDigest(DBL_SHA2_256, tx.getHash()))
}

/** The output script paying `publicKey` as `type`. */
export function outputScript (publicKey: Uint8Array, type: BitcoinAddressType, network: Network): Uint8Array {
  const payment = type === 'p2wpkh' ? payments.p2wpkh({ pubkey: publicKey, network }) : payments.p2pkh({ pubkey: publicKey, network })
  return payment.output!
}

/** Below these many satoshis an output is dust that nodes do not relay (Bitcoin Core, 3 sat/vB dust relay fee). */
const DUST: Record<BitcoinAddressType, bigint> = { p2wpkh: 294n, p2pkh: 546n }

/** What {@link buildAnchorTransaction} needs. */
export interface AnchorTransactionInput {
  root: CID
  utxos: readonly Utxo[]
  signer: Signer
  addressType: BitcoinAddressType
  network: Network
  /** Satoshis per virtual byte. */
  feeRate: number
}

/**
 * Builds and signs a transaction spending one of `utxos` to an `OP_RETURN` output with `root` and a change output back
 * to the signer; the fee is `feeRate` times the signed size. Throws `InsufficientFundsError` when no output is enough.
 */
export function buildAnchorTransaction (input: AnchorTransactionInput): Transaction {
  const { root, signer, addressType, network, feeRate } = input
  const data = opReturnData(root)
  const change = outputScript(signer.publicKey, addressType, network)
  // Any output pays the same size of transaction: the fee is known before one is chosen.
  const probe = signed({ txid: '00'.repeat(32), vout: 0, value: 0n }, 0n)
  const fee = BigInt(Math.ceil((probe.virtualSize() + 1) * feeRate))
  const needed = fee + DUST[addressType]
  const utxo = [...input.utxos].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0)).find((u) => u.value >= needed)
  if (utxo === undefined) {
    const largest = input.utxos.reduce((max, u) => (u.value > max ? u.value : max), 0n)
    throw new InsufficientFundsError(`anchoring needs an unspent output of at least ${needed} sat (fee ${fee} + dust); the largest of ${input.utxos.length} is ${largest} sat`, {
      details: { needed: needed.toString(), largest: largest.toString() }
    })
  }
  return signed(utxo, utxo.value - fee)

  function signed (utxo: Utxo, changeValue: bigint): Transaction {
    const tx = new Transaction()
    tx.version = 2
    tx.addInput(Uint8Array.from(Buffer.from(utxo.txid, 'hex').reverse()), utxo.vout)
    tx.addOutput(script.compile([opcodes.OP_RETURN, data]), 0n)
    tx.addOutput(change, changeValue)
    // Both kinds sign the P2PKH script code of the key (BIP 143 for P2WPKH).
    const scriptCode = payments.p2pkh({ pubkey: signer.publicKey, network }).output!
    if (addressType === 'p2wpkh') {
      const hash = tx.hashForWitnessV0(0, scriptCode, utxo.value, Transaction.SIGHASH_ALL)
      tx.setWitness(0, [script.signature.encode(signer.sign(hash), Transaction.SIGHASH_ALL), signer.publicKey])
    } else {
      const hash = tx.hashForSignature(0, scriptCode, Transaction.SIGHASH_ALL)
      const signature = script.signature.encode(signer.sign(hash), Transaction.SIGHASH_ALL)
      tx.setInputScript(0, payments.p2pkh({ pubkey: signer.publicKey, signature, network }).input!)
    }
    return tx
  }
}

/** The txid of `tx` as Bitcoin Core shows it. */
export function txidOf (tx: Transaction): string {
  return displayHex(tx.getHash())
}
