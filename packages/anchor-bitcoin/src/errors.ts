import { KilnError } from '@kiln/interface'

/** An option of `bitcoinAnchor` or `bitcoinVerifier` that cannot be used (an unknown network, a bad fee rate, ...). */
export class InvalidBitcoinAnchorOptionError extends KilnError {
  override name = 'InvalidBitcoinAnchorOptionError'
}

/** No unspent output of the anchoring key is large enough to pay the fee and leave a change output above dust. */
export class InsufficientFundsError extends KilnError {
  override name = 'InsufficientFundsError'
}

/** A Bitcoin Core JSON-RPC call failed: the node could not be reached or answered with an error. */
export class BitcoinRpcError extends KilnError {
  override name = 'BitcoinRpcError'
}

/** The in-process regtest miner refused a transaction: it spends an output the miner does not know, or cannot be parsed. */
export class TransactionRejectedError extends KilnError {
  override name = 'TransactionRejectedError'
}

/** An anchor request without a DocID string, or whose `genesis` or `tip` is not a CID. */
export class InvalidAnchorRequestError extends KilnError {
  override name = 'InvalidAnchorRequestError'
}
