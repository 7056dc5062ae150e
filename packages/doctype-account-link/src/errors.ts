import { KilnError } from '@kiln/interface'

/**
 * A CAIP-10 account id that cannot be used: bad syntax, an address that is not valid on its chain, a mixed-case
 * Ethereum address with a wrong EIP-55 checksum, or a Bitcoin address type that cannot sign messages.
 */
export class InvalidAccountIdError extends KilnError {
  override name = 'InvalidAccountIdError'
}
