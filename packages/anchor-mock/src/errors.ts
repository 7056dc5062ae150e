import { KilnError } from '@kiln/interface'

/** An option of `mockAnchor` that cannot be used (an interval that is not a positive number of milliseconds). */
export class InvalidMockAnchorOptionError extends KilnError {
  override name = 'InvalidMockAnchorOptionError'
}

/** An anchor request without a DocID string, or whose `genesis` or `tip` is not a CID. */
export class InvalidAnchorRequestError extends KilnError {
  override name = 'InvalidAnchorRequestError'
}
