import { describe, it, expect } from 'vitest'
import { CID } from 'multiformats/cid'
import { decodeRecord, encodeRecord } from '@kiln/codec'
import { BlockNotFoundError, type Block } from '@kiln/interface'
import { buildMerkleTree, verifyMerklePath, MAX_PATH_DEPTH, type GetBlock, type MerkleLeaf, type MerkleTree } from '@kiln/anchor-merkle'
import { letterLeaves, manyLeaves, namedLeaf, seededRandom, shuffled } from './fixtures/leaves.js'
import vectors from './fixtures/tree-shapes.json' with { type: 'json' }

type Shape = string | null | Shape[]

/** A getBlock over the given blocks; any other CID is a BlockNotFoundError, as from a real store. */
function storeOf (blocks: readonly Block[]): GetBlock {
  const map = new Map(blocks.map((b) => [b.cid.toString(), b.bytes]))
  return async (cid) => {
    const bytes = map.get(cid.toString())
    if (bytes === undefined) throw new BlockNotFoundError(`no block ${cid.toString()}`)
    return bytes
  }
}

/** Reads the tree back from its node blocks into nested arrays of leaf keys. */
async function shapeOf (tree: MerkleTree, leaves: readonly MerkleLeaf[]): Promise<Shape> {
  const nodes = new Map(tree.nodes.map((b) => [b.cid.toString(), b]))
  const keys = new Map(leaves.map((l) => [l.tip.toString(), l.key]))
  const walk = async (cid: CID | null): Promise<Shape> => {
    if (cid === null) return null
    const key = keys.get(cid.toString())
    if (key !== undefined) return key
    const block = nodes.get(cid.toString())
    expect(block, `node ${cid.toString()} is listed in tree.nodes`).toBeDefined()
    const node = await decodeRecord<Array<CID | null>>(block!.bytes, cid)
    return [await walk(node[0] ?? null), await walk(node[1] ?? null)]
  }
  return await walk(tree.root)
}

/** The path of every leaf in a shape, `0` left and `1` right. */
function pathsOf (shape: Shape, prefix: string[] = [], into = new Map<string, string>()): Map<string, string> {
  if (typeof shape === 'string') into.set(shape, prefix.join('/'))
  else if (Array.isArray(shape)) shape.forEach((child, i) => pathsOf(child, [...prefix, String(i)], into))
  return into
}

async function rejection (promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, 'expected a rejection').toBeInstanceOf(Error)
  return err as Error
}

async function expectInvalidProof (promise: Promise<unknown>): Promise<Error> {
  const err = await rejection(promise)
  expect(err.name).toBe('InvalidAnchorProofError')
  return err
}

const shapes = vectors.shapes as Record<string, Shape>
const roots = vectors.roots as Record<string, string>

describe('buildMerkleTree', () => {
  describe.each(Object.keys(shapes).map(Number))('with %i leaves', (count) => {
    it('builds the documented shape: pairs left to right, carries an odd node up unchanged', async () => {
      const leaves = await letterLeaves(count)
      const tree = await buildMerkleTree(leaves)
      expect(await shapeOf(tree, leaves)).toEqual(shapes[String(count)])
      expect(tree.size).toBe(count)
    })

    it('gives each leaf the path its position in the shape has, and every path verifies', async () => {
      const leaves = await letterLeaves(count)
      const tree = await buildMerkleTree(leaves)
      const expected = pathsOf(shapes[String(count)]!)
      const getBlock = storeOf(tree.nodes)
      for (const leaf of leaves) {
        expect(tree.pathOf(leaf.key)).toBe(expected.get(leaf.key))
        await verifyMerklePath(tree.root, tree.pathOf(leaf.key), leaf.tip, getBlock)
      }
    })

    it('gives pathBlocks root first, one per step, and they alone suffice to verify the path', async () => {
      const leaves = await letterLeaves(count)
      const tree = await buildMerkleTree(leaves)
      for (const leaf of leaves) {
        const path = tree.pathOf(leaf.key)
        const blocks = tree.pathBlocks(leaf.key)
        expect(blocks).toHaveLength(path.split('/').length)
        expect(blocks[0]!.cid.equals(tree.root)).toBe(true)
        await verifyMerklePath(tree.root, path, leaf.tip, storeOf(blocks))
      }
    })

    it('lists every internal node exactly once', async () => {
      const tree = await buildMerkleTree(await letterLeaves(count))
      const cids = new Set(tree.nodes.map((b) => b.cid.toString()))
      expect(cids.size).toBe(tree.nodes.length)
      expect(tree.nodes).toHaveLength(Math.max(1, count - 1))
      expect(cids.has(tree.root.toString())).toBe(true)
    })

    it('keeps the root CID of the test vectors', async () => {
      const tree = await buildMerkleTree(await letterLeaves(count))
      expect(tree.root.toString()).toBe(roots[String(count)])
    })
  })

  it('makes a single leaf into the root [tip, null] with path "0"', async () => {
    const leaf = await namedLeaf('only')
    const tree = await buildMerkleTree([leaf])
    const root = await decodeRecord<unknown[]>(tree.nodes[0]!.bytes, tree.root)
    expect(root).toHaveLength(2)
    expect(CID.asCID(root[0])?.equals(leaf.tip)).toBe(true)
    expect(root[1]).toBeNull()
    expect(tree.pathOf('only')).toBe('0')
  })

  it('stores metadata as the third element of the root and of no other node', async () => {
    const metadata = { chainId: 'inmemory:12345', height: 7 }
    for (const count of [1, 2, 5]) {
      const tree = await buildMerkleTree(await letterLeaves(count), { metadata })
      for (const block of tree.nodes) {
        const node = await decodeRecord<unknown[]>(block.bytes, block.cid)
        if (block.cid.equals(tree.root)) expect(node[2]).toEqual(metadata)
        else expect(node).toHaveLength(2)
      }
    }
  })

  it('gives another root for other metadata, the same paths, and paths that still verify', async () => {
    const leaves = await letterLeaves(5)
    const plain = await buildMerkleTree(leaves)
    const tagged = await buildMerkleTree(leaves, { metadata: { height: 1 } })
    expect(tagged.root.equals(plain.root)).toBe(false)
    for (const leaf of leaves) {
      expect(tagged.pathOf(leaf.key)).toBe(plain.pathOf(leaf.key))
      await verifyMerklePath(tagged.root, tagged.pathOf(leaf.key), leaf.tip, storeOf(tagged.nodes))
    }
  })

  it('gives the same root and paths for the same leaves in any order', async () => {
    const leaves = await letterLeaves(13)
    const reference = await buildMerkleTree(leaves)
    const random = seededRandom(1)
    for (let round = 0; round < 5; round++) {
      const tree = await buildMerkleTree(shuffled(leaves, random))
      expect(tree.root.equals(reference.root)).toBe(true)
      for (const leaf of leaves) expect(tree.pathOf(leaf.key)).toBe(reference.pathOf(leaf.key))
    }
  })

  it('sorts keys by code unit, not by locale', async () => {
    const leaves = await Promise.all(['b', 'B', 'a', 'é'].map(namedLeaf))
    const tree = await buildMerkleTree(leaves)
    expect(['B', 'a', 'b', 'é'].map((k) => tree.pathOf(k))).toEqual(['0/0', '0/1', '1/0', '1/1'])
  })

  it('gives another root when one tip changes', async () => {
    const leaves = await letterLeaves(7)
    const changed = leaves.map((l) => (l.key === 'd' ? { key: 'd', tip: leaves[0]!.tip } : l))
    expect((await buildMerkleTree(changed)).root.equals((await buildMerkleTree(leaves)).root)).toBe(false)
  })

  it('does not change the array of leaves it is given', async () => {
    const leaves = [await namedLeaf('z'), await namedLeaf('a')]
    await buildMerkleTree(leaves)
    expect(leaves.map((l) => l.key)).toEqual(['z', 'a'])
  })

  it('rejects an empty batch with InvalidMerkleBatchError', async () => {
    expect((await rejection(buildMerkleTree([]))).name).toBe('InvalidMerkleBatchError')
  })

  it('rejects two leaves with one key with InvalidMerkleBatchError naming the key', async () => {
    const [a, b] = await letterLeaves(2)
    const err = await rejection(buildMerkleTree([a!, b!, { key: 'a', tip: b!.tip }]))
    expect(err.name).toBe('InvalidMerkleBatchError')
    expect(err.message).toContain('a')
  })

  it('rejects the same leaf given twice', async () => {
    const leaf = await namedLeaf('twice')
    expect((await rejection(buildMerkleTree([leaf, leaf]))).name).toBe('InvalidMerkleBatchError')
  })

  it('rejects a leaf whose tip is not a CID or whose key is not a string', async () => {
    const leaf = await namedLeaf('x')
    const bad = [{ key: 'y', tip: leaf.tip.toString() }, { key: 1, tip: leaf.tip }] as unknown as MerkleLeaf[]
    for (const item of bad) expect((await rejection(buildMerkleTree([leaf, item]))).name).toBe('InvalidMerkleBatchError')
  })

  it('throws UnknownMerkleLeafError for a key that is not in the tree', async () => {
    const tree = await buildMerkleTree(await letterLeaves(3))
    expect(() => tree.pathOf('z')).toThrow(expect.objectContaining({ name: 'UnknownMerkleLeafError' }))
    expect(() => tree.pathBlocks('z')).toThrow(expect.objectContaining({ name: 'UnknownMerkleLeafError' }))
  })

  it('builds a tree of 100 000 leaves whose first, last and 1 000 sampled paths verify with their own blocks', async () => {
    const count = 100_000
    const leaves = await manyLeaves(count)
    const tree = await buildMerkleTree(shuffled(leaves, seededRandom(2)), { metadata: { size: count } })
    expect(tree.size).toBe(count)
    expect(tree.nodes).toHaveLength(count - 1)
    const random = seededRandom(3)
    const sample = [leaves[0]!, leaves[count - 1]!, ...Array.from({ length: 1000 }, () => leaves[Math.floor(random() * count)]!)]
    const sorted = [...leaves].sort((a, b) => (a.key < b.key ? -1 : 1))
    sample.push(sorted[0]!, sorted[count - 1]!)
    const depth = Math.ceil(Math.log2(count))
    for (const leaf of sample) {
      const path = tree.pathOf(leaf.key)
      expect(path.split('/').length).toBeLessThanOrEqual(depth)
      await verifyMerklePath(tree.root, path, leaf.tip, storeOf(tree.pathBlocks(leaf.key)))
    }
    expect(tree.pathOf(sorted[0]!.key)).toBe(Array(depth).fill('0').join('/'))
  })
})

describe('verifyMerklePath', () => {
  async function sevenLeafTree (): Promise<{ leaves: MerkleLeaf[], tree: MerkleTree, getBlock: GetBlock }> {
    const leaves = await letterLeaves(7)
    const tree = await buildMerkleTree(leaves, { metadata: { test: true } })
    return { leaves, tree, getBlock: storeOf(tree.nodes) }
  }

  it('rejects every path with one step flipped', async () => {
    const { leaves, tree, getBlock } = await sevenLeafTree()
    for (const leaf of leaves) {
      const steps = tree.pathOf(leaf.key).split('/')
      for (let i = 0; i < steps.length; i++) {
        const altered = steps.map((s, j) => (j === i ? (s === '0' ? '1' : '0') : s)).join('/')
        await expectInvalidProof(verifyMerklePath(tree.root, altered, leaf.tip, getBlock))
      }
    }
  })

  it('rejects a path cut short or run past the leaf', async () => {
    const { leaves, tree, getBlock } = await sevenLeafTree()
    const leaf = leaves[0]!
    const path = tree.pathOf(leaf.key)
    await expectInvalidProof(verifyMerklePath(tree.root, path.slice(0, -2), leaf.tip, getBlock))
    await expectInvalidProof(verifyMerklePath(tree.root, '', leaf.tip, getBlock))
    const past = await expectInvalidProof(verifyMerklePath(tree.root, `${path}/0`, leaf.tip, getBlock))
    expect(past.message).toContain(leaf.tip.toString())
  })

  it('rejects a malformed path, naming it', async () => {
    const { leaves, tree, getBlock } = await sevenLeafTree()
    for (const path of ['0/2', '0//1', '/0', '0/', '01', '0/1/1 ', 'left']) {
      const err = await expectInvalidProof(verifyMerklePath(tree.root, path, leaves[0]!.tip, getBlock))
      expect(err.message).toContain(JSON.stringify(path))
    }
  })

  it(`rejects a path of more than ${MAX_PATH_DEPTH} steps without reading a block`, async () => {
    const { leaves, tree } = await sevenLeafTree()
    let reads = 0
    const counting: GetBlock = async () => { reads++; throw new BlockNotFoundError('none') }
    await expectInvalidProof(verifyMerklePath(tree.root, Array(MAX_PATH_DEPTH + 1).fill('0').join('/'), leaves[0]!.tip, counting))
    expect(reads).toBe(0)
  })

  it('rejects the wrong tip, naming where the path ends', async () => {
    const { leaves, tree, getBlock } = await sevenLeafTree()
    const err = await expectInvalidProof(verifyMerklePath(tree.root, tree.pathOf('a'), leaves[1]!.tip, getBlock))
    expect(err.message).toContain(leaves[0]!.tip.toString())
  })

  it('rejects the wrong root', async () => {
    const { leaves, tree, getBlock } = await sevenLeafTree()
    // Another batch of the same size and shape, without leaf a.
    const other = await buildMerkleTree(await Promise.all(['p', 'q', 'r', 's', 't', 'u', 'v'].map(namedLeaf)))
    const both = storeOf([...tree.nodes, ...other.nodes])
    await expectInvalidProof(verifyMerklePath(other.root, tree.pathOf('a'), leaves[0]!.tip, both))
    await expectInvalidProof(verifyMerklePath(leaves[0]!.tip, tree.pathOf('a'), leaves[0]!.tip, getBlock))
  })

  it('rejects a tampered node block served under its old CID', async () => {
    const { leaves, tree } = await sevenLeafTree()
    const path = tree.pathOf('e')
    const [, middle] = tree.pathBlocks('e')
    // Swap the children of a node on the path: still [left, right], but no longer the bytes of its CID.
    const swapped = await decodeRecord<CID[]>(middle!.bytes, middle!.cid)
    const forged = await encodeRecord([swapped[1], swapped[0]])
    const blocks = tree.nodes.map((b) => (b.cid.equals(middle!.cid) ? { cid: b.cid, bytes: forged.bytes } : b))
    const err = await expectInvalidProof(verifyMerklePath(tree.root, path, leaves[4]!.tip, storeOf(blocks)))
    expect(err.message).toContain(middle!.cid.toString())
  })

  it('rejects a missing node, naming its CID and depth', async () => {
    const { leaves, tree } = await sevenLeafTree()
    const [root, middle] = tree.pathBlocks('c')
    const err = await expectInvalidProof(verifyMerklePath(tree.root, tree.pathOf('c'), leaves[2]!.tip, storeOf([root!])))
    expect(err.message).toContain(middle!.cid.toString())
    expect(err.message).toContain('depth 1')
    expect((err.cause as Error).name).toBe('BlockNotFoundError')
  })

  it('rejects a block that is not a Merkle node', async () => {
    const { leaves } = await sevenLeafTree()
    for (const value of [{ left: leaves[0]!.tip }, [leaves[0]!.tip], [leaves[0]!.tip, leaves[1]!.tip, {}, {}], 'node']) {
      const block = await encodeRecord(value)
      await expectInvalidProof(verifyMerklePath(block.cid, '0', leaves[0]!.tip, storeOf([block])))
    }
  })

  it('rejects a path into the empty branch of a one-leaf tree', async () => {
    const leaf = await namedLeaf('only')
    const tree = await buildMerkleTree([leaf])
    const err = await expectInvalidProof(verifyMerklePath(tree.root, '1', leaf.tip, storeOf(tree.nodes)))
    expect(err.message).toContain('empty branch')
  })

  it('accepts the empty path when the root is the tip itself, as Ceramic in-memory anchors have', async () => {
    const leaf = await namedLeaf('root')
    await verifyMerklePath(leaf.tip, '', leaf.tip, storeOf([]))
  })

  it('gives up with AbortError when the signal has fired', async () => {
    const { leaves, tree, getBlock } = await sevenLeafTree()
    const controller = new AbortController()
    controller.abort()
    const err = await rejection(verifyMerklePath(tree.root, tree.pathOf('a'), leaves[0]!.tip, getBlock, { signal: controller.signal }))
    expect(err.name).toBe('AbortError')
  })
})
