import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { BitcoinNetworkName } from '@kiln/anchor-bitcoin'
import { UsageError } from '../errors.js'
import { verifyExport, type CommitReport } from '../offline-verify.js'
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
    // the Bitcoin verifier (bitcoinjs-lib) is loaded by this command only
    const { BITCOIN_NETWORKS } = await import('@kiln/anchor-bitcoin')
    if (!Object.hasOwn(BITCOIN_NETWORKS, network)) throw new UsageError(`--bitcoin-network must be one of ${Object.keys(BITCOIN_NETWORKS).join(', ')}`)
    const car = await readCarFile(positionals[0]!)
    const notes = new Set<string>()
    const reports = await verifyExport(car, positionals[0]!, {
      ...(values['mock-chain-did'] === undefined ? {} : { mockChainDid: values['mock-chain-did'] }),
      ...(values['eth-rpc'] === undefined ? {} : { ethRpc: values['eth-rpc'] }),
      bitcoinNetwork: network
    }, notes)
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
