import { KilnError } from '@kiln/interface'

/** An option of `ethereumAnchor`, `ethereumVerifier` or `deployAnchorContract` that cannot be used (no RPC URL, a chain id outside `eip155`, a bad key or address, a bad number). */
export class InvalidEthereumAnchorOptionError extends KilnError {
  override name = 'InvalidEthereumAnchorOptionError'
}

/** An anchor request without a DocID string, or whose `genesis` or `tip` is not a CID. */
export class InvalidAnchorRequestError extends KilnError {
  override name = 'InvalidAnchorRequestError'
}

/** The JSON-RPC endpoint could not be reached, answered with an error, or is on another chain than the one configured. */
export class EthereumRpcError extends KilnError {
  override name = 'EthereumRpcError'
}
