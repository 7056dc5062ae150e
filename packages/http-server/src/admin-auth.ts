import { randomUUID } from 'node:crypto'
import { AdminAuthError, isKilnError } from '@kiln/interface'
import type { KilnVerifier } from '@kiln/signing'

/** The path Ceramic's pin client signs (as a full URL, or its path) for every pin route. */
export const PINS_PATH = '/api/v0/admin/pins'

/** Options of {@link AdminAuth}. */
export interface AdminAuthInit {
  adminDids: readonly string[]
  verifier: Pick<KilnVerifier, 'verifyCompactJWS'>
  codeTtlMs: number
  /** Codes outstanding at once; past it the oldest is dropped, so unauthenticated `getCode` calls cannot grow memory. */
  maxCodes?: number
}

/** What {@link AdminAuth.authorize} looks at in a request. */
export interface AdminRequest {
  /** The `Authorization` header, if any. */
  authorization?: string
  /** The parsed JSON body, if any (may carry `{jws}`). */
  body?: unknown
  /** The path called, without the query. */
  pathname: string
  /** Pin routes also accept Ceramic's signed path: `/api/v0/admin/pins` as a full URL or a path. */
  pinRoute: boolean
}

const DEFAULT_MAX_CODES = 10_000

/** One-time admin codes and the check of admin requests: a JWS by an admin DID over a fresh code and the path. */
export class AdminAuth {
  private readonly codes = new Map<string, number>()
  private readonly adminDids: readonly string[]
  private readonly verifier: Pick<KilnVerifier, 'verifyCompactJWS'>
  private readonly codeTtlMs: number
  private readonly maxCodes: number

  constructor (init: AdminAuthInit) {
    this.adminDids = [...init.adminDids]
    this.verifier = init.verifier
    this.codeTtlMs = init.codeTtlMs
    this.maxCodes = init.maxCodes ?? DEFAULT_MAX_CODES
  }

  /** Throws `AdminAuthError` when no admin DID is configured. */
  assertEnabled (): void {
    if (this.adminDids.length === 0) {
      throw new AdminAuthError('The admin API is disabled on this node: no admin DIDs are configured')
    }
  }

  /** A fresh random code, valid once, until it expires. */
  issueCode (): string {
    this.assertEnabled()
    const now = Date.now()
    for (const [code, expires] of this.codes) if (expires <= now) this.codes.delete(code)
    while (this.codes.size >= this.maxCodes) {
      const oldest = this.codes.keys().next()
      if (oldest.done === true) break
      this.codes.delete(oldest.value)
    }
    const code = randomUUID()
    this.codes.set(code, now + this.codeTtlMs)
    return code
  }

  /** Checks an admin request and returns the DID that signed it; any failure is an `AdminAuthError`. */
  async authorize (request: AdminRequest): Promise<string> {
    this.assertEnabled()
    const jws = jwsOf(request)
    let verified: { did: string, payload: unknown }
    try {
      verified = await this.verifier.verifyCompactJWS(jws, { controllers: this.adminDids })
    } catch (err) {
      throw new AdminAuthError(`Admin JWS rejected: ${rejection(err)}`, { cause: err })
    }
    const payload = verified.payload
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new AdminAuthError('Admin JWS payload must be a JSON object {code, requestPath, requestBody?}')
    }
    const { code, requestPath, requestBody } = payload as Record<string, unknown>
    if (typeof code !== 'string' || typeof requestPath !== 'string') {
      throw new AdminAuthError('Admin JWS payload must carry a string `code` and a string `requestPath`')
    }
    // The code is spent as soon as an admin's signature over it is seen, whatever the rest of the request.
    if (!this.consume(code)) {
      throw new AdminAuthError('Admin code is unknown, expired or already used: get a fresh one from GET /api/v0/admin/getCode')
    }
    if (!pathMatches(requestPath, request.pathname, request.pinRoute)) {
      throw new AdminAuthError(`Admin JWS signs requestPath ${JSON.stringify(requestPath.slice(0, 200))}, not ${request.pathname}`)
    }
    if (requestBody !== undefined && !jsonEqual(requestBody, bodyWithoutJws(request.body))) {
      throw new AdminAuthError('Admin JWS signs a requestBody that differs from the body sent')
    }
    return verified.did
  }

  private consume (code: string): boolean {
    const expires = this.codes.get(code)
    if (expires === undefined) return false
    this.codes.delete(code)
    return expires > Date.now()
  }
}

/** Why a JWS was refused, without naming the admin DIDs (the verifier's message lists the allowed signers). */
function rejection (err: unknown): string {
  if (!isKilnError(err)) return 'it cannot be verified'
  if (err.name === 'UnauthorizedSignerError') {
    const did = typeof err.details.did === 'string' ? err.details.did : 'its signer'
    return `${did} is not an admin DID of this node`
  }
  return err.message
}

function jwsOf (request: AdminRequest): string {
  const header = request.authorization
  if (header !== undefined) {
    const match = /^Basic\s+(\S+)\s*$/i.exec(header)
    if (match === null) throw new AdminAuthError('Authorization header must be "Basic <compact JWS>"')
    return match[1]!
  }
  const body = request.body
  if (body !== null && typeof body === 'object' && typeof (body as { jws?: unknown }).jws === 'string') {
    return (body as { jws: string }).jws
  }
  throw new AdminAuthError('Admin request carries no JWS: send "Authorization: Basic <compact JWS>" or a JSON body {jws}')
}

function pathMatches (requestPath: string, pathname: string, pinRoute: boolean): boolean {
  if (requestPath === pathname) return true
  if (!pinRoute) return false
  let signed: string
  try {
    signed = new URL(requestPath, 'http://localhost').pathname
  } catch {
    return false
  }
  return signed === PINS_PATH || signed === pathname
}

function bodyWithoutJws (body: unknown): unknown {
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body)) return body
  const { jws: _jws, ...rest } = body as Record<string, unknown>
  return rest
}

/** Whether two parsed JSON values are equal. A loop, not a recursion: a signed body may nest as deep as the body limit allows. */
function jsonEqual (a: unknown, b: unknown): boolean {
  const pairs: Array<[unknown, unknown]> = [[a, b]]
  while (pairs.length > 0) {
    const [x, y] = pairs.pop()!
    if (x === y) continue
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false
    if (Array.isArray(x) !== Array.isArray(y)) return false
    const xKeys = Object.keys(x)
    if (xKeys.length !== Object.keys(y).length) return false
    for (const key of xKeys) {
      if (!Object.hasOwn(y, key)) return false
      pairs.push([(x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key]])
    }
  }
  return true
}
