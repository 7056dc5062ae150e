import { decodeJWS, decodeRecord, signRecord, type SignedBlocks } from '@kiln/codec'
import { InvalidAnchorProofError, isKilnError, type AbortOptions, type ErrorDetails, type BlockGetter, type DIDSigner, type SignatureVerifier } from '@kiln/interface'
import { CID } from 'multiformats/cid'

/** The `txType` of every mock chain proof: `txHash` is the CID of a DAG-JWS (dag-jose) block signed by the chain. */
export const MOCK_TX_TYPE = 'dag-jws'

/** A mock chain transaction: the one block of height `height`, which puts `root` on chain `chainId` at `timestamp`. */
export interface MockTransaction {
  chainId: string
  height: number
  /** Unix seconds. */
  timestamp: number
  root: CID
}

/** Signs a transaction with the chain's key: the dag-jose envelope (whose CID is the proof's `txHash`) and its payload. */
export async function signTransaction (tx: MockTransaction, chain: Pick<DIDSigner, 'createDagJWS'>): Promise<SignedBlocks<MockTransaction>> {
  return await signRecord(tx, chain)
}

/**
 * Reads the transaction `txHash` names through `getBlock`, checks that the chain's DID signed it and that it has the
 * shape of a transaction; throws `InvalidAnchorProofError` otherwise.
 */
export async function readTransaction (
  txHash: CID,
  chainDid: string,
  getBlock: BlockGetter,
  verifier: SignatureVerifier,
  options: AbortOptions
): Promise<MockTransaction> {
  const where = `mock chain transaction ${txHash.toString()}`
  const details = { txHash: txHash.toString(), chainDid }
  const jws = await step(`${where} cannot be read`, async () => await decodeJWS(await getBlock(txHash, options), txHash), details)
  await step(`${where} is not signed by the chain ${chainDid}`, async () => {
    await verifier.verifyDagJWS(jws, { controllers: [chainDid], signal: options.signal })
  }, details)
  const value = await step(`the payload of ${where} cannot be read`, async () => await decodeRecord(await getBlock(jws.link, options), jws.link), details)
  return asTransaction(value, where, details)
}

function asTransaction (value: unknown, where: string, details: ErrorDetails): MockTransaction {
  const tx = value as Partial<Record<keyof MockTransaction, unknown>> | null
  const valid = typeof tx === 'object' && tx !== null &&
    typeof tx.chainId === 'string' &&
    Number.isSafeInteger(tx.height) && (tx.height as number) > 0 &&
    Number.isSafeInteger(tx.timestamp) && (tx.timestamp as number) >= 0 &&
    CID.asCID(tx.root) !== null
  if (!valid) throw new InvalidAnchorProofError(`${where} is not {chainId, height, timestamp, root}`, { details })
  return tx as MockTransaction
}

/** Runs one step of a verification; any failure but an abort becomes an `InvalidAnchorProofError` with `message`. */
export async function step<T> (message: string, fn: () => Promise<T>, details: ErrorDetails = {}): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (isKilnError(err, 'AbortError') || isKilnError(err, 'InvalidAnchorProofError')) throw err
    throw new InvalidAnchorProofError(`${message}: ${(err as Error)?.message ?? String(err)}`, { cause: err, details })
  }
}
