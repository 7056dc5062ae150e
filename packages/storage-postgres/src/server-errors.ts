// What the driver's failures mean to a user: the server unreachable, or the server's own error with its SQLSTATE.

/** Error codes of a server that cannot be reached or went away (socket errors, shutdown SQLSTATEs). */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  // admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down)
  '57P01', '57P02', '57P03'
])

/** node-postgres's own messages for a connection lost or never made (they carry no code). */
const LOST = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|not queryable/i

/** Whether `err` says the server cannot be reached or went away mid-operation. */
export function isUnreachable (err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (UNREACHABLE.has(String((e as { code?: unknown }).code)) || LOST.test(e.message)) return true
    const errors = (e as { errors?: unknown }).errors
    if (Array.isArray(errors) && errors.some((inner) => isUnreachable(inner))) return true
  }
  return false
}

/** The message of an error with its SQLSTATE or socket code, and of an AggregateError's first error. */
export function describeError (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as { code?: unknown }).code
  const errors = (err as { errors?: unknown }).errors
  const message = err.message !== '' ? err.message : Array.isArray(errors) && errors[0] instanceof Error ? errors[0].message : err.name
  return typeof code === 'string' && !message.includes(code) ? `${message} [${code}]` : message
}

/** A server named as `postgres://user@host:port/database`, without its password. */
export function serverOf (url: URL): string {
  const user = url.username === '' ? '' : `${decodeURIComponent(url.username)}@`
  return `postgres://${user}${url.hostname === '' ? 'localhost' : url.host}${url.pathname === '' ? '/' : url.pathname}`
}
