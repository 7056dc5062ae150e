import { AbortError, type AbortOptions } from '@kiln/interface'
import { BitcoinRpcError } from './errors.js'
import { displayHex, parseHeader } from './header.js'

/** Tells whether a block is on the best chain of a Bitcoin node: what a verifier cannot know from a proof alone. */
export interface BlockHeaderSource {
  /**
   * The confirmations of block `blockHash` (hex as Bitcoin Core shows it): at least 1 for a block on the best chain,
   * -1 for a block the source knows that is not on it (Bitcoin Core's convention), `undefined` for a block it does not know.
   */
  confirmations(blockHash: string, options?: AbortOptions): Promise<number | undefined>
}

/** An in-process header source for tests and development: a list of headers, not a Bitcoin node. */
export interface MemoryHeaderSource extends BlockHeaderSource {
  /**
   * Adds an 80-byte header. It extends the best chain when its parent is the tip (or it is the first header); any other
   * header is known but off the best chain. There is no reorganisation: a side branch never becomes best.
   */
  add(header: Uint8Array): void
  /** The number of headers on the best chain. */
  readonly height: number
}

/** An in-process {@link BlockHeaderSource} for tests and development; it checks nothing about the headers it is given. */
export function memoryHeaderSource (): MemoryHeaderSource {
  const best: string[] = []
  const heightOf = new Map<string, number>()
  const side = new Set<string>()
  return {
    add (bytes) {
      const header = parseHeader(bytes)
      if (heightOf.has(header.id) || side.has(header.id)) return
      if (best.length === 0 || displayHex(header.prevHash) === best[best.length - 1]) {
        heightOf.set(header.id, best.length)
        best.push(header.id)
      } else {
        side.add(header.id)
      }
    },
    get height () {
      return best.length
    },
    async confirmations (blockHash, options = {}) {
      if (options.signal?.aborted === true) throw new AbortError('header lookup aborted', { cause: options.signal.reason })
      const height = heightOf.get(blockHash)
      if (height !== undefined) return best.length - height
      return side.has(blockHash) ? -1 : undefined
    }
  }
}

/** Options of {@link bitcoinCoreHeaderSource}. */
export interface BitcoinCoreHeaderSourceInit {
  /** The node's JSON-RPC URL, `http://127.0.0.1:18443/` for regtest. */
  rpcUrl: string
  /** RPC credentials (`rpcuser`/`rpcpassword`, or those of the cookie file). */
  auth?: { username: string, password: string }
  /** The fetch to use; the global one by default. */
  fetch?: typeof fetch
}

// Bitcoin Core's RPC_INVALID_ADDRESS_OR_KEY: what getblockheader answers for a block it does not know.
const RPC_BLOCK_NOT_FOUND = -5

/**
 * A {@link BlockHeaderSource} that asks a Bitcoin Core node with `getblockheader <hash> true` over JSON-RPC. Not yet
 * tested against a real node: the tests use {@link memoryHeaderSource}.
 */
export function bitcoinCoreHeaderSource (init: BitcoinCoreHeaderSourceInit): BlockHeaderSource {
  const doFetch = init.fetch ?? fetch
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (init.auth !== undefined) headers.authorization = `Basic ${Buffer.from(`${init.auth.username}:${init.auth.password}`).toString('base64')}`
  return {
    async confirmations (blockHash, options = {}) {
      const body = JSON.stringify({ jsonrpc: '1.0', id: 'kiln', method: 'getblockheader', params: [blockHash, true] })
      let answer: { result?: { confirmations?: unknown } | null, error?: { code?: number, message?: string } | null }
      try {
        const response = await doFetch(init.rpcUrl, { method: 'POST', headers, body, signal: options.signal })
        // Bitcoin Core answers RPC errors with a non-2xx status and a JSON body; read the body either way.
        answer = await response.json() as typeof answer
      } catch (err) {
        if (options.signal?.aborted === true) throw new AbortError('header lookup aborted', { cause: options.signal.reason })
        throw new BitcoinRpcError(`getblockheader ${blockHash} at ${init.rpcUrl} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { blockHash } })
      }
      if (answer.error != null) {
        if (answer.error.code === RPC_BLOCK_NOT_FOUND) return undefined
        throw new BitcoinRpcError(`getblockheader ${blockHash} at ${init.rpcUrl}: ${answer.error.message ?? 'error'} (code ${String(answer.error.code)})`, { details: { blockHash } })
      }
      const confirmations = answer.result?.confirmations
      if (typeof confirmations !== 'number') {
        throw new BitcoinRpcError(`getblockheader ${blockHash} at ${init.rpcUrl} gave no confirmations`, { details: { blockHash } })
      }
      return confirmations
    }
  }
}
