#!/usr/bin/env node
// A webhook receiver for the team task list: verifies each delivery's HMAC-SHA256 signature and timestamp, then prints
// what changed. Usage: KILN_HOOK_SECRET=<secret from `kiln hooks add`> node receiver.mjs [port]
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'

/** How old a delivery may be, in seconds, before it is refused as a replay. */
const TOLERANCE_S = 300

/** True when `signature` (the x-kiln-signature header) is the HMAC of `timestamp.body` under `secret`. */
export function verifyDelivery (secret, timestamp, body, signature, nowS = Math.floor(Date.now() / 1000)) {
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false
  const sent = Number(timestamp)
  if (!Number.isSafeInteger(sent) || Math.abs(nowS - sent) > TOLERANCE_S) return false
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`)
  const given = Buffer.from(signature)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * An HTTP server that accepts deliveries signed with `secret` and calls `onDelivery` with each parsed one; anything
 * else gets a 401 (bad signature) or 400 (not JSON). Answers 204 once `onDelivery` returns, so the node retries a
 * delivery whose handling threw.
 */
export function createReceiver (init) {
  const { onDelivery } = init
  return createServer((req, res) => {
    const secret = init.secret
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      if (!verifyDelivery(secret, req.headers['x-kiln-timestamp'], body, req.headers['x-kiln-signature'])) {
        res.writeHead(401).end('bad signature')
        return
      }
      let delivery
      try {
        delivery = JSON.parse(body)
      } catch {
        res.writeHead(400).end('not JSON')
        return
      }
      Promise.resolve(onDelivery(delivery)).then(() => res.writeHead(204).end(), (err) => res.writeHead(500).end(String(err)))
    })
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const secret = process.env.KILN_HOOK_SECRET
  if (secret === undefined || secret === '') {
    console.error('set KILN_HOOK_SECRET to the secret `kiln hooks add` printed')
    process.exit(2)
  }
  const port = Number(process.argv[2] ?? 8787)
  createReceiver({
    secret,
    onDelivery: ({ docId, state }) => {
      const { tasks = [], closed = false } = state.content ?? {}
      console.log(`${new Date().toISOString()} ${docId}: ${tasks.length} tasks${closed ? ', closed' : ''}; latest: ${JSON.stringify(tasks[tasks.length - 1] ?? null)}`)
    }
  }).listen(port, '127.0.0.1', () => { console.log(`listening on http://127.0.0.1:${port}/ for Kiln webhooks`) })
}
