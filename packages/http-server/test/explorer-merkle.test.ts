import { createHash } from 'node:crypto'
import { encodeRecord } from '@kiln/codec'
import type { Block } from '@kiln/interface'
import { fc } from '@kiln/interface-tests/fuzz'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it, vi } from 'vitest'
import { cidFromString, cidToString, fromBase32, toBase32 } from '../dist/explorer/cid.js'
import { verifyAnchor, type AnchorCommitJSON } from '../dist/explorer/merkle.js'
import { sha256 as pageSha256 } from '../dist/explorer/sha256.js'

// The explorer page's anchor check (explorer/src/merkle.ts, run as the browser runs it) over trees built the way
// @kiln/anchor-merkle builds them: ✓ for a path that holds, and each ✗ with its reason.

const leaf = async (n: number): Promise<CID> => CID.create(1, 0x71, await sha256.digest(new Uint8Array([n])))

/** A tree of four leaves: root [[a, b], [c, d, metadata]], and its proof block naming the root. */
async function tree (): Promise<{ blocks: Map<string, Uint8Array>, leaves: CID[], proof: Block, left: Block, right: Block, root: Block }> {
  const leaves = await Promise.all([1, 2, 3, 4].map(leaf))
  const left = await encodeRecord([leaves[0], leaves[1]])
  const right = await encodeRecord([leaves[2], leaves[3]])
  const root = await encodeRecord([left.cid, right.cid, { chain: 'eip155:1' }])
  const proof = await encodeRecord({ chainId: 'eip155:1', root: root.cid, txHash: leaves[0], txType: 'f(bytes32)' })
  const blocks = new Map([left, right, root, proof].map((b) => [b.cid.toString(), Uint8Array.from(b.bytes)]))
  return { blocks, leaves, proof, left, right, root }
}

const fetchFrom = (blocks: Map<string, Uint8Array>) => async (cid: string): Promise<Uint8Array> => {
  const bytes = blocks.get(cid)
  if (bytes === undefined) throw new TypeError('the node answered 404')
  return bytes
}

describe('the explorer page\'s Merkle check', () => {
  it('verifies each leaf of a tree along its path', async () => {
    const t = await tree()
    for (const [i, path] of ['0/0', '0/1', '1/0', '1/1'].entries()) {
      const commit: AnchorCommitJSON = { prev: t.leaves[i]!.toString(), proof: t.proof.cid.toString(), path }
      expect(await verifyAnchor(commit, fetchFrom(t.blocks))).toEqual({ ok: true, steps: 2 })
    }
  })

  it('names a path that ends at another commit', async () => {
    const t = await tree()
    const verdict = await verifyAnchor({ prev: t.leaves[0]!.toString(), proof: t.proof.cid.toString(), path: '1/0' }, fetchFrom(t.blocks))
    expect(verdict).toEqual({ ok: false, reason: `the path ends at ${t.leaves[2]!.toString()}, not at the anchored commit ${t.leaves[0]!.toString()}` })
  })

  it('names a Merkle node whose bytes do not hash to its CID', async () => {
    const t = await tree()
    const altered = Uint8Array.from(t.right.bytes)
    altered[altered.length - 1]! ^= 1
    t.blocks.set(t.right.cid.toString(), altered)
    const verdict = await verifyAnchor({ prev: t.leaves[3]!.toString(), proof: t.proof.cid.toString(), path: '1/1' }, fetchFrom(t.blocks))
    expect(verdict).toEqual({ ok: false, reason: `Merkle node at depth 1: the bytes of block ${t.right.cid.toString()} do not hash to its CID` })
  })

  it('names a tampered proof block, a missing node, an empty branch and a malformed path', async () => {
    const t = await tree()
    const proof = t.proof.cid.toString()
    const prev = t.leaves[0]!.toString()
    const tampered = new Map(t.blocks)
    tampered.set(proof, Uint8Array.from(t.proof.bytes).reverse())
    expect(await verifyAnchor({ prev, proof, path: '0/0' }, fetchFrom(tampered))).toEqual({ ok: false, reason: `the bytes of block ${proof} do not hash to its CID` })

    const missing = new Map(t.blocks)
    missing.delete(t.left.cid.toString())
    expect(await verifyAnchor({ prev, proof, path: '0/0' }, fetchFrom(missing)))
      .toEqual({ ok: false, reason: `Merkle node at depth 1: block ${t.left.cid.toString()} cannot be read: the node answered 404` })

    // A single leaf's root is [tip, null]: its right branch is empty.
    const single = await encodeRecord([t.leaves[0], null])
    const singleProof = await encodeRecord({ chainId: 'eip155:1', root: single.cid, txHash: t.leaves[0] })
    const blocks = new Map([single, singleProof].map((b) => [b.cid.toString(), Uint8Array.from(b.bytes)]))
    expect(await verifyAnchor({ prev, proof: singleProof.cid.toString(), path: '0' }, fetchFrom(blocks))).toEqual({ ok: true, steps: 1 })
    expect(await verifyAnchor({ prev, proof: singleProof.cid.toString(), path: '1' }, fetchFrom(blocks))).toEqual({ ok: false, reason: 'the path leads to an empty branch at depth 0' })

    for (const path of ['2', '0/', '/0', '0//1', 7]) {
      expect(await verifyAnchor({ prev, proof, path }, fetchFrom(t.blocks))).toEqual({ ok: false, reason: `malformed Merkle path ${JSON.stringify(path)}` })
    }
    expect(await verifyAnchor({ prev, proof, path: Array(65).fill('0').join('/') }, fetchFrom(t.blocks))).toEqual({ ok: false, reason: 'the Merkle path has 65 steps, more than 64' })
    expect(await verifyAnchor({ proof, path: '0' }, fetchFrom(t.blocks))).toEqual({ ok: false, reason: 'the anchor commit has no prev or proof CID' })
  })

  it('writes and reads CIDs in base32 as multiformats does', async () => {
    for (const cid of [...(await tree()).leaves, CID.parse('bagcqcerahchozkrohmvfbn3w7bmwfmr4wkja3jrftx7cmtiyu24ubwfas6sa')]) {
      expect(cidToString(cid.bytes)).toBe(cid.toString())
      expect(cidFromString(cid.toString())).toEqual(cid.bytes)
    }
    expect(fromBase32(toBase32(new Uint8Array([0, 1, 2, 255, 254])))).toEqual(new Uint8Array([0, 1, 2, 255, 254]))
    expect(cidFromString('zQm')).toBeUndefined()
    expect(fromBase32('b!')).toBeUndefined()
  })

  it('hashes as SHA-256 without WebCrypto, for a page opened over plain HTTP', async () => {
    // Lengths around the 64-byte block and its 56-byte padding boundary, and larger.
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expect(Buffer.from(pageSha256(bytes)).toString('hex')).toBe(createHash('sha256').update(bytes).digest('hex'))
    }), { seed: 20261202, numRuns: 2000 })
    for (const length of [0, 55, 56, 63, 64, 65, 119, 120, 128]) {
      const bytes = new Uint8Array(length).fill(0x61)
      expect(Buffer.from(pageSha256(bytes)).toString('hex'), String(length)).toBe(createHash('sha256').update(bytes).digest('hex'))
    }
    // The whole check with no crypto.subtle: ✓ and ✗ as with it.
    vi.stubGlobal('crypto', {})
    try {
      const t = await tree()
      expect(await verifyAnchor({ prev: t.leaves[1]!.toString(), proof: t.proof.cid.toString(), path: '0/1' }, fetchFrom(t.blocks))).toEqual({ ok: true, steps: 2 })
      const altered = Uint8Array.from(t.root.bytes)
      altered[0]! ^= 1
      t.blocks.set(t.root.cid.toString(), altered)
      expect(await verifyAnchor({ prev: t.leaves[1]!.toString(), proof: t.proof.cid.toString(), path: '0/1' }, fetchFrom(t.blocks)))
        .toEqual({ ok: false, reason: `Merkle node at depth 0: the bytes of block ${t.root.cid.toString()} do not hash to its CID` })
    } finally {
      vi.unstubAllGlobals()
    }
  })
})
