import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DAEMON_DEFAULTS, mergeConfig, run, startDaemon } from '@kiln/cli'
import { createNode } from '@kiln/core'
import { makeGenesis } from '@kiln/doctype-tile'
import { AnchorStatus } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { describe, expect, it, vi } from 'vitest'

// The real createNode, watched: the test checks what the daemon asks of it.
vi.mock('@kiln/core', async (importOriginal) => {
  const core = await importOriginal<typeof import('@kiln/core')>()
  return { ...core, createNode: vi.fn(core.createNode) }
})

describe('assembling the daemon', () => {
  it.each(['strict', 'relaxed'] as const)('gives the node the %s durability it was configured with', async (durability) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kiln-assembly-'))
    const daemon = await startDaemon({ ...DAEMON_DEFAULTS, port: 0, anchor: [], p2pListen: [], dataDir, logLevel: 'silent', durability }, { debug () {}, info () {}, warn () {}, error () {} })
    try {
      expect(vi.mocked(createNode)).toHaveBeenLastCalledWith(expect.objectContaining({ durability }))
    } finally {
      await daemon.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('gives the HTTP API the daemon\'s import limit, rate limits and trusted proxy', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kiln-assembly-'))
    const daemon = await startDaemon({
      ...DAEMON_DEFAULTS, port: 0, anchor: [], p2pListen: [], dataDir, logLevel: 'silent', importBodyLimit: 2048, rateLimit: { write: { perSecond: 1, burst: 1 } }, trustProxy: ['127.0.0.1']
    }, { debug () {}, info () {}, warn () {}, error () {} })
    try {
      // Through the trusted proxy on 127.0.0.1, the client is the forwarded address: not loopback, so limited.
      const post = async (client: string): Promise<number> => (await fetch(`${daemon.api.url}/api/v0/streams`, {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': client }, body: '{}'
      })).status
      expect([await post('203.0.113.9'), await post('203.0.113.9'), await post('203.0.113.10')]).toEqual([400, 429, 400])
      const imported = await fetch(`${daemon.api.url}/api/v0/kiln/import`, { method: 'POST', headers: { 'content-type': 'application/vnd.ipld.car' }, body: new Uint8Array(4096) })
      expect({ status: imported.status, body: await imported.json() }).toMatchObject({ status: 413, body: { details: { limit: 2048 } } })
    } finally {
      await daemon.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('the daemon on a network', () => {
  const silent = { debug () {}, info () {}, warn () {}, error () {} }

  it('is on the network by default (TCP 4011, WebSockets 4012), off it with no listen address, and keeps its PeerId in the data directory across restarts', async () => {
    expect(DAEMON_DEFAULTS.p2pListen).toEqual(['/ip4/0.0.0.0/tcp/4011', '/ip4/0.0.0.0/tcp/4012/ws'])
    const dataDir = mkdtempSync(join(tmpdir(), 'kiln-assembly-'))
    try {
      const offline = await startDaemon({ ...DAEMON_DEFAULTS, port: 0, anchor: [], p2pListen: [], dataDir, logLevel: 'silent' }, silent)
      expect(offline.network).toBeUndefined()
      await offline.stop()
      const config = { ...DAEMON_DEFAULTS, port: 0, anchor: [], dataDir, logLevel: 'silent' as const, p2pListen: ['/ip4/127.0.0.1/tcp/0'], network: 'assembly-test' }
      const first = await startDaemon(config, silent)
      const peerId = first.network?.peerId
      expect(first.network).toMatchObject({ topic: '/ceramic/assembly-test', peerId: expect.stringMatching(/^12D3KooW/) })
      expect(first.network?.addresses.every((a) => a.startsWith('/ip4/127.0.0.1/tcp/') && a.endsWith(`/p2p/${peerId}`))).toBe(true)
      await first.stop()
      const second = await startDaemon(config, silent)
      expect(second.network?.peerId).toBe(peerId)
      await second.stop()
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('says who it is and who its peers are on GET /api/v0/kiln/node and in kiln peers', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'kiln-assembly-')), mkdtempSync(join(tmpdir(), 'kiln-assembly-'))]
    const base = { ...DAEMON_DEFAULTS, port: 0, anchor: [], logLevel: 'silent' as const, p2pListen: ['/ip4/127.0.0.1/tcp/0'], network: 'peers-test' }
    const a = await startDaemon({ ...base, dataDir: dirs[0]! }, silent)
    const b = await startDaemon({ ...base, dataDir: dirs[1]!, bootstrap: [a.network!.addresses[0]!] }, silent)
    try {
      const describe = async (url: string): Promise<{ did: string, peerId: string, addresses: string[], network: string, topic: string, peers: Array<{ peerId: string }> }> =>
        await (await fetch(`${url}/api/v0/kiln/node`)).json() as never
      await vi.waitFor(async () => { expect((await describe(b.api.url)).peers.map((p) => p.peerId)).toEqual([a.network!.peerId]) }, { timeout: 10_000, interval: 50 })
      expect(await describe(a.api.url)).toMatchObject({ did: a.did.did, peerId: a.network!.peerId, addresses: a.network!.addresses, network: 'peers-test', topic: '/ceramic/peers-test', peers: [{ peerId: b.network!.peerId }] })
      let out = ''
      const io = { out: { write (chunk: string | Uint8Array) { out += String(chunk) } }, err: { write () {} }, env: {} }
      expect(await run(['peers', '--url', b.api.url, '--json'], io)).toBe(0)
      expect(JSON.parse(out)).toMatchObject({ peerId: b.network!.peerId, peers: [{ peerId: a.network!.peerId }] })
    } finally {
      await b.stop()
      await a.stop()
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    }
  })

  it('anchors on the network\'s mock chain, so a peer verifies the anchor and its proof; another network has another chain', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'kiln-assembly-')), mkdtempSync(join(tmpdir(), 'kiln-assembly-')), mkdtempSync(join(tmpdir(), 'kiln-assembly-'))]
    const base = { ...DAEMON_DEFAULTS, port: 0, anchor: ['mock' as const], anchorIntervalMs: 50, logLevel: 'silent' as const, p2pListen: ['/ip4/127.0.0.1/tcp/0'], network: 'anchors-test' }
    const a = await startDaemon({ ...base, dataDir: dirs[0]! }, silent)
    const b = await startDaemon({ ...base, dataDir: dirs[1]!, bootstrap: [a.network!.addresses[0]!] }, silent)
    const elsewhere = await startDaemon({ ...base, dataDir: dirs[2]!, network: 'another-network' }, silent)
    try {
      expect(b.mockChainDid).toBe(a.mockChainDid)
      expect(elsewhere.mockChainDid).not.toBe(a.mockChainDid)
      await vi.waitFor(() => { expect(b.node.nodeInfo?.().network?.peers).toHaveLength(1) }, { timeout: 10_000, interval: 20 })
      const genesis = await makeGenesis({ anchored: 'across nodes' }, {}, keyDidSigner({ seed: new Uint8Array(32).fill(8) }))
      const { id } = await a.node.createDocument('tile', genesis.commit, { anchor: true })
      await vi.waitFor(async () => { expect((await a.node.load(id)).state.anchorStatus).toBe(AnchorStatus.ANCHORED) }, { timeout: 10_000, interval: 20 })
      // B fetches the log with the anchor commit, its proof and Merkle nodes, and verifies it with its own verifier.
      const onB = await b.node.load(id)
      expect(onB.state.anchorStatus).toBe(AnchorStatus.ANCHORED)
      expect(onB.state.log.map((e) => e.cid.toString())).toEqual((await a.node.load(id)).state.log.map((e) => e.cid.toString()))
    } finally {
      await elsewhere.stop()
      await b.stop()
      await a.stop()
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    }
  })

  it('answers GET /api/v0/kiln/node with its DID and nulls when it is on no network', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kiln-assembly-'))
    const daemon = await startDaemon({ ...DAEMON_DEFAULTS, port: 0, anchor: [], p2pListen: [], dataDir, logLevel: 'silent' }, silent)
    try {
      expect(await (await fetch(`${daemon.api.url}/api/v0/kiln/node`)).json()).toEqual({ did: daemon.did.did, peerId: null, addresses: [], network: null, topic: null, peers: [] })
    } finally {
      await daemon.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('refuses a listen or bootstrap address that is not a multiaddr, by name', () => {
    expect(() => mergeConfig(DAEMON_DEFAULTS, { p2pListen: ['tcp://0.0.0.0:4011'] }, 'option')).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining('not a multiaddr') }))
    expect(() => mergeConfig(DAEMON_DEFAULTS, { bootstrap: 'nonsense' }, 'option')).toThrow(expect.objectContaining({ name: 'ConfigError' }))
    expect(mergeConfig(DAEMON_DEFAULTS, { p2pListen: 'none' }, 'option').p2pListen).toEqual([])
  })
})

describe('kiln daemon', () => {
  it('takes --rate-limit and --rate-limit-loopback, says which limits are in force, and applies them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kiln-assembly-'))
    const controller = new AbortController()
    let out = ''
    let listening!: (url: string) => void
    const url = new Promise<string>((resolve) => { listening = resolve })
    const io = {
      out: { write (chunk: string | Uint8Array) { out += String(chunk); const match = /kiln listening on (\S+)\n/.exec(out); if (match !== null) listening(match[1]!) } },
      err: { write () {} },
      env: {},
      signal: controller.signal
    }
    const exited = run(['daemon', '--port', '0', '--anchor', 'none', '--p2p-listen', 'none', '--data-dir', dataDir, '--log-level', 'silent', '--rate-limit', 'write=1/2', '--rate-limit', 'eventStreams=off', '--rate-limit-loopback'], io)
    try {
      const base = await url
      expect(out).toContain('rate limit write 1/s (burst 2), read 100/s (burst 500), adminAuth 1/s (burst 20), eventStreams off per client; loopback limited too')
      const statuses: number[] = []
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${base}/api/v0/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status)
      expect(statuses).toEqual([400, 400, 429])
    } finally {
      controller.abort()
      expect(await exited).toBe(0)
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
