#!/usr/bin/env node
// Builds the bundle and serves this example on http://127.0.0.1:8080 (PORT to change it): the page, its script, and
// packages/browser/dist/kiln.js at /kiln.js. Run `npx tsc -b` at the repository root first.
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
createServer((req, res) => {
  const found = files[new URL(req.url ?? '/', 'http://127.0.0.1').pathname]
  if (found === undefined) { res.writeHead(404).end('not found'); return }
  readFile(found[0]).then((body) => res.writeHead(200, { 'content-type': found[1] }).end(body), () => res.writeHead(500).end())
}).listen(port, '127.0.0.1', () => { console.log(`Kiln browser example: http://127.0.0.1:${port}/`) })
