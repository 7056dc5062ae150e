import { verifyMerklePath } from '@kiln/anchor-merkle'
import { mockChainVerifier } from '@kiln/anchor-mock'
import type { BitcoinNetworkName } from '@kiln/anchor-bitcoin'
import { createNode, memoryStorage, readDocumentCar, type ExportedCommit } from '@kiln/core'
import { accountLink } from '@kiln/doctype-account-link'
import { schema } from '@kiln/doctype-schema'
import { tile } from '@kiln/doctype-tile'
import { AnchorStatus, isKilnError, type AnchorProofVerifier } from '@kiln/interface'

/** The verdict on one commit of an export (or on the file, when it cannot be read). */
export interface CommitReport { docId: string, kind: string, cid: string, ok: boolean, error?: string, name?: string }

/** What `kiln verify` checks anchors against. */
export interface OfflineVerifyOptions {
  /** The mock chain's DID; without it only the Merkle paths of mock anchors are checked. */
  mockChainDid?: string
  /** An Ethereum JSON-RPC endpoint; without it only the Merkle paths of Ethereum anchors are checked. */
  ethRpc?: string
  bitcoinNetwork: BitcoinNetworkName
}

/**
 * A verifier for a chain this process cannot ask: it checks the Merkle path from the proof's root to the anchored
 * commit (from the blocks in the export), and says plainly that the root's place on the chain was not checked.
 */
function pathOnlyVerifier (namespace: string, notes: Set<string>): AnchorProofVerifier {
  return {
    namespace,
    async verify (claim, getBlock) {
      await verifyMerklePath(claim.proof.root, claim.path, claim.prev, getBlock)
      notes.add(`${claim.proof.chainId}: Merkle paths checked; the roots' transactions on the chain were not (${namespace === 'eip155' ? 'pass --eth-rpc <url>' : namespace === 'inmemory' ? 'pass --mock-chain-did <did>' : 'no verifier for this chain here'})`)
      return { timestamp: 0 }
    }
  }
}

/**
 * A header source for verifying with no Bitcoin node at hand: every header counts as on the best chain, so what is
 * checked is the transaction, its branch to the header, and the header's proof of work against its network's limit.
 */
function powOnlyHeaders (notes: Set<string>): { confirmations(hash: string): Promise<number> } {
  return {
    async confirmations () {
      notes.add('bip122: transactions, branches and proof of work checked; whether the blocks are on the best chain was not (no Bitcoin node)')
      return 1
    }
  }
}

/** The chain verifiers `kiln verify` replays with; ethers and bitcoinjs-lib are loaded here, by this command only. */
async function verifiersOf (options: OfflineVerifyOptions, notes: Set<string>): Promise<AnchorProofVerifier[]> {
  const { bitcoinVerifier } = await import('@kiln/anchor-bitcoin')
  const ethereum = options.ethRpc === undefined
    ? pathOnlyVerifier('eip155', notes)
    : (await import('@kiln/anchor-ethereum')).ethereumVerifier({ rpcUrl: options.ethRpc })
  return [
    options.mockChainDid === undefined ? pathOnlyVerifier('inmemory', notes) : mockChainVerifier({ chainDid: options.mockChainDid }),
    ethereum,
    bitcoinVerifier({ network: options.bitcoinNetwork, headers: powOnlyHeaders(notes) })
  ]
}

/**
 * Replays the export `car` into a throw-away in-memory node, commit by commit, stopping at the first that fails.
 * Adds to `notes` what could not be checked. A file that is not an export is one failed report.
 */
export async function verifyExport (car: Uint8Array, fileName: string, options: OfflineVerifyOptions, notes: Set<string>): Promise<CommitReport[]> {
  let commits: ExportedCommit[]
  try {
    commits = (await readDocumentCar(car)).commits
  } catch (err) {
    return [{ docId: '-', kind: 'file', cid: fileName, ok: false, name: (err as Error).name, error: (err as Error).message }]
  }
  const anchors = (await verifiersOf(options, notes)).map((verifier) => () => ({ verifier }))
  const node = await createNode({ doctypes: [tile(), schema(), accountLink()], storage: memoryStorage(), anchors })
  const reports: CommitReport[] = []
  try {
    for (const commit of commits) {
      const report: CommitReport = { docId: commit.docId, kind: commit.kind, cid: commit.cid.toString(), ok: true }
      try {
        if (commit.kind === 'genesis') await node.createDocument(commit.type, commit.value, { anchor: false })
        else await node.applyCommit(commit.docId, commit.value, { anchor: false, blocks: commit.supporting })
      } catch (err) {
        report.ok = false
        report.name = isKilnError(err) ? err.name : 'Error'
        report.error = (err as Error).message
      }
      reports.push(report)
      if (!report.ok) break
    }
    const last = reports[reports.length - 1]
    if (last?.ok === true) {
      const { state } = await node.load(last.docId)
      if (state.anchorStatus !== AnchorStatus.ANCHORED) notes.add(`${last.docId} has no anchor after its last update`)
    }
  } finally {
    await node.stop()
  }
  return reports
}
