import { createHmac, timingSafeEqual } from 'node:crypto'

/** The signature header's value for a body sent at `timestamp` (unix seconds): `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. */
export function signWebhook (secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

/**
 * Whether a received webhook is genuine: its `x-kiln-signature` is the HMAC of its timestamp and raw body under the
 * secret (compared in constant time), and its `x-kiln-timestamp` is within `toleranceS` seconds of `nowS`.
 */
export function verifyWebhook (secret: string, headers: { timestamp?: string, signature?: string }, body: string, options: { nowS?: number, toleranceS?: number } = {}): boolean {
  const { timestamp, signature } = headers
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false
  const nowS = options.nowS ?? Math.floor(Date.now() / 1000)
  if (Math.abs(nowS - Number(timestamp)) > (options.toleranceS ?? 300)) return false
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body))
  const given = Buffer.from(signature)
  return given.length === expected.length && timingSafeEqual(given, expected)
}
