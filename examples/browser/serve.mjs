#!/usr/bin/env node
// Builds the bundle and serves this example on http://127.0.0.1:8080 (PORT to change it): the page, its script,
// packages/browser/dist/kiln.js at /kiln.js, and /config.json, the daemon the page syncs with: the WebSockets address
// that the daemon at KILN_DAEMON (default http://127.0.0.1:7007, what `npm start` runs) gives at /api/v0/kiln/node.
// Run `npx tsc -b` at the repository root first.
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { bundle } from '../../packages/browser/build.mjs'

const { outfile } = await bundle()
const files = {
  '/': [new URL('./index.html', import.meta.url), 'text/html'],
  '/index.html': [new URL('./index.html', import.meta.url), 'text/html'],
  '/app.js': [new URL('./app.js', import.meta.url), 'text/javascript'],
  '/kiln.js': [outfile, 'text/javascript']
}
const port = Number(process.env.PORT ?? 8080)
const daemon = process.env.KILN_DAEMON ?? 'http://127.0.0.1:7007'
createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
  if (path === '/config.json') {
    daemonConfig().then((config) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(config)))
    return
  }
  const found = files[path]
  if (found === undefined) { res.writeHead(404).end('not found'); return }
  readFile(found[0]).then((body) => res.writeHead(200, { 'content-type': found[1] }).end(body), () => res.writeHead(500).end())
}).listen(port, '127.0.0.1', () => { console.log(`Kiln browser example: http://127.0.0.1:${port}/`) })

/** The page's daemon: its WebSockets multiaddr on this machine and its network, or `{}` when it cannot be reached. */
async function daemonConfig () {
  try {
    const info = await (await fetch(`${daemon}/api/v0/kiln/node`)).json()
    const peer = info.addresses.find((a) => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\//.test(a)) ?? info.addresses.find((a) => a.includes('/ws/'))
    return peer === undefined ? {} : { peer, network: info.network }
  } catch {
    return {}
  }
}
