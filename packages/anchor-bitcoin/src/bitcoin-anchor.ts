import type { Signer } from 'bitcoinjs-lib'
import type { AnchorComponents, AnchorProofVerifier } from '@kiln/interface'
import { InvalidBitcoinAnchorOptionError } from './errors.js'
import type { BlockHeaderSource } from './header-source.js'
import { bitcoinNetwork, type BitcoinNetworkName } from './networks.js'
import { BitcoinService, type BitcoinAnchorService, type BlockSource, type Broadcaster, type UtxoSource } from './service.js'
import type { BitcoinAddressType } from './transaction.js'
import { bitcoinVerifier } from './verifier.js'

/** Options of {@link bitcoinAnchor}. */
export interface BitcoinAnchorInit {
  network: BitcoinNetworkName
  /**
   * The key that pays for anchors: a bitcoinjs-lib `Signer` (`{ publicKey, sign(hash) }`), such as
   * `ECPairFactory(ecc).fromWIF(wif, network)` from `ecpair`.
   */
  signer: Signer
  /** How the key's outputs are spent and its change paid; `p2wpkh` by default. */
  addressType?: BitcoinAddressType
  /** Satoshis per virtual byte; 2 by default. */
  feeRate?: number
  /** How often pending requests are anchored as one transaction, in milliseconds; 600 000 (ten minutes) by default. */
  intervalMs?: number
  utxos: UtxoSource
  broadcaster: Broadcaster
  blocks: BlockSource
  /** Asked by the verifier whether a block is on the best chain. */
  headers: BlockHeaderSource
  /** Confirmations the verifier needs; 1 by default. */
  minConfirmations?: number
}

/** What `bitcoinAnchor(init)(components)` gives: the service and a verifier of Bitcoin anchors. */
export interface BitcoinAnchorPlugin {
  service: BitcoinAnchorService
  verifier: AnchorProofVerifier
}

/**
 * Anchors in Bitcoin: batches requests into a Merkle tree every `intervalMs`, puts the root in an `OP_RETURN` output of
 * a transaction signed by `signer`, and makes self-verifying proofs from the block it is mined in; see the README.
 */
export function bitcoinAnchor (init: BitcoinAnchorInit): (components: AnchorComponents) => BitcoinAnchorPlugin {
  const network = bitcoinNetwork(init.network)
  const intervalMs = init.intervalMs ?? 600_000
  const feeRate = init.feeRate ?? 2
  const addressType = init.addressType ?? 'p2wpkh'
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new InvalidBitcoinAnchorOptionError(`intervalMs must be a positive number of milliseconds, got ${String(intervalMs)}`)
  }
  if (typeof feeRate !== 'number' || !Number.isFinite(feeRate) || feeRate < 1) {
    throw new InvalidBitcoinAnchorOptionError(`feeRate must be at least 1 satoshi per virtual byte, got ${String(feeRate)}`)
  }
  if (addressType !== 'p2wpkh' && addressType !== 'p2pkh') {
    throw new InvalidBitcoinAnchorOptionError(`addressType must be p2wpkh or p2pkh, got ${JSON.stringify(addressType)}`)
  }
  if (!(init.signer?.publicKey instanceof Uint8Array) || typeof init.signer.sign !== 'function') {
    throw new InvalidBitcoinAnchorOptionError('signer must be a bitcoinjs-lib Signer: { publicKey, sign(hash) }')
  }
  const verifier = bitcoinVerifier({ headers: init.headers, network: network.name, minConfirmations: init.minConfirmations })
  return (components) => ({
    service: new BitcoinService({
      network,
      signer: init.signer,
      addressType,
      feeRate,
      utxos: init.utxos,
      broadcaster: init.broadcaster,
      blocks: init.blocks,
      intervalMs,
      logger: components.logger
    }),
    verifier
  })
}
