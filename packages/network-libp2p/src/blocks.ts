import { concatBytes } from '@kiln/codec'
import { isKilnError, type Blockstore as KilnBlockstore } from '@kiln/interface'
import { NotFoundError } from 'interface-store'
import { CID } from 'multiformats/cid'
import type { Blockstore, InputPair, Pair } from 'interface-blockstore'

/** A CID as helia's copy of multiformats types it (a newer version than Kiln's; the same thing at run time). */
export type HeliaCID = Parameters<Blockstore['has']>[0]

/** Kiln's view of a CID helia hands over. */
function kilnCid (cid: HeliaCID): CID {
  return CID.asCID(cid) ?? CID.decode(cid.bytes)
}

/** Helia's view of a Kiln CID: the same object, typed by helia's multiformats. */
export function heliaCid (cid: CID): HeliaCID {
  return cid as unknown as HeliaCID
}

/** How many fetched blocks the adapter keeps for helia until core writes them with their commit. */
const FETCHED_BLOCKS = 256

async function bytesOf (value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value
  const chunks: Uint8Array[] = []
  for await (const chunk of value) chunks.push(chunk)
  return concatBytes(...chunks)
}

/**
 * The node's blockstore as helia sees it. Reads come from the node's storage, so every block the node holds is served
 * over bitswap. Writes do not go to storage: a block fetched from a peer is only a candidate until core has verified the
 * commit that needs it and written both together, so helia's copy lands in a small bounded cache instead.
 */
export function heliaBlockstore (blocks: KilnBlockstore): Blockstore {
  const fetched = new Map<string, Uint8Array>()
  const get = async (key: HeliaCID): Promise<Uint8Array> => {
    const cid = kilnCid(key)
    const cached = fetched.get(cid.toString())
    if (cached !== undefined) return cached
    try {
      return await blocks.get(cid)
    } catch (err) {
      if (isKilnError(err, 'BlockNotFoundError')) throw new NotFoundError(`No block ${cid.toString()}`)
      throw err
    }
  }
  const has = async (key: HeliaCID): Promise<boolean> => fetched.has(key.toString()) || await blocks.has(kilnCid(key))
  const put = async (key: HeliaCID, value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<HeliaCID> => {
    if (fetched.size >= FETCHED_BLOCKS) fetched.delete(fetched.keys().next().value!)
    fetched.set(key.toString(), await bytesOf(value))
    return key
  }
  return {
    has,
    put,
    async * get (cid) { yield await get(cid) },
    async * getMany (source) {
      for await (const cid of source) yield { cid, bytes: (async function * () { yield await get(cid) })() } satisfies Pair
    },
    async * putMany (source: Iterable<InputPair> | AsyncIterable<InputPair>): AsyncGenerator<HeliaCID, undefined> {
      for await (const { cid, bytes } of source) yield await put(cid, bytes)
      return undefined
    },
    // Kiln's storage decides what it keeps (pins and gc); helia never deletes from it.
    async delete (cid) { fetched.delete(cid.toString()) },
    async * deleteMany (source) {
      for await (const cid of source) {
        fetched.delete(cid.toString())
        yield cid
      }
      return undefined
    },
    // Listing every block is not something a peer may ask of a node.
    async * getAll () {}
  }
}
