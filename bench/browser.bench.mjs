// The browser build: the gzip size of the node's bundle (packages/browser/dist/kiln.js, built here with esbuild), and
// Ed25519 verifies per second with WebCrypto in headless Chromium, 1,000 at a time through Promise.all, against
// node:crypto (OpenSSL, what Kiln verifies with in Node) on this machine in the same run. Skipped without Chromium
// (/usr/bin/chromium or KILN_CHROMIUM).
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { bundle } from '../packages/browser/build.mjs'
import { findChromium, launchChromium, servePages } from '../packages/browser/test/fixtures/page.mjs'
import { rate, report } from './measure.mjs'

const BATCH = 1000

export default async function browserBench () {
  const { outfile, bytes } = await bundle()
  const gzipped = gzipSync(await readFile(outfile), { level: 9 }).length
  report('browser.bundle_kib', gzipped / 1024, 'KiB', `gzip -9 of dist/kiln.js; ${(bytes / 1024).toFixed(0)} KiB minified`)
  // Beside it, the same bundle for a page that never imports libp2pNetwork (tree-shaken away): the network's share.
  const entry = join(tmpdir(), `kiln-no-network-${process.pid}.mjs`)
  const index = fileURLToPath(new URL('../packages/browser/dist/index.js', import.meta.url))
  const names = Object.keys(await import(index)).filter((name) => name !== 'libp2pNetwork')
  await writeFile(entry, `export { ${names.join(', ')} } from ${JSON.stringify(index)}\n`)
  try {
    const local = await bundle({ entry, outfile: join(tmpdir(), `kiln-no-network-${process.pid}.js`) })
    const localGzipped = gzipSync(await readFile(local.outfile), { level: 9 }).length
    report('browser.bundle_kib.without_network', localGzipped / 1024, 'KiB', 'the same bundle for a page that does not import libp2pNetwork')
    await rm(local.outfile, { force: true })
  } finally {
    await rm(entry, { force: true })
  }

  const chromium = findChromium()
  if (chromium === undefined) {
    console.log('bench browser.verify_per_s: SKIPPED (no Chromium at /usr/bin/chromium and KILN_CHROMIUM unset)')
    return
  }

  // Baseline: node:crypto verifies of 1,000 different signatures, one after another, as Kiln's verifier does.
  const seed = new Uint8Array(32).fill(7)
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
  const publicKey = createPublicKey(privateKey)
  const messages = Array.from({ length: BATCH }, (_, i) => new TextEncoder().encode(`eyJhbGciOiJFZERTQSJ9.commit-${i}`))
  const signatures = messages.map((m) => nodeSign(null, m, privateKey))
  const nodeRate = BATCH * await rate(() => { for (let i = 0; i < BATCH; i++) nodeVerify(null, messages[i], publicKey, signatures[i]) })

  const server = await servePages()
  const browser = await launchChromium(chromium)
  try {
    const page = await browser.newPage()
    await page.goto(`${server.url}/`)
    await page.waitForFunction(() => globalThis.kilnReady === true)
    const pageRate = await page.evaluate(async (batch) => {
      const { subtle } = globalThis.crypto
      const keys = await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])
      const messages = Array.from({ length: batch }, (_, i) => new TextEncoder().encode(`eyJhbGciOiJFZERTQSJ9.commit-${i}`))
      const signatures = await Promise.all(messages.map((m) => subtle.sign({ name: 'Ed25519' }, keys.privateKey, m)))
      const verifyAll = async () => {
        const results = await Promise.all(messages.map((m, i) => subtle.verify({ name: 'Ed25519' }, keys.publicKey, signatures[i], m)))
        if (!results.every(Boolean)) throw new Error('a signature did not verify')
      }
      for (let i = 0; i < 3; i++) await verifyAll()
      let rounds = 0
      const start = performance.now()
      while (performance.now() - start < 1500) { await verifyAll(); rounds++ }
      return rounds * batch / ((performance.now() - start) / 1000)
    }, BATCH)
    report('browser.verify_per_s', pageRate, 'verifies/s',
      `WebCrypto Ed25519 in headless Chromium, ${BATCH} per Promise.all; baseline node:crypto ${nodeRate.toFixed(0)}/s in this run`)
    report('browser.verify_node_baseline_per_s', nodeRate, 'verifies/s', 'node:crypto (OpenSSL), one thread, same run')
  } finally {
    await browser.close()
    await server.close()
  }
}
