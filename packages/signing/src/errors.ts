import { KilnError } from '@kiln/interface'

/** A verification worker crashed or exited while it held this verification: the signature was not checked. */
export class VerifierWorkerError extends KilnError {
  override name = 'VerifierWorkerError'
}

/** An option of `createVerifierPool` that cannot be used (a negative size, a queue limit that is not a number). */
export class InvalidVerifierPoolOptionError extends KilnError {
  override name = 'InvalidVerifierPoolOptionError'
}
