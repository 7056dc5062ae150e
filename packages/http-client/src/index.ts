/**
 * A Kiln node over HTTP: `httpClient({ url })` gives the same `DocReader`/`DocWriter` interface as an in-process
 * `KilnNode` (create, update, load, log, watch, anchor, pins), plus multiqueries, chains, healthcheck and the log
 * with anchor proofs. Errors the node answers come back as the same named classes of `@kiln/interface`.
 * @packageDocumentation
 */
export { httpClient, type HttpClientInit, type KilnHttpClient, type MultiQuery, type MultiQueryOptions, type LogItemWithProof, type NodeDescription } from './client.js'
export { WATCH_RECONNECT_DEFAULTS, reconnectDelay, type WatchReconnect } from './watch.js'
export type { RateLimitRetry } from './transport.js'
export { type ApplyOnTipOptions, type BuildCommit } from './apply-on-tip.js'
export { parseEventStream, type ServerSentEvent } from './sse.js'
export { compactJWS, type AdminSigner, type AdminPayload } from './admin.js'
