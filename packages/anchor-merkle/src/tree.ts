import { decodeRecord, encodeRecord } from '@kiln/codec'
import { AbortError, InvalidAnchorProofError, isKilnError, type AbortOptions, type Block } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { InvalidMerkleBatchError, UnknownMerkleLeafError } from './errors.js'

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

/** Reads a block by CID; verification asks for each node on the path. */
export type GetBlock = (cid: CID, options?: AbortOptions) => Promise<Uint8Array>

/** The longest path {@link verifyMerklePath} walks: far beyond any real batch (2^64 leaves), short enough to bound the work a hostile claim causes. */
export const MAX_PATH_DEPTH = 64

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
  if (leaves.length === 0) throw new InvalidMerkleBatchError('Cannot build a Merkle tree of no leaves')
  for (const leaf of leaves) checkLeaf(leaf)
  // Code-unit order (`<`), not localeCompare: the root must not depend on the machine's locale.
  const sorted = [...leaves].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  for (let i = 1; i < sorted.length; i++) {
    const key = sorted[i]!.key
    if (key === sorted[i - 1]!.key) {
      throw new InvalidMerkleBatchError(`Two tips for one key in a Merkle batch: ${key}`, { details: { key } })
    }
  }
  const index = new Map(sorted.map((leaf, i) => [leaf.key, i]))
  let level: Node[] = sorted.map((leaf) => ({ cid: CID.asCID(leaf.tip)! }))
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

function checkLeaf (leaf: MerkleLeaf): void {
  // Types say this already; a JavaScript caller, or a request read from the wire, may not.
  const key: unknown = leaf?.key
  if (typeof key !== 'string') throw new InvalidMerkleBatchError(`A Merkle leaf key must be a string, got ${typeof key}`)
  if (CID.asCID(leaf.tip) === null) {
    throw new InvalidMerkleBatchError(`The tip of Merkle leaf ${key} is not a CID`, { details: { key } })
  }
}

function withMetadata (pair: Array<CID | null>, options: BuildOptions): unknown[] {
  return options.metadata === undefined ? pair : [...pair, options.metadata]
}

function makeTree (root: Node, nodes: Block[], size: number, index: Map<string, number>): MerkleTree {
  // Walk down from the root by the leaf's position: the shape depends only on the leaf count.
  const descend = (key: string): { path: string[], blocks: Block[] } => {
    const position = index.get(key)
    if (position === undefined) throw new UnknownMerkleLeafError(`No leaf with key ${key} in this Merkle tree`, { details: { key } })
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
 * How many of `n` leaves (n ≥ 2) fall under a node's left child when levels pair left to right and carry an odd
 * node up: the largest power of two below n. On level k, node i covers leaves [i·2^k, min((i+1)·2^k, n)), a carried
 * node included, so this holds for the root and, recursively, for every node below it.
 */
function leftSize (n: number): number {
  let p = 1
  while (p * 2 < n) p *= 2
  return p
}

/**
 * Walks `path` from `root` through node blocks fetched with `getBlock` and checks it ends at `tip`; throws
 * `InvalidAnchorProofError` naming the step that failed. Each node's bytes are checked against its CID.
 */
export async function verifyMerklePath (root: CID, path: string, tip: CID, getBlock: GetBlock, options: AbortOptions = {}): Promise<void> {
  if (typeof path !== 'string' || !/^([01](\/[01])*)?$/.test(path)) {
    throw new InvalidAnchorProofError(`Malformed Merkle path ${JSON.stringify(path)}`, { details: { path } })
  }
  const steps = path === '' ? [] : path.split('/')
  if (steps.length > MAX_PATH_DEPTH) {
    throw new InvalidAnchorProofError(`Merkle path has ${steps.length} steps, more than ${MAX_PATH_DEPTH}`, { details: { depth: steps.length } })
  }
  let current = root
  for (const [depth, step] of steps.entries()) {
    throwIfAborted(options)
    let node: unknown
    try {
      node = await decodeRecord(await getBlock(current, options), current)
    } catch (err) {
      if (isKilnError(err, 'AbortError')) throw err
      throwIfAborted(options)
      throw new InvalidAnchorProofError(`Merkle node ${current.toString()} at depth ${depth} of path "${path}" cannot be read: ${(err as Error).message}`, {
        cause: err,
        details: { path, depth, cid: current.toString() }
      })
    }
    if (!Array.isArray(node) || node.length < 2 || node.length > 3) {
      throw new InvalidAnchorProofError(`Merkle node ${current.toString()} at depth ${depth} is not [left, right]`, { details: { path, depth, cid: current.toString() } })
    }
    const child = CID.asCID(node[step === '0' ? 0 : 1])
    if (child === null) {
      throw new InvalidAnchorProofError(`Merkle path "${path}" leads to an empty branch at depth ${depth}`, { details: { path, depth, cid: current.toString() } })
    }
    current = child
  }
  const reachesTip: boolean = current.equals(tip)
  if (!reachesTip) {
    throw new InvalidAnchorProofError(`Merkle path "${path}" from ${root.toString()} ends at ${current.toString()}, not at ${tip.toString()}`, {
      details: { path, root: root.toString(), tip: tip.toString() }
    })
  }
}

function throwIfAborted (options: AbortOptions): void {
  if (options.signal?.aborted === true) throw new AbortError('Merkle path verification aborted', { cause: options.signal.reason })
}
