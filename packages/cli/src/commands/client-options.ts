import { readFileSync } from 'node:fs'
import { httpClient, type KilnHttpClient } from '@kiln/http-client'
import type { DIDSigner } from '@kiln/interface'
import { keyDidSigner, seedFromHex } from '@kiln/signing'
import { UsageError } from '../errors.js'
import type { CliIO } from '../output.js'

/** Options every client command takes. */
export const clientOptions = {
  url: { type: 'string' },
  seed: { type: 'string' },
  'key-type': { type: 'string' },
  json: { type: 'boolean' }
} as const

/** The node's URL: `--url`, else `KILN_URL`, else the daemon's default address. */
export function nodeUrl (values: { url?: string }, io: CliIO): string {
  return values.url ?? io.env.KILN_URL ?? 'http://127.0.0.1:7007'
}

/** The signer from `--seed` or `KILN_SEED` (hex), or a UsageError saying how to get one. */
export function signerOf (values: { seed?: string, 'key-type'?: string }, io: CliIO): DIDSigner {
  const hex = values.seed ?? io.env.KILN_SEED
  if (hex === undefined || hex === '') throw new UsageError('this command signs: pass --seed <hex> or set KILN_SEED (make one with `kiln did create`)')
  const type = values['key-type'] ?? 'ed25519'
  if (type !== 'ed25519' && type !== 'secp256k1') throw new UsageError(`--key-type must be ed25519 or secp256k1, got ${type}`)
  return keyDidSigner({ seed: seedFromHex(hex), type })
}

/** An HTTP client of the node, with the signer for admin calls when one is given. */
export function clientOf (values: { url?: string }, io: CliIO, adminSigner?: DIDSigner): KilnHttpClient {
  return httpClient({ url: nodeUrl(values, io), ...(adminSigner === undefined ? {} : { adminSigner }) })
}

/** JSON content from the positional argument or `--file`; exactly one of the two. */
export function contentOf (positional: string | undefined, file: string | undefined): Record<string, unknown> {
  if (positional !== undefined && file !== undefined) throw new UsageError('give the content as an argument or with --file, not both')
  let text: string
  if (file !== undefined) {
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`)
    }
  } else if (positional !== undefined) {
    text = positional
  } else {
    throw new UsageError('no content: give a JSON object as an argument or with --file <path>')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`the content is not JSON: ${(err as Error).message}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('the content must be a JSON object')
  return value as Record<string, unknown>
}
