import { KilnError } from '@kiln/interface'

/** An option of `webhooks()` it cannot use (a missing path, a count that is not a positive integer). */
export class WebhooksOptionError extends KilnError {
  override name = 'WebhooksOptionError'
}
