import { InvalidAnchorProofError } from '@kiln/interface'
import { id } from 'ethers'
import type { CID } from 'multiformats/cid'
import { bytes32ToRoot, rootToBytes32 } from './eth-tx.js'

/** The `txType` of a root sent as the argument of a contract's `anchor(bytes32)` (Ceramic's name for it). */
export const TX_TYPE_CONTRACT = 'f(bytes32)'

/** The `txType` of a root sent as the whole data of a plain transaction. */
export const TX_TYPE_RAW = 'raw'

/** The two ways a root goes on chain. */
export type EthereumTxType = typeof TX_TYPE_CONTRACT | typeof TX_TYPE_RAW

/** The 4-byte selector of `anchor(bytes32)`, `0xeecdf927`. */
export const ANCHOR_SELECTOR = id('anchor(bytes32)').slice(0, 10)

/** The transaction data that puts `root` on chain: selector and root for a contract call, the bare 32 bytes for raw. */
export function anchorCalldata (root: CID, txType: EthereumTxType): string {
  const bytes32 = rootToBytes32(root)
  return txType === TX_TYPE_CONTRACT ? ANCHOR_SELECTOR + bytes32.slice(2) : bytes32
}

/** The root a transaction's data puts on chain, read as `txType` says; `InvalidAnchorProofError` when it holds none. */
export function rootInCalldata (data: string, txType: EthereumTxType, txHash: string): CID {
  const hex = data.toLowerCase()
  if (txType === TX_TYPE_CONTRACT) {
    if (hex.length !== 2 + 8 + 64 || !hex.startsWith(ANCHOR_SELECTOR)) {
      throw new InvalidAnchorProofError(`transaction ${txHash} is not a call of anchor(bytes32) (selector ${ANCHOR_SELECTOR} and 32 bytes); its data is ${(hex.length - 2) / 2} bytes starting ${hex.slice(0, 10)}`, {
        details: { txHash }
      })
    }
    return bytes32ToRoot(`0x${hex.slice(10)}`)
  }
  if (hex.length !== 2 + 64) {
    throw new InvalidAnchorProofError(`the data of transaction ${txHash} is ${(hex.length - 2) / 2} bytes, not the 32 bytes of a raw anchor`, { details: { txHash } })
  }
  return bytes32ToRoot(hex)
}
