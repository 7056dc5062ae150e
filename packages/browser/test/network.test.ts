import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DAEMON_DEFAULTS, startDaemon, type Daemon } from '@kiln/cli'
import { DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { keyDidSigner, seedFromHex } from '@kiln/signing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Browser, Page } from 'playwright-core'
// @ts-expect-error plain JavaScript shared with the benchmark, without types
import { findChromium, launchChromium, servePages } from './fixtures/page.mjs'

// The example page (examples/browser) as a peer of a real Kiln daemon, the one `npm start` runs, over libp2p
// WebSockets on 127.0.0.1: what the page makes reaches the daemon, what the daemon takes reaches the page, and the
// page keeps it all in IndexedDB. The daemon's explorer shows the page as a peer, with where sync stands.

const chromium = findChromium() as string | undefined
if (chromium === undefined) {
  console.warn('browser network tests SKIPPED: no Chromium at /usr/bin/chromium and KILN_CHROMIUM unset (CI installs it with apt-get install chromium)')
}

const NETWORK = 'browser-test'
const silent = { debug () {}, info () {}, warn () {}, error () {} }

// Skipped only where no Chromium is installed (CI installs Debian's with scripts/ci-chromium.sh): the reason is printed
// above and named in the suite's title, never silent.
describe.skipIf(chromium === undefined)(`the example page syncing with a daemon over libp2p WebSockets${chromium === undefined ? ' (skipped: no Chromium at /usr/bin/chromium and KILN_CHROMIUM unset)' : ''}`, () => {
  let browser: Browser
  let page: Page
  let server: { url: string, close: () => Promise<void> }
  let daemon: Daemon | undefined
  let dataDir: string
  let pageUrl: string
  let pageAddress: string
  let unrelated: string

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-browser-daemon-'))
    daemon = await startDaemon({ ...DAEMON_DEFAULTS, port: 0, anchor: [], dataDir, logLevel: 'silent', network: NETWORK, p2pListen: ['/ip4/127.0.0.1/tcp/0/ws'] }, silent)
    const address = daemon.network!.addresses.find((a) => a.includes('/ws/'))!
    expect(address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//)
    // A document of someone else's on the daemon: the page's catch-up sync (its pinned documents only) must leave it.
    const stranger = keyDidSigner({ seed: new Uint8Array(32).fill(3) })
    unrelated = (await daemon.node.createDocument('tile', (await makeGenesis({ not: 'the page\'s' }, {}, stranger)).commit)).id.toString()
    server = await servePages()
    browser = await launchChromium(chromium)
    page = await browser.newPage()
    pageAddress = address
    pageUrl = `${server.url}/example/?peer=${encodeURIComponent(address)}&network=${NETWORK}`
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await daemon?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('creates a signed document in the page that the daemon receives, then an update made on the daemon reaches the page, which keeps both in IndexedDB and reconnects when the daemon comes back', async () => {
    await page.goto(pageUrl)
    await page.locator('#state', { hasText: 'created in the browser' }).waitFor()
    await page.locator('#peers', { hasText: `connected to ${daemon!.network!.peerId}` }).waitFor()
    const docId = (await page.locator('#doc').textContent())!
    const did = (await page.locator('#did').textContent())!

    // The daemon holds the genesis in its own store (brought by the network, not asked for by a load), signed by the
    // page's DID: it verified the signature before it stored it.
    await vi.waitFor(async () => { await daemon!.node.readBlock(DocID.fromString(docId).cid) }, { timeout: 15_000, interval: 50 })
    const received = (await daemon!.node.load(docId)).state
    expect(received.content).toEqual({ note: 'created in the browser', edits: 0 })
    expect(received.metadata.controllers).toEqual([did])

    // An update signed in the page reaches the daemon.
    await page.locator('#note').fill('signed in the page')
    await page.locator('button[type=submit]').click()
    await vi.waitFor(async () => {
      expect((await daemon!.node.load(docId)).state.content).toEqual({ note: 'signed in the page', edits: 1 })
    }, { timeout: 15_000, interval: 50 })

    // An update made on the daemon (signed by the document's controller, whose seed the page keeps in localStorage)
    // reaches the page: node.watch() shows it once the page has fetched, verified and applied it.
    const seed = await page.evaluate<string | null>('localStorage.getItem("kiln-example-seed")')
    const controller = keyDidSigner({ seed: seedFromHex(seed!) })
    expect(controller.did).toBe(did)
    const update = await makeUpdate((await daemon!.node.load(docId)).state, { note: 'made on the daemon', edits: 2 }, controller)
    await daemon!.node.applyCommit(docId, update.commit)
    await page.locator('#state', { hasText: 'made on the daemon' }).waitFor({ timeout: 15_000 })
    expect(JSON.parse((await page.locator('#state').textContent())!)).toMatchObject({ content: { note: 'made on the daemon', edits: 2 }, commits: 3 })

    // The page's only connection is the daemon's WebSockets address on 127.0.0.1: it dialled nothing else.
    const remotes = await page.evaluate<string[]>('window.kilnExample.network.libp2p.getConnections().map((c) => c.remoteAddr.toString())')
    expect(remotes).toEqual([pageAddress])

    // The page synced with the daemon, and took only its own document: not the daemon's other one.
    await page.waitForFunction('window.kilnExample.network.syncStatus()[0]?.state === "in-sync"')
    const holdsUnrelated = await page.evaluate<boolean>(`import('/kiln.js').then(({ DocID }) => window.kilnExample.node.readBlock(DocID.fromString('${unrelated}').cid)).then(() => true, () => false)`)
    expect(holdsUnrelated).toBe(false)
    expect(await daemon!.node.readBlock(DocID.fromString(unrelated).cid)).toBeInstanceOf(Uint8Array)

    // The daemon's explorer lists the page as a peer, with where catch-up sync with it stands.
    const explorer = await browser.newPage()
    try {
      await explorer.goto(`${daemon!.api.url}/`)
      await explorer.locator('#peers li').first().waitFor()
      expect(await explorer.locator('#peers li').count()).toBe(1)
      await explorer.locator('#peers li .sync', { hasText: /^in sync since / }).waitFor({ timeout: 15_000 })
      expect(await explorer.locator('#status-section').innerText()).toContain(`1 peer on ${NETWORK}, 1 in sync`)
    } finally {
      await explorer.close()
    }

    // With the daemon gone, a reload still shows the document, daemon's update included: it is in IndexedDB.
    await daemon!.stop()
    daemon = undefined
    await page.reload()
    await page.locator('#status', { hasText: 'Loaded the document from IndexedDB.' }).waitFor()
    await page.locator('#state', { hasText: 'made on the daemon' }).waitFor()
    expect(await page.locator('#doc').textContent()).toBe(docId)

    // The daemon comes back on its data directory and port (so with its PeerId): the page, dialling it again with
    // backoff, reconnects, and a new update made on the daemon reaches it.
    const port = Number(/\/tcp\/(\d+)\//.exec(pageAddress)![1])
    daemon = await startDaemon({ ...DAEMON_DEFAULTS, port: 0, anchor: [], dataDir, logLevel: 'silent', network: NETWORK, p2pListen: [`/ip4/127.0.0.1/tcp/${port}/ws`] }, silent)
    expect(daemon.network!.addresses).toContain(pageAddress)
    await page.locator('#peers', { hasText: `connected to ${daemon.network!.peerId}` }).waitFor({ timeout: 30_000 })
    const again = await makeUpdate((await daemon.node.load(docId)).state, { note: 'after the restart', edits: 3 }, controller)
    await daemon.node.applyCommit(docId, again.commit)
    await page.locator('#state', { hasText: 'after the restart' }).waitFor({ timeout: 15_000 })
    expect(JSON.parse((await page.locator('#state').textContent())!)).toMatchObject({ content: { edits: 3 }, commits: 4 })
  }, 120_000)
})
