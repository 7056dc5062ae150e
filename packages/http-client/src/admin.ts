import { AdminAuthError, CodecError, type DIDSigner } from '@kiln/interface'
import { base64url } from 'multiformats/bases/base64'
import type { Transport } from './transport.js'

/**
 * What signs admin requests: the JOSE algorithm, the full key id (`did:…#…`) and a function signing the JWS signing
 * input with the raw key. A `keyDidSigner` from `@kiln/signing` is one; a wallet or HSM can be wrapped as one.
 */
export type AdminSigner = Pick<DIDSigner, 'alg' | 'kid' | 'sign'>

/** The payload an admin JWS signs: a one-time code from the node, the path called and, when there is one, the body. */
export interface AdminPayload {
  code: string
  requestPath: string
  requestBody?: unknown
}

const utf8 = new TextEncoder()

/** Signs a JSON payload as a compact JWS `protected.payload.signature`, protected header `{alg, kid}`, base64url unpadded. */
export async function compactJWS (signer: AdminSigner, payload: unknown): Promise<string> {
  // {alg, kid} in this order: the bytes @kiln/signing and Ceramic's dids produce for the same key.
  const header = base64url.baseEncode(utf8.encode(JSON.stringify({ alg: signer.alg, kid: signer.kid })))
  const body = base64url.baseEncode(utf8.encode(JSON.stringify(payload)))
  const signature = await signer.sign(utf8.encode(`${header}.${body}`))
  return `${header}.${body}.${base64url.baseEncode(signature)}`
}

/**
 * The `Authorization` header of one admin call: a fresh code from `GET /api/v0/admin/getCode` (each is good once),
 * then a JWS over `{code, requestPath, requestBody?}`.
 */
export async function adminAuthorization (transport: Transport, signer: AdminSigner | undefined, requestPath: string, options: { requestBody?: unknown, signal?: AbortSignal } = {}): Promise<string> {
  if (signer === undefined) {
    throw new AdminAuthError(`${requestPath} is an admin route: create the client with httpClient({ url, adminSigner })`, {
      details: { requestPath }
    })
  }
  const answer = await transport.json('/api/v0/admin/getCode', { signal: options.signal })
  const code = (answer as { code?: unknown } | null)?.code
  if (typeof code !== 'string' || code.length === 0) {
    throw new CodecError(`${transport.url}/api/v0/admin/getCode answered without a code`, { details: { url: transport.url } })
  }
  const payload: AdminPayload = options.requestBody === undefined
    ? { code, requestPath }
    : { code, requestPath, requestBody: options.requestBody }
  return `Basic ${await compactJWS(signer, payload)}`
}
