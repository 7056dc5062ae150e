import { KilnError } from '@kiln/interface'

/** An option of `httpApi` that cannot be used (a rate that is not a positive number, a timeout below zero, …). */
export class InvalidHttpApiOptionError extends KilnError {
  override name = 'InvalidHttpApiOptionError'
}
