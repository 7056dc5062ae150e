import { AbortError, isKilnError, type AbortOptions } from '@kiln/interface'
import { JsonRpcProvider, Network, type JsonRpcApiProvider } from 'ethers'
import { EthereumRpcError, InvalidEthereumAnchorOptionError } from './errors.js'

/** Where JSON-RPC calls go: a URL, or an ethers provider the caller made (a `BrowserProvider` over EIP-1193, say). */
export interface RpcInit {
  /** An EVM JSON-RPC endpoint, `http://127.0.0.1:8545`. */
  rpcUrl?: string
  /** An ethers v6 JSON-RPC provider to use instead of `rpcUrl`. */
  provider?: JsonRpcApiProvider
}

/** The provider `init` names. `chainNumber` (when known) is fixed as its network, so ethers never probes on its own. */
export function providerOf (init: RpcInit, chainNumber?: bigint): JsonRpcApiProvider {
  if (init.provider !== undefined) return init.provider
  const url = init.rpcUrl
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    throw new InvalidEthereumAnchorOptionError(`an EVM anchor needs rpcUrl, an http(s) JSON-RPC URL, or a provider; got rpcUrl ${JSON.stringify(url)}`, {
      details: { rpcUrl: String(url) }
    })
  }
  // A static network: without one, ethers probes eth_chainId itself and, while the node is down, retries on a timer
  // forever. The chain id is checked explicitly with eth_chainId instead (rpcChainNumber). When the chain is not
  // known yet (a verifier told no chainId) the placeholder only names the provider's network: reads do not use it.
  // No response cache (cacheTimeout -1): a verifier counting confirmations must see the newest block, not one 250 ms old.
  // No 10 ms wait to batch calls (batchStallTime 0): calls made together are still sent as one batch.
  return new JsonRpcProvider(url, Network.from(chainNumber ?? 1n), { staticNetwork: true, cacheTimeout: -1, batchStallTime: 0 })
}

/** A description of where `init` points, for messages. */
export function endpointOf (init: RpcInit): string {
  return init.rpcUrl ?? 'the given provider'
}

/** The chain id the endpoint answers to `eth_chainId`. */
export async function rpcChainNumber (provider: JsonRpcApiProvider, endpoint: string, options: AbortOptions = {}): Promise<bigint> {
  const answer = await rpcCall(endpoint, 'eth_chainId', async () => await provider.send('eth_chainId', []) as unknown, options)
  try {
    return BigInt(answer as string)
  } catch (err) {
    throw new EthereumRpcError(`${endpoint} answered eth_chainId with ${JSON.stringify(answer)}, not a number`, { cause: err, details: { endpoint } })
  }
}

/** Runs one JSON-RPC call; a transport or node error becomes `EthereumRpcError` naming the endpoint and the method. */
export async function rpcCall<T> (endpoint: string, method: string, fn: () => Promise<T>, options: AbortOptions = {}): Promise<T> {
  throwIfAborted(options, method)
  try {
    return await fn()
  } catch (err) {
    if (isKilnError(err)) throw err
    throwIfAborted(options, method)
    const reason = (err as { shortMessage?: string })?.shortMessage ?? (err as Error)?.message ?? String(err)
    throw new EthereumRpcError(`the JSON-RPC call ${method} to ${endpoint} failed: ${reason}`, { cause: err, details: { endpoint, method } })
  }
}

function throwIfAborted (options: AbortOptions, method: string): void {
  if (options.signal?.aborted === true) throw new AbortError(`${method} aborted`, { cause: options.signal.reason })
}
