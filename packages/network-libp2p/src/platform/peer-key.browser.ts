import { StorageError } from '@kiln/interface'
import type { PrivateKey } from '@libp2p/interface'

/**
 * A page has no file to keep a peer key in: `peerKeyPath` is refused with a `StorageError`. A browser node passes
 * `privateKey` (kept where the page keeps its other keys) or gets a new PeerId on each start, which is what a browser
 * peer usually wants.
 */
export async function loadOrCreatePeerKey (path: string): Promise<PrivateKey> {
  throw new StorageError(`A browser node cannot keep its peer key in a file (${path}): pass privateKey instead of peerKeyPath`, { details: { path } })
}
