import { CeramicClient } from '@ceramicnetwork/http-client'
import { TileDocument } from '@ceramicnetwork/stream-tile'
import { DID } from 'dids'
import { Ed25519Provider } from 'key-did-provider-ed25519'
import KeyResolver from 'key-did-resolver'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { startDaemon, type DaemonProcess } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'

/** Ceramic's AnchorStatus.ANCHORED. */
const ANCHORED = 3

async function authenticated (seedByte: number): Promise<DID> {
  const did = new DID({ provider: new Ed25519Provider(new Uint8Array(32).fill(seedByte)), resolver: KeyResolver.getResolver() })
  await did.authenticate()
  return did
}

describe("Ceramic's own unmodified client against a Kiln daemon", () => {
  let daemon: DaemonProcess
  let remove: () => Promise<void>
  const clients: CeramicClient[] = []

  beforeAll(async () => {
    const dir = await dataDir()
    remove = dir.remove
    daemon = await startDaemon(['--data-dir', dir.path, '--anchor-interval', '300'])
  })
  afterAll(async () => {
    for (const client of clients) await client.close()
    await daemon?.stop()
    await remove?.()
  })

  function client (): CeramicClient {
    const c = new CeramicClient(daemon.url, { syncInterval: 200 })
    clients.push(c)
    return c
  }

  it('creates a TileDocument, updates it, loads it elsewhere and at its genesis, lists its commits and sees it anchored', async () => {
    const writer = client()
    writer.did = await authenticated(0x51)

    // Created without an anchor request, so that no anchor of the genesis can land between create and update (an
    // update built on a tip that gets anchored meanwhile forks the log and loses to the anchored branch, by the rule).
    const doc = await TileDocument.create<Record<string, unknown>>(writer, { name: 'Alice', langs: ['en'] }, {}, { anchor: false, pin: true })
    expect(doc.id.type).toBe(0)
    expect(doc.controllers).toEqual([writer.did.id])
    await doc.update({ name: 'Alice', langs: ['en', 'fr'], age: 31 })
    expect(doc.content).toEqual({ name: 'Alice', langs: ['en', 'fr'], age: 31 })

    const reader = client()
    const loaded = await TileDocument.load<Record<string, unknown>>(reader, doc.id)
    expect(loaded.content).toEqual({ name: 'Alice', langs: ['en', 'fr'], age: 31 })
    expect(loaded.id.toString()).toBe(doc.id.toString())

    const genesisCommitId = doc.allCommitIds[0]!
    expect(genesisCommitId.toString()).toMatch(/^k/)
    const atGenesis = await TileDocument.load<Record<string, unknown>>(reader, genesisCommitId)
    expect(atGenesis.content).toEqual({ name: 'Alice', langs: ['en'] })

    const commits = await reader.loadStreamCommits(doc.id)
    expect(commits.length).toBeGreaterThanOrEqual(2)
    expect(commits[0]!.cid).toBe(doc.id.cid.toString())

    await vi.waitFor(async () => {
      expect((await TileDocument.load(reader, doc.id)).state.anchorStatus).toBe(ANCHORED)
    }, { timeout: 15_000, interval: 200 })
  })

  it('refuses an update by a DID that is not the controller, with the error message in the thrown error', async () => {
    const owner = client()
    owner.did = await authenticated(0x52)
    const doc = await TileDocument.create(owner, { owner: 'me' }, {}, { anchor: false })
    const intruder = client()
    intruder.did = await authenticated(0x53)
    const theirs = await TileDocument.load<Record<string, unknown>>(intruder, doc.id)
    await expect(theirs.update({ owner: 'intruder' })).rejects.toThrow(/controller|signer/i)
    const reloaded = await TileDocument.load<Record<string, unknown>>(client(), doc.id)
    expect(reloaded.content).toEqual({ owner: 'me' })
  })
})
