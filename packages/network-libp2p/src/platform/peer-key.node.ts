import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { StorageError } from '@kiln/interface'
import type { PrivateKey } from '@libp2p/interface'

/**
 * The node's libp2p key, kept at `path` (libp2p's protobuf form, mode 0600) so that its PeerId survives restarts: read
 * when the file exists, otherwise a new Ed25519 key written there first. An unreadable or corrupt file is a
 * `StorageError` naming it; it is never replaced silently, since that would change the node's identity.
 */
export async function loadOrCreatePeerKey (path: string): Promise<PrivateKey> {
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StorageError(`Cannot read the peer key at ${path}: ${(err as Error).message}`, { cause: err, details: { path } })
    }
  }
  if (bytes !== undefined) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new StorageError(`The peer key at ${path} is corrupt: ${(err as Error).message}. Restore it, or move it away to start this node with a new PeerId`, { cause: err, details: { path } })
    }
  }
  const key = await generateKeyPair('Ed25519')
  try {
    await mkdir(dirname(path), { recursive: true })
    // Written beside, then renamed: a crash leaves either no key or a whole one.
    const partial = `${path}.partial`
    await writeFile(partial, privateKeyToProtobuf(key), { mode: 0o600 })
    await chmod(partial, 0o600)
    await rename(partial, path)
  } catch (err) {
    throw new StorageError(`Cannot write the peer key at ${path}: ${(err as Error).message}`, { cause: err, details: { path } })
  }
  return key
}
