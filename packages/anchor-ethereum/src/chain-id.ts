import { UnsupportedChainError } from '@kiln/interface'

/** The CAIP-2 namespace of EVM chains. */
export const EIP155_NAMESPACE = 'eip155'

/** The chain id of a local development chain (ganache, hardhat, anvil with `--chain-id 1337`). */
export const DEV_CHAIN_ID = 'eip155:1337'

/** The numeric chain id of a CAIP-2 `eip155:<n>` id; `UnsupportedChainError` for anything else. */
export function chainNumberOf (chainId: string): bigint {
  const match = typeof chainId === 'string' ? /^eip155:([1-9][0-9]{0,31})$/.exec(chainId) : null
  if (match === null) {
    throw new UnsupportedChainError(`an EVM chain id is eip155:<decimal chain id>, like ${DEV_CHAIN_ID}; got ${JSON.stringify(chainId)}`, {
      details: { chainId: String(chainId) }
    })
  }
  return BigInt(match[1]!)
}

/** The CAIP-2 id of EVM chain `n`. */
export function caip2Of (chainNumber: bigint): string {
  return `${EIP155_NAMESPACE}:${chainNumber.toString()}`
}
