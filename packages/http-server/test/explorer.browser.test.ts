import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mockAnchor } from '@kiln/anchor-mock'
import { docStateFromJSON } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { CommitID, DocID, parseDocOrCommitID } from '@kiln/docid'
import { tile } from '@kiln/doctype-tile'
import { httpApi, type HttpApi } from '@kiln/http-server'
import type { Storage, StorageFactory } from '@kiln/interface'
import { chromiumPath, launchChromium, noChromiumReason } from '@kiln/interface-tests/browser'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, createTile, updateJSON, waitForAnchored } from './fixtures/harness.js'

// The explorer in a real Chromium (Debian's, driven by playwright-core), against a real node and HTTP API on
// 127.0.0.1: content, log and a verified anchor proof; a new commit without a reload; a CommitID; links and backlinks;
// a tampered Merkle node; an unknown DocID; a garbage search; the node. Screenshots go to SCREENSHOTS for people to look at.

const SCREENSHOTS = join(tmpdir(), 'kiln-explorer-screenshots')
const skipReason = noChromiumReason()
if (skipReason !== undefined) console.warn(`explorer browser tests skipped: ${skipReason}`)

/** Blocks whose reads return altered bytes: a store that corrupted (or a node that forged) a Merkle node. */
const tampered = new Set<string>()

/** `target[property]`, a method bound to `target`: the storage's private fields are not reachable through a proxy. */
function bound (target: object, property: string | symbol, receiver: unknown): unknown {
  const value = Reflect.get(target, property, receiver) as unknown
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
}

/** `memoryStorage()`, except that reading a block in `tampered` gives its bytes with the last one flipped. */
function tamperingStorage (): StorageFactory {
  const inner = memoryStorage()
  return (components) => {
    const storage = inner(components)
    const blocks: Storage['blocks'] = new Proxy(storage.blocks, {
      get (target, property, receiver) {
        if (property !== 'get') return bound(target, property, receiver)
        return async (cid: CID, options?: Parameters<Storage['blocks']['get']>[1]) => {
          const bytes = await target.get(cid, options)
          if (!tampered.has(cid.toString())) return bytes
          const altered = bytes.slice()
          altered[altered.length - 1] = altered[altered.length - 1]! ^ 0x01
          return altered
        }
      }
    })
    return new Proxy(storage, { get: (target, property, receiver) => (property === 'blocks' ? blocks : bound(target, property, receiver)) })
  }
}

// Skipped only where no Chromium is installed (CI installs Debian's with scripts/ci-chromium.sh): the reason is printed
// above and named in the suite's title, never silent.
describe.skipIf(skipReason !== undefined)(`the explorer in Chromium (${chromiumPath() ?? `skipped: ${skipReason ?? ''}`})`, () => {
  let node: KilnNode
  let api: HttpApi
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    console.log(`explorer screenshots: ${SCREENSHOTS}`)
    node = await createNode({ doctypes: [tile()], storage: tamperingStorage(), anchors: [mockAnchor({ anchorOnRequest: true })] })
    api = httpApi({ port: 0, host: '127.0.0.1' })({ node })
    await api.start()
    browser = await launchChromium()
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  })

  afterAll(async () => {
    await browser?.close()
    await api?.stop()
    await node?.stop()
  })

  /** Creates an anchored tile; returns its id. */
  async function anchoredTile (content: Record<string, unknown>): Promise<string> {
    const { streamId } = await createTile(api.url, content, undefined, { anchor: true })
    await waitForAnchored(api.url, streamId)
    return streamId
  }

  it('shows a document\'s content, metadata, log and anchor proof verified ✓, at desktop and phone width', async () => {
    const id = await anchoredTile({ title: 'Kiln explorer', count: 1, nested: { tags: ['a', 'b'] } })
    await page.goto(`${api.url}/#/doc/${id}`)
    await page.locator('#content', { hasText: 'Kiln explorer' }).waitFor()
    expect(await page.locator('#content').innerText()).toContain('"Kiln explorer"')
    expect(await page.locator('#metadata-section').innerText()).toContain('did:key:')
    expect(await page.locator('#log li.commit').count()).toBe(2)
    expect(await page.locator('#log li.commit .commit-type').allTextContents()).toEqual(['genesis', 'anchor'])
    const verdict = page.locator('.verdict.valid')
    await verdict.waitFor()
    expect(await verdict.innerText()).toMatch(/^✓ Merkle path verified/)
    expect(await page.locator('.proof').innerText()).toContain(node.chains[0]!)
    await page.locator('#live.on').waitFor()
    await page.screenshot({ path: join(SCREENSHOTS, 'document-desktop-1280x800.png'), fullPage: true })
    await page.setViewportSize({ width: 390, height: 844 })
    await page.screenshot({ path: join(SCREENSHOTS, 'document-phone-390x844.png'), fullPage: true })
    // On a phone the page fits its width: nothing scrolls sideways.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('shows a new commit as it lands, without a reload, and a CommitID as a past state', async () => {
    const id = await anchoredTile({ title: 'before' })
    await page.goto(`${api.url}/#/doc/${id}`)
    await page.locator('#live.on').waitFor()
    await page.locator('#content', { hasText: 'before' }).waitFor()
    // A mark on the window: a reload would lose it.
    await page.evaluate('window.kilnMark = 42')
    const state = docStateFromJSON((await call(api.url, `/api/v0/streams/${id}`)).json.state)
    const update = await call(api.url, '/api/v0/commits', { body: { streamId: id, commit: await updateJSON(state, { title: 'after the update' }), opts: { anchor: false } } })
    expect(update.status).toBe(200)
    await page.locator('#content', { hasText: 'after the update' }).waitFor()
    expect(await page.locator('#log li.commit').count()).toBe(3)
    expect(await page.evaluate<number>('window.kilnMark')).toBe(42)

    // A CommitID shows the document as of that commit, and does not follow it.
    const genesis = new CommitID(0, parseDocOrCommitID(id).baseID.cid, state.log[0]!.cid).toString()
    await page.getByLabel('Search by DocID or CommitID').fill(genesis)
    await page.keyboard.press('Enter')
    await page.locator('#content', { hasText: 'before' }).waitFor()
    expect(await page.locator('#log li.commit').count()).toBe(1)
    await page.locator('#live', { hasText: 'A past state (a CommitID): not live.' }).waitFor()
  })

  it('lists links and backlinks as links to follow', async () => {
    const target = await anchoredTile({ title: 'linked to' })
    const { streamId: source } = await createTile(api.url, { title: 'links out', ref: `ceramic://${target}` })
    await page.goto(`${api.url}/#/doc/${target}`)
    const backlink = page.locator('#backlinks-section a', { hasText: source })
    await backlink.waitFor()
    await backlink.click()
    await page.locator('#content', { hasText: 'links out' }).waitFor()
    expect(page.url()).toBe(`${api.url}/#/doc/${source}`)
    expect(await page.locator('#links-section a').allTextContents()).toEqual([target])
  })

  it('shows ✗ with the reason for a document whose stored Merkle node was tampered with', async () => {
    const id = await anchoredTile({ title: 'tampered' })
    const log = await call(api.url, `/api/v0/kiln/streams/${id}/log`)
    const root = (log.json.log as Array<{ proof?: { root: string } }>).find((item) => item.proof !== undefined)!.proof!.root
    tampered.add(root)
    await page.goto(`${api.url}/#/doc/${id}`)
    const verdict = page.locator('.verdict.invalid')
    await verdict.waitFor()
    expect(await verdict.innerText()).toBe(`✗ Merkle path not verified: Merkle node at depth 0: the bytes of block ${root} do not hash to its CID`)
    expect(await page.locator('.verdict.valid').count()).toBe(0)
    await page.screenshot({ path: join(SCREENSHOTS, 'tampered-proof-desktop.png'), fullPage: true })
  })

  it('says clearly that an unknown DocID is not found', async () => {
    const unknown = new DocID(0, CID.create(1, 0x71, await sha256.digest(new TextEncoder().encode('never written')))).toString()
    await page.goto(`${api.url}/#/`)
    await page.getByLabel('Search by DocID or CommitID').fill(unknown)
    await page.getByRole('button', { name: 'Search' }).click()
    const message = page.locator('#message.not-found')
    await message.waitFor()
    expect(await message.innerText()).toContain(`Not found: no document ${unknown} on this node`)
    expect(await page.locator('#message').getAttribute('role')).toBe('alert')
  })

  it('says clearly that a garbage search string is not a DocID or CommitID', async () => {
    await page.goto(`${api.url}/#/`)
    await page.locator('#recent-section').waitFor()
    await page.getByLabel('Search by DocID or CommitID').fill('<script>garbage!</script>')
    await page.keyboard.press('Enter')
    const message = page.locator('#message.error')
    await message.waitFor()
    expect(await message.innerText()).toBe('"<script>garbage!</script>" is not a DocID or CommitID: expected a string like k2t6wyfsu4pg…')
    // Focus goes back to the search field to correct it, and shows where it is.
    expect(await page.evaluate<string>('document.activeElement?.id')).toBe('search-input')
    expect(await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid')
  })

  it('shows the node: status, chains and recent documents', async () => {
    // After the garbage search the page is at #/ already: the Node link shows the node view again.
    await page.getByRole('navigation', { name: 'Explorer' }).getByRole('link', { name: 'Node' }).click()
    await page.locator('#recent li').first().waitFor()
    expect(await page.locator('#status-section').innerText()).toContain('healthy')
    expect(await page.locator('#chains-section').innerText()).toContain(node.chains[0]!)
    expect(await page.locator('#recent li').count()).toBeGreaterThanOrEqual(3)
    await page.screenshot({ path: join(SCREENSHOTS, 'node-desktop-1280x800.png'), fullPage: true })
    await page.setViewportSize({ width: 390, height: 844 })
    await page.screenshot({ path: join(SCREENSHOTS, 'node-phone-390x844.png'), fullPage: true })
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    await page.setViewportSize({ width: 1280, height: 800 })
  })
})
