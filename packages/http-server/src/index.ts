/**
 * Kiln's HTTP API: Ceramic's API v0 under `/api/v0` (streams, commits, multiqueries, pins, node) in Ceramic's JSON
 * shapes, so Ceramic's clients work against a Kiln node, plus Kiln's own routes under `/api/v0/kiln/` (a document's
 * states as Server-Sent Events, its log with anchor proofs). Every error is `{error, name}` with the status of
 * {@link statusOf}. The contract is `docs/http-api.md`.
 * @packageDocumentation
 */
import type { HttpApi, HttpApiComponents, HttpApiInit } from './api.js'
import { HttpServer } from './server.js'

export type { HttpApi, HttpApiComponents, HttpApiInit, HttpApiNode } from './api.js'
export { statusOf, errorStatuses } from './errors-table.js'
export { InvalidHttpApiOptionError } from './errors.js'
export { RATE_LIMIT_DEFAULTS, RATE_CATEGORIES, type RateCategory, type RateLimitInit, type RateRule } from './rate-limit.js'
export type { ErrorBody } from './error-handler.js'

/** The HTTP API plugin: `httpApi(init)({ node, logger })` gives an API to `start()` and `stop()`. */
export function httpApi (init: HttpApiInit = {}): (components: HttpApiComponents) => HttpApi {
  return (components) => new HttpServer(init, components)
}
