import { decodeRecord, encodeRecord } from '@kiln/codec'
import { InvalidAnchorProofError, KilnError, type AbortOptions, type Block } from '@kiln/interface'
import { CID } from 'multiformats/cid'

/** One leaf of a batch: the tip to anchor and the key it is sorted and looked up by (the DocID string). */
export interface MerkleLeaf {
  key: string
  tip: CID
}

/** A built tree: its root, every internal node block, and the path of each leaf. */
export interface MerkleTree {
  /** CID of the root node; this is what goes on chain. */
  readonly root: CID
  /** Every internal node as a dag-cbor block `[left, right]` (the root may carry a third element, its metadata). */
  readonly nodes: readonly Block[]
  /** Number of leaves. */
  readonly size: number
  /** The path from the root to the leaf with this key, `0` = left and `1` = right (`"0/1/1"`). */
  pathOf(key: string): string
  /** The node blocks a verifier walks from the root to the leaf with this key, root first. */
  pathBlocks(key: string): Block[]
}

/** Options of {@link buildMerkleTree}. */
export interface BuildOptions {
  /** Facts stored as the root's third element (chain, batch size, time); must be dag-cbor encodable. */
  metadata?: Record<string, unknown>
}

interface Node {
  cid: CID
  block?: Block
  left?: Node
  right?: Node
}

/**
 * Builds a Merkle tree over `leaves`, sorted by key so that the same batch always gives the same root. Leaves are paired
 * left to right on each level; an odd node out is carried up unchanged. A single leaf gives a root `[tip, null]`, so
 * the root is always a node that can carry metadata. Two leaves with one key are an error: a batch anchors one tip per
 * document.
 */
export async function buildMerkleTree (leaves: readonly MerkleLeaf[], options: BuildOptions = {}): Promise<MerkleTree> {
  if (leaves.length === 0) throw new KilnError('Cannot build a Merkle tree of no leaves')
  const sorted = [...leaves].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.key === sorted[i - 1]!.key) throw new KilnError(`Two tips for one key in a Merkle batch: ${sorted[i]!.key}`)
  }
  const index = new Map(sorted.map((leaf, i) => [leaf.key, i]))
  let level: Node[] = sorted.map((leaf) => ({ cid: leaf.tip }))
  const nodes: Block[] = []

  if (level.length === 1) {
    const only = level[0]!
    const block = await encodeRecord(withMetadata([only.cid, null], options))
    nodes.push(block)
    return makeTree({ cid: block.cid, block, left: only }, nodes, sorted.length, index)
  }
  while (level.length > 1) {
    const next: Node[] = []
    const last = level.length === 2
    for (let i = 0; i + 1 < level.length; i += 2) {
      const left = level[i]!
      const right = level[i + 1]!
      const value = last ? withMetadata([left.cid, right.cid], options) : [left.cid, right.cid]
      const block = await encodeRecord(value)
      nodes.push(block)
      next.push({ cid: block.cid, block, left, right })
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1]!)
    level = next
  }
  return makeTree(level[0]!, nodes, sorted.length, index)
}

function withMetadata (pair: Array<CID | null>, options: BuildOptions): unknown[] {
  return options.metadata === undefined ? pair : [...pair, options.metadata]
}

function makeTree (root: Node, nodes: Block[], size: number, index: Map<string, number>): MerkleTree {
  // Walk down from the root by the leaf's position: the shape depends only on the leaf count.
  const descend = (key: string): { path: string[], blocks: Block[] } => {
    const position = index.get(key)
    if (position === undefined) throw new KilnError(`No leaf with key ${key} in this Merkle tree`)
    const path: string[] = []
    const blocks: Block[] = []
    let node = root
    let lo = 0
    let count = size
    while (node.left !== undefined) {
      blocks.push(node.block!)
      if (node.right === undefined) { path.push('0'); node = node.left; continue }
      const leftCount = leftSize(count)
      if (position < lo + leftCount) {
        path.push('0'); node = node.left; count = leftCount
      } else {
        path.push('1'); node = node.right; lo += leftCount; count -= leftCount
      }
    }
    return { path, blocks }
  }
  return {
    root: root.cid,
    nodes,
    size,
    pathOf: (key) => descend(key).path.join('/'),
    pathBlocks: (key) => descend(key).blocks
  }
}

/**
 * How many of `n` leaves (n ≥ 2) fall under the root's left child when levels pair left to right and carry an odd
 * node up: the largest power of two below n.
 */
function leftSize (n: number): number {
  let p = 1
  while (p * 2 < n) p *= 2
  return p
}

/** Reads a block by CID; verification asks for each node on the path. */
export type GetBlock = (cid: CID, options?: AbortOptions) => Promise<Uint8Array>

/**
 * Walks `path` from `root` through node blocks fetched with `getBlock` and checks it ends at `tip`; throws
 * `InvalidAnchorProofError` naming the step that failed. Each node's bytes are checked against its CID.
 */
export async function verifyMerklePath (root: CID, path: string, tip: CID, getBlock: GetBlock, options: AbortOptions = {}): Promise<void> {
  if (!/^([01](\/[01])*)?$/.test(path)) throw new InvalidAnchorProofError(`Malformed Merkle path "${path}"`, { details: { path } })
  const steps = path === '' ? [] : path.split('/')
  let current = root
  for (const [depth, step] of steps.entries()) {
    let node: unknown
    try {
      node = await decodeRecord(await getBlock(current, options), current)
    } catch (err) {
      throw new InvalidAnchorProofError(`Merkle node ${current.toString()} at depth ${depth} cannot be read`, { cause: err, details: { path, depth } })
    }
    if (!Array.isArray(node) || node.length < 2 || node.length > 3) {
      throw new InvalidAnchorProofError(`Merkle node ${current.toString()} is not [left, right]`, { details: { path, depth } })
    }
    const child = CID.asCID(node[step === '0' ? 0 : 1])
    if (child === null) throw new InvalidAnchorProofError(`Merkle path "${path}" leads to an empty branch at depth ${depth}`, { details: { path, depth } })
    current = child
  }
  const end = current.toString()
  if (end !== tip.toString()) {
    throw new InvalidAnchorProofError(`Merkle path "${path}" from ${root.toString()} ends at ${end}, not at ${tip.toString()}`, {
      details: { path, root: root.toString(), tip: tip.toString() }
    })
  }
}
