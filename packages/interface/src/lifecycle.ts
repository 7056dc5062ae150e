/** A long-running part the node starts and stops in order. */
export interface Startable {
  start?(): void | Promise<void>
  stop?(): void | Promise<void>
}

/** Options every async operation accepts so a caller can give up. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** The logger plugins receive; pino's shape. */
export interface Logger {
  debug(obj: unknown, msg?: string): void
  info(obj: unknown, msg?: string): void
  warn(obj: unknown, msg?: string): void
  error(obj: unknown, msg?: string): void
}
