import type { AnchorComponents, AnchorProofVerifier } from '@kiln/interface'
import { Wallet } from 'ethers'
import { chainNumberOf } from './chain-id.js'
import { InvalidEthereumAnchorOptionError } from './errors.js'
import { endpointOf, providerOf, type RpcInit } from './rpc.js'
import { EthereumChainService, type EthereumAnchorService } from './service.js'
import { addressOf, confirmationsOf, makeVerifier } from './verifier.js'

/** Options of {@link ethereumAnchor}. */
export interface EthereumAnchorInit extends RpcInit {
  /** The CAIP-2 id of the chain, `eip155:<chain id>`; the endpoint must serve it (checked before the first transaction). */
  chainId: string
  /** The hex private key (`0x` + 64 hex digits) of the account that sends and pays for the anchor transactions. */
  privateKey: string
  /** The address of a KilnAnchor contract (`deployAnchorContract`): roots go as `anchor(bytes32)` calls. Without it, as raw transactions. */
  contract?: string
  /** How often pending requests go on chain, in milliseconds; 60 000 by default. Each interval costs one transaction per `maxBatch` requests. */
  intervalMs?: number
  /** The most requests one transaction anchors; a bigger queue is split into several transactions. 10 000 by default. */
  maxBatch?: number
  /** Blocks (the anchor's own included) the service waits for before ANCHORED and the verifier requires; 1 by default. */
  confirmations?: number
  /** How long the service waits for a transaction to be mined and confirmed before reporting its batch FAILED; 10 minutes by default. */
  timeoutMs?: number
}

/** What `ethereumAnchor(init)(components)` gives: the chain's anchor service and a verifier of its anchors. */
export interface EthereumAnchorPlugin {
  service: EthereumAnchorService
  verifier: AnchorProofVerifier
}

/**
 * Anchors on an EVM chain over JSON-RPC: every `intervalMs` the pending `(docId, tip)` requests become one Merkle root,
 * sent in one transaction (a KilnAnchor contract call, or raw data), and the verifier checks such anchors on the same
 * endpoint; see the package README.
 */
export function ethereumAnchor (init: EthereumAnchorInit): (components: AnchorComponents) => EthereumAnchorPlugin {
  const chainId = init?.chainId
  const chainNumber = chainNumberOf(chainId)
  const intervalMs = positive(init.intervalMs ?? 60_000, 'intervalMs', false)
  const maxBatch = positive(init.maxBatch ?? 10_000, 'maxBatch', true)
  const timeoutMs = positive(init.timeoutMs ?? 600_000, 'timeoutMs', false)
  const confirmations = confirmationsOf(init.confirmations)
  const contract = init.contract === undefined ? undefined : addressOf(init.contract, 'contract')
  const endpoint = endpointOf(init)
  const privateKey = init.privateKey
  try {
    // Checked now, so that a bad key fails at configuration and not at the first batch.
    void new Wallet(privateKey)
  } catch (err) {
    throw new InvalidEthereumAnchorOptionError('privateKey must be a secp256k1 private key, 0x and 64 hex digits', { cause: err })
  }
  // Checks rpcUrl now too; the service and verifier of each plugin then share one provider.
  providerOf(init, chainNumber)
  return (components) => {
    const provider = providerOf(init, chainNumber)
    const wallet = new Wallet(privateKey, provider)
    return {
      service: new EthereumChainService({
        chainId, chainNumber, endpoint, provider, wallet, contract, intervalMs, maxBatch, confirmations, timeoutMs, logger: components.logger
      }),
      verifier: makeVerifier(provider, endpoint, chainNumber, confirmations, contract)
    }
  }
}

function positive (value: number, option: string, whole: boolean): number {
  const valid = typeof value === 'number' && Number.isFinite(value) && value > 0 && (!whole || Number.isSafeInteger(value))
  if (!valid) {
    throw new InvalidEthereumAnchorOptionError(`${option} must be a positive ${whole ? 'whole number' : 'number'}, got ${String(value)}`, {
      details: { [option]: String(value) }
    })
  }
  return value
}
