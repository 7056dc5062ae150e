import { CodecError, type Block } from '@kiln/interface'
import { CarReader, CarWriter } from '@ipld/car'
import { CID } from 'multiformats/cid'
import { verifyBlock } from './cid.js'

/** Writes blocks into one CAR file (CARv1) with the given roots. Each CID is written once. */
export async function encodeCar (roots: CID[], blocks: Iterable<Block>): Promise<Uint8Array> {
  // @ipld/car carries its own copy of multiformats: CIDs cross between the two as structurally equal values.
  const { writer, out } = CarWriter.create(roots as unknown as Parameters<typeof CarWriter.create>[0])
  const chunks: Uint8Array[] = []
  const collected = (async () => { for await (const chunk of out) chunks.push(chunk) })()
  const seen = new Set<string>()
  for (const block of blocks) {
    const key = block.cid.toString()
    if (seen.has(key)) continue
    seen.add(key)
    await writer.put({ cid: block.cid, bytes: block.bytes } as unknown as Parameters<typeof writer.put>[0])
  }
  await writer.close()
  await collected
  return concatChunks(chunks)
}

/**
 * Reads a CAR file: its roots and blocks, every block checked against its CID. Bytes that are not a CAR, or a block
 * that does not hash to its CID, are a `CodecError`: nothing from a tampered file is trusted.
 */
export async function decodeCar (bytes: Uint8Array): Promise<{ roots: CID[], blocks: Block[] }> {
  let reader: CarReader
  try {
    reader = await CarReader.fromBytes(bytes)
  } catch (err) {
    throw new CodecError(`Not a CAR file: ${(err as Error).message}`, { cause: err })
  }
  const roots = (await reader.getRoots()).map((root) => asCid(root))
  const blocks: Block[] = []
  for await (const block of reader.blocks()) {
    const cid = asCid(block.cid)
    await verifyBlock(cid, block.bytes)
    blocks.push({ cid, bytes: block.bytes })
  }
  return { roots, blocks }
}

function concatChunks (chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const chunk of chunks) { out.set(chunk, offset); offset += chunk.length }
  return out
}

/** A CID from @ipld/car's copy of multiformats as one of ours. */
function asCid (value: unknown): CID {
  const cid = CID.asCID(value)
  if (cid === null) throw new CodecError('CAR entry without a valid CID')
  return cid
}
