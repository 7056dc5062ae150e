// Merkle batching and the mock chain: how long a 100 000-leaf tree takes to build, how fast a path verifies, and what
// one mock chain block of 1 000 anchors costs end to end. No baseline to compare with yet; the figures are for trends.
import { buildMerkleTree, verifyMerklePath } from '@kiln/anchor-merkle'
import { mockAnchor, mockChainVerifier } from '@kiln/anchor-mock'
import { asAnchorProof, decodeRecord, encodeRecord } from '@kiln/codec'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { rate, report } from './measure.mjs'

async function leaves (count) {
  const out = []
  const bytes = new Uint8Array(4)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < count; i++) {
    view.setUint32(0, i)
    out.push({ key: `doc-${i}`, tip: CID.createV1(0x71, await sha256.digest(bytes)) })
  }
  return out
}

async function timed (fn) {
  const start = performance.now()
  const value = await fn()
  return { ms: performance.now() - start, value }
}

export default async function merkleBench () {
  await buildMerkleTree(await leaves(1000)) // warm-up
  const batch = await leaves(100_000)
  const { ms, value: tree } = await timed(() => buildMerkleTree(batch, { metadata: { size: batch.length } }))
  report('merkle.build_100k', ms, 'ms', `${tree.nodes.length} nodes, depth ${tree.pathOf('doc-0').split('/').length}`)
  report('merkle.build_per_leaf', (ms * 1000) / batch.length, 'µs')

  const blocks = new Map(tree.nodes.map((b) => [b.cid.toString(), b.bytes]))
  const getBlock = async (cid) => blocks.get(cid.toString())
  let i = 0
  const paths = await rate(async () => {
    const leaf = batch[(i++ * 7919) % batch.length]
    await verifyMerklePath(tree.root, tree.pathOf(leaf.key), leaf.tip, getBlock)
  })
  report('merkle.verify_path_100k', paths, 'ops/s', '17 node reads, each hash-checked and decoded')

  // One mock chain block of 1 000 requests: request, mine, build every anchor commit, emit every event.
  const { service } = mockAnchor({ intervalMs: 3_600_000 })({})
  const anchors = []
  service.onEvent((event) => { if (event.status === 3) anchors.push(event.anchor) })
  const requests = await Promise.all(Array.from({ length: 1000 }, async (_, n) => {
    const genesis = (await encodeRecord({ header: { controllers: ['did:key:z6Mk'] }, unique: `bench-${n}` })).cid
    return { docId: `doc-${n}`, genesis, tip: (await encodeRecord({ id: genesis, prev: genesis, n })).cid }
  }))
  const mined = await timed(async () => {
    for (const request of requests) await service.requestAnchor(request)
    await service.anchorPending()
  })
  report('mock.anchor_batch_1000', mined.ms, 'ms', 'requestAnchor ×1000 + one signed block + 1000 anchor commits')

  const claims = await Promise.all(anchors.map(async ({ commit, blocks: list }) => {
    const record = await decodeRecord(commit.bytes, commit.cid)
    const proofBlock = list.find((b) => b.cid.equals(record.proof))
    const store = new Map(list.map((b) => [b.cid.toString(), b.bytes]))
    return { claim: { proof: asAnchorProof(await decodeRecord(proofBlock.bytes, proofBlock.cid)), path: record.path, prev: record.prev }, getBlock: async (cid) => store.get(cid.toString()) }
  }))
  const cached = mockChainVerifier({ chainDid: service.chainDid })
  let j = 0
  report('mock.verify_anchor', await rate(async () => {
    const { claim, getBlock: get } = claims[j++ % claims.length]
    await cached.verify(claim, get)
  }), 'ops/s', 'transaction signature checked once per batch, then cached')
  report('mock.verify_anchor_uncached', await rate(async () => {
    const { claim, getBlock: get } = claims[j++ % claims.length]
    await mockChainVerifier({ chainDid: service.chainDid }).verify(claim, get)
  }), 'ops/s', 'a fresh verifier each time: did:key resolution + Ed25519 verify + Merkle path')
  await service.stop()
}
