import { asAnchorProof } from '@kiln/codec'
import { verifyMerklePath } from '@kiln/anchor-merkle'
import { createVerifier } from '@kiln/signing'
import {
  AbortError,
  InvalidAnchorProofError,
  UnsupportedChainError,
  type AnchorClaim,
  type AnchorProofVerifier,
  type BlockGetter,
  type AbortOptions,
  type SignatureVerifier
} from '@kiln/interface'
import { MOCK_TX_TYPE, readTransaction, step, type MockTransaction } from './transaction.js'

/** The CAIP-2 namespace of mock chains. */
export const MOCK_NAMESPACE = 'inmemory'

/** The chain id a mock chain has unless told otherwise. */
export const MOCK_CHAIN_ID = 'inmemory:12345'

/** Options of {@link mockChainVerifier}. */
export interface MockChainVerifierInit {
  /** The DID of the chain's key: only transactions it signed count. `service.chainDid` of the chain that made them. */
  chainDid: string
  /** The one chain id it accepts; `inmemory:12345` by default. */
  chainId?: string
  /** Checks the chain's signatures; a `did:key` verifier from `@kiln/signing` by default. */
  signatureVerifier?: SignatureVerifier
}

// A batch of n anchors shares one transaction: verifying its signature once instead of n times is the point.
const VERIFIED_TX_CACHE = 1024

/** A verifier of one mock chain's anchors, for a node that checks them without running the chain itself. */
export function mockChainVerifier (init: MockChainVerifierInit): AnchorProofVerifier {
  const { chainDid } = init
  const chainId = init.chainId ?? MOCK_CHAIN_ID
  const signatures = init.signatureVerifier ?? createVerifier()
  const verified = new Map<string, MockTransaction>()

  async function transaction (claim: AnchorClaim, getBlock: BlockGetter, options: AbortOptions): Promise<MockTransaction> {
    const key = claim.proof.txHash.toString()
    const cached = verified.get(key)
    if (cached !== undefined) return cached
    const tx = await readTransaction(claim.proof.txHash, chainDid, getBlock, signatures, options)
    if (verified.size >= VERIFIED_TX_CACHE) verified.delete(verified.keys().next().value!)
    verified.set(key, tx)
    return tx
  }

  async function verify (claim: AnchorClaim, getBlock: BlockGetter, options: AbortOptions = {}): Promise<{ timestamp: number }> {
    if (options.signal?.aborted === true) throw new AbortError('anchor verification aborted', { cause: options.signal.reason })
    const proof = await step('the anchor proof is malformed', async () => asAnchorProof(claim.proof))
    const namespace = proof.chainId.split(':')[0]
    if (namespace !== MOCK_NAMESPACE) {
      throw new UnsupportedChainError(`the mock chain verifier checks ${MOCK_NAMESPACE} chains, not ${proof.chainId}`, { details: { chainId: proof.chainId } })
    }
    const details = { chainId: proof.chainId, root: proof.root.toString(), txHash: proof.txHash.toString(), path: claim.path }
    if (proof.chainId !== chainId) {
      throw new InvalidAnchorProofError(`the proof names chain ${proof.chainId}; this verifier checks ${chainId}`, { details })
    }
    if (proof.txType !== MOCK_TX_TYPE) {
      throw new InvalidAnchorProofError(`the proof's txType is ${JSON.stringify(proof.txType)}, not "${MOCK_TX_TYPE}"`, { details })
    }
    const tx = await transaction({ ...claim, proof }, getBlock, options)
    if (tx.chainId !== proof.chainId) {
      throw new InvalidAnchorProofError(`transaction ${proof.txHash.toString()} is on chain ${tx.chainId}, not ${proof.chainId}`, { details })
    }
    const sameRoot: boolean = proof.root.equals(tx.root)
    if (!sameRoot) {
      throw new InvalidAnchorProofError(`transaction ${proof.txHash.toString()} anchors root ${tx.root.toString()}, not ${proof.root.toString()}`, { details })
    }
    await verifyMerklePath(proof.root, claim.path, claim.prev, getBlock, options)
    return { timestamp: tx.timestamp }
  }

  return Object.freeze({ namespace: MOCK_NAMESPACE, verify })
}
