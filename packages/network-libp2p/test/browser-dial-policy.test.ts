import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import * as browser from '../src/platform/environment.browser.js'
import * as node from '../src/platform/environment.node.js'

// The browser build's dial policy (package.json `imports`, condition `browser`), checked here on its own: without a
// `dialFilter`, a page dials secure WebSockets anywhere and plain ws:// only on this machine.
const PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'

describe('the browser dial policy', () => {
  it.each([
    `/ip4/127.0.0.1/tcp/4012/ws/p2p/${PEER}`,
    '/ip4/127.0.0.1/tcp/4012/ws',
    `/ip6/::1/tcp/4012/ws/p2p/${PEER}`,
    `/dns4/localhost/tcp/4012/ws/p2p/${PEER}`,
    `/dns4/kiln.example.org/tcp/443/wss/p2p/${PEER}`,
    `/dns4/kiln.example.org/tcp/443/tls/ws/p2p/${PEER}`,
    '/ip4/203.0.113.7/tcp/443/wss'
  ])('allows %s', (address) => {
    expect(browser.platformAllowsDial(multiaddr(address))).toBe(true)
  })

  it.each([
    // Plain WebSockets off this machine: refused, private network or not (a page must not reach into the LAN).
    `/ip4/192.168.1.20/tcp/4012/ws/p2p/${PEER}`,
    `/ip4/10.0.0.1/tcp/4012/ws/p2p/${PEER}`,
    `/dns4/kiln.example.org/tcp/80/ws/p2p/${PEER}`,
    // Not WebSockets at all: a browser has no TCP.
    `/ip4/127.0.0.1/tcp/4011/p2p/${PEER}`,
    '/ip4/203.0.113.7/tcp/4011'
  ])('refuses %s', (address) => {
    expect(browser.platformAllowsDial(multiaddr(address))).toBe(false)
  })

  it('listens on nothing in a browser, on TCP and WebSockets in Node', () => {
    expect(browser.PLATFORM_LISTEN).toEqual([])
    expect(browser.transports()).toHaveLength(1)
    expect(node.PLATFORM_LISTEN).toEqual(['/ip4/0.0.0.0/tcp/4011', '/ip4/0.0.0.0/tcp/4012/ws'])
    expect(node.transports()).toHaveLength(2)
    expect(node.platformAllowsDial(multiaddr('/ip4/10.0.0.1/tcp/4011'))).toBe(true)
  })

  it('syncs only pinned documents by default in a browser, everything in Node', () => {
    expect(browser.PLATFORM_SYNCS_PINNED_ONLY).toBe(true)
    expect(node.PLATFORM_SYNCS_PINNED_ONLY).toBe(false)
  })
})

describe('the browser peer key', () => {
  it('refuses a peerKeyPath with StorageError: a page has no file to keep it in', async () => {
    const { loadOrCreatePeerKey } = await import('../src/platform/peer-key.browser.js')
    await expect(loadOrCreatePeerKey('/data/peer.key')).rejects.toMatchObject({ name: 'StorageError', details: { path: '/data/peer.key' } })
  })
})
