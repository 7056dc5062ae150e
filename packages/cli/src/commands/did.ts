import { parseArgs } from 'node:util'
import { keyDidSigner, randomSeed, seedToHex } from '@kiln/signing'
import { UsageError } from '../errors.js'
import { printJSON, type CliIO } from '../output.js'
import type { Command } from './command.js'

/** `kiln did create`: a new seed and its did:key. */
export const did: Command = {
  summary: 'create a DID: prints a new secret seed and its did:key',
  usage: `kiln did create [--type ed25519|secp256k1] [--json]

  Keep the seed secret; pass it to other commands with --seed or the KILN_SEED environment variable.`,
  async run (args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseArgs({ args, options: { type: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true })
    if (positionals[0] !== 'create' || positionals.length !== 1) throw new UsageError('usage: kiln did create [--type ed25519|secp256k1] [--json]')
    const type = values.type ?? 'ed25519'
    if (type !== 'ed25519' && type !== 'secp256k1') throw new UsageError(`--type must be ed25519 or secp256k1, got ${type}`)
    const seed = randomSeed()
    const signer = keyDidSigner({ seed, type })
    if (values.json === true) {
      printJSON(io, { did: signer.did, seed: seedToHex(seed), type })
    } else {
      io.out.write(`did:  ${signer.did}\nseed: ${seedToHex(seed)}\n\nKeep the seed secret. Use it with --seed or KILN_SEED=${seedToHex(seed)}\n`)
    }
    return 0
  }
}
