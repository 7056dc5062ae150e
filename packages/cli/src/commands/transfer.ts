import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { verifyMerklePath } from '@kiln/anchor-merkle'
import { bitcoinVerifier, BITCOIN_NETWORKS, type BitcoinNetworkName } from '@kiln/anchor-bitcoin'
import { ethereumVerifier } from '@kiln/anchor-ethereum'
import { mockChainVerifier } from '@kiln/anchor-mock'
import { createNode, memoryStorage, readDocumentCar, type ExportedCommit } from '@kiln/core'
import { accountLink } from '@kiln/doctype-account-link'
import { schema } from '@kiln/doctype-schema'
import { tile } from '@kiln/doctype-tile'
import { AnchorStatus, isKilnError, type AnchorFactory, type AnchorProofVerifier } from '@kiln/interface'
import { UsageError } from '../errors.js'
import { describeState, printJSON, snapshotJSON, withProgress, nameOfType, type CliIO } from '../output.js'
import { clientOf, clientOptions } from './client-options.js'
import type { Command } from './command.js'

/** `kiln export`: a document as one CAR file. */
export const exportCommand: Command = {
  summary: 'write a document as one CAR file: its log, signatures, anchor commits, proofs, Merkle nodes, schemas',
  usage: 'kiln export <docid> [--out <file.car>] [--url …]   (without --out the CAR goes to standard output)',
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: { ...clientOptions, out: { type: 'string' } }, allowPositionals: true, strict: true })
    if (positionals.length !== 1) throw new UsageError('usage: kiln export <docid> [--out <file.car>]')
    const car = await withProgress(io, 'exporting', async () => await clientOf(values, io).exportDocument(positionals[0]!))
    if (values.out !== undefined) {
      await writeFile(values.out, car)
      io.err.write(`wrote ${car.length} bytes to ${values.out}\n`)
    } else {
      io.out.write(car)
    }
    return 0
  }
}

/** `kiln import`: loads an export into a node, every commit through its pipeline. */
export const importCommand: Command = {
  summary: 'load an exported CAR file into the node (every commit is verified as it is applied)',
  usage: 'kiln import <file.car> [--url …] [--json]',
  async run (args, io) {
    const { values, positionals } = parseArgs({ args, options: clientOptions, allowPositionals: true, strict: true })
    if (positionals.length !== 1) throw new UsageError('usage: kiln import <file.car>')
    const car = await readCarFile(positionals[0]!)
    const { id, state } = await withProgress(io, 'importing', async () => await clientOf(values, io).importDocument(car))
    if (values.json === true) printJSON(io, snapshotJSON(id.toString(), state, nameOfType(id.type)))
    else io.out.write(describeState(id.toString(), state))
    return 0
  }
}

async function readCarFile (path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path))
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`)
  }
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

interface CommitReport { docId: string, kind: string, cid: string, ok: boolean, error?: string, name?: string }

/** `kiln verify`: checks an export offline, replaying it into a throw-away in-memory node. */
export const verifyCommand: Command = {
  summary: 'check an exported CAR offline: block hashes, signatures, links, schemas, Merkle paths, chain proofs',
  usage: `kiln verify <file.car> [--mock-chain-did <did>] [--eth-rpc <url>] [--json]

  Needs no running node. Every block must hash to its CID; every commit is replayed through Kiln's apply pipeline in
  a throw-away in-memory node: signatures against the controllers of the state each commit extends, prev links,
  schemas (included in the export), anchor proofs. Mock-chain anchors are checked against --mock-chain-did (the chain's
  key, which \`kiln daemon\` prints); Ethereum anchors against the chain at --eth-rpc (transaction, calldata root, block
  time); Bitcoin anchors by their transaction, Merkle branch and header proof of work (--bitcoin-network, mainnet by
  default; no node is asked whether the block is on the best chain). Without a chain key or RPC only Merkle paths are
  checked, and the report says so.
  Exits 1 on any failure.`,
  async run (args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { json: { type: 'boolean' }, 'mock-chain-did': { type: 'string' }, 'eth-rpc': { type: 'string' }, 'bitcoin-network': { type: 'string' } },
      allowPositionals: true,
      strict: true
    })
    if (positionals.length !== 1) throw new UsageError('usage: kiln verify <file.car> [--mock-chain-did <did>] [--eth-rpc <url>] [--bitcoin-network bitcoin|testnet|regtest]')
    const network = (values['bitcoin-network'] ?? 'bitcoin') as BitcoinNetworkName
    if (!Object.hasOwn(BITCOIN_NETWORKS, network)) throw new UsageError(`--bitcoin-network must be one of ${Object.keys(BITCOIN_NETWORKS).join(', ')}`)
    const car = await readCarFile(positionals[0]!)
    const notes = new Set<string>()
    const reports: CommitReport[] = []
    let commits: ExportedCommit[]
    try {
      commits = (await readDocumentCar(car)).commits
    } catch (err) {
      return finishVerify(io, values.json === true, [{ docId: '-', kind: 'file', cid: positionals[0]!, ok: false, name: (err as Error).name, error: (err as Error).message }], notes)
    }
    const anchors: AnchorFactory[] = [
      () => ({ verifier: values['mock-chain-did'] === undefined ? pathOnlyVerifier('inmemory', notes) : mockChainVerifier({ chainDid: values['mock-chain-did'] }) }),
      () => ({ verifier: values['eth-rpc'] === undefined ? pathOnlyVerifier('eip155', notes) : ethereumVerifier({ rpcUrl: values['eth-rpc'] }) }),
      () => ({ verifier: bitcoinVerifier({ network, headers: powOnlyHeaders(notes) }) })
    ]
    const node = await createNode({ doctypes: [tile(), schema(), accountLink()], storage: memoryStorage(), anchors })
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
    return finishVerify(io, values.json === true, reports, notes)
  }
}

function finishVerify (io: CliIO, json: boolean, reports: CommitReport[], notes: Set<string>): number {
  const ok = reports.length > 0 && reports.every((r) => r.ok)
  if (json) {
    printJSON(io, { ok, commits: reports, notes: [...notes] })
  } else {
    for (const r of reports) {
      io.out.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.kind.padEnd(7)}  ${r.cid}${r.ok ? '' : `\n      ${r.name ?? 'Error'}: ${r.error ?? ''}`}\n`)
    }
    for (const note of notes) io.out.write(`note  ${note}\n`)
    io.out.write(ok ? `verified: ${reports.length} commits of ${new Set(reports.map((r) => r.docId)).size} document(s)\n` : 'verification FAILED\n')
  }
  return ok ? 0 : 1
}
