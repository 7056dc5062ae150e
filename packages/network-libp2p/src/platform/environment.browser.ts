import { webSockets } from '@libp2p/websockets'
import type { Multiaddr } from '@multiformats/multiaddr'

/** In a browser: WebSockets only, dialling out (a page cannot listen). */
export function transports (): [ReturnType<typeof webSockets>] {
  return [webSockets()]
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost'])

/**
 * The browser's dial policy, when the node has no `dialFilter` of its own: secure WebSockets (`/wss`, or `/tls/ws`)
 * to any host, and plain `ws://` only to this machine (127.0.0.1, ::1, localhost), so a page can reach a daemon run
 * for development. libp2p's own browser default refuses every `ws://` and every private address.
 */
export function platformAllowsDial (address: Multiaddr): boolean {
  const parts = address.getComponents()
  const names = parts.map((part) => part.name)
  if (!names.includes('ws') && !names.includes('wss')) return false
  if (names.includes('wss') || names.includes('tls')) return true
  const host = parts[0]?.value
  return host !== undefined && LOOPBACK_HOSTS.has(host)
}

/**
 * A page's catch-up sync wants only the documents it has pinned (those it created, and those pinned with `node.pin`)
 * unless told otherwise: a page that opens must not pull a whole network into IndexedDB.
 */
export const PLATFORM_SYNCS_PINNED_ONLY = true

/** A page listens on nothing: it dials daemons. */
export const PLATFORM_LISTEN: readonly string[] = Object.freeze([])
