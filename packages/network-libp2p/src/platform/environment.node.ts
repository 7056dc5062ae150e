import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import type { Multiaddr } from '@multiformats/multiaddr'

/** In Node: TCP and WebSockets, listening and dialling. */
export function transports (): [ReturnType<typeof tcp>, ReturnType<typeof webSockets>] {
  return [tcp(), webSockets()]
}

/** In Node every address may be dialled unless the node's `dialFilter` says otherwise. */
export function platformAllowsDial (_address: Multiaddr): boolean {
  return true
}

/** A Node daemon's catch-up sync wants every document of the network unless told otherwise. */
export const PLATFORM_SYNCS_PINNED_ONLY = false

/** A Node daemon listens on TCP and WebSockets by default. */
export const PLATFORM_LISTEN: readonly string[] = Object.freeze(['/ip4/0.0.0.0/tcp/4011', '/ip4/0.0.0.0/tcp/4012/ws'])
