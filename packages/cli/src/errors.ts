import { KilnError } from '@kiln/interface'

/** A command line that cannot be run as given: a missing argument, an unknown option, unreadable content. */
export class UsageError extends KilnError {
  override name = 'UsageError'
}

/** A configuration file or value the daemon cannot use. */
export class ConfigError extends KilnError {
  override name = 'ConfigError'
}
