import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import type { RateLimiter } from './rate-limit.js'

/** The key a request's client has in `limiter`, or undefined when it is exempt (on loopback). */
export function clientOf (limiter: RateLimiter, request: FastifyRequest): string | undefined {
  return limiter.clientOf(request.ip, request.socket.remoteAddress)
}

/**
 * The `onRequest` hook of the rate limits: before anything of the request is read, its client takes a token of the
 * kind its route names (`config.rateLimit`). A refusal is a `RateLimitedError` (429).
 */
export function rateLimitHook (limiter: RateLimiter): onRequestHookHandler {
  return function limitRate (request, _reply, done) {
    const category = request.routeOptions.config.rateLimit
    if (category === undefined || category === 'none' || !limiter.limits(category)) { done(); return }
    const client = clientOf(limiter, request)
    if (client === undefined) { done(); return }
    try {
      limiter.take(client, category)
    } catch (err) {
      done(err as Error)
      return
    }
    done()
  }
}
