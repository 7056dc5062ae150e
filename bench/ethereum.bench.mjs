// Ethereum anchors on a real local EVM (ganache on 127.0.0.1): how many documents one transaction anchors and what it
// costs, and how fast anchors verify over JSON-RPC, with the batch's transaction cached and without.
import { decodeRecord, encodeRecord } from '@kiln/codec'
import { deployAnchorContract, ethereumAnchor, ethereumVerifier } from '@kiln/anchor-ethereum'
import ganache from 'ganache'
import { rate, report } from './measure.mjs'

async function requests (count, label) {
  return await Promise.all(Array.from({ length: count }, async (_, n) => {
    const genesis = (await encodeRecord({ header: { controllers: ['did:key:z6Mk'] }, unique: `${label}-${n}` })).cid
    return { docId: `doc-${label}-${n}`, genesis, tip: (await encodeRecord({ id: genesis, prev: genesis, n })).cid }
  }))
}

async function claimOf ({ commit, blocks }) {
  const record = await decodeRecord(commit.bytes, commit.cid)
  const proofBlock = blocks.find((b) => b.cid.equals(record.proof))
  const proof = await decodeRecord(proofBlock.bytes, proofBlock.cid)
  const store = new Map(blocks.map((b) => [b.cid.toString(), b.bytes]))
  return { claim: { proof, path: record.path, prev: record.prev }, getBlock: async (cid) => store.get(cid.toString()) }
}

export default async function ethereumBench () {
  const server = ganache.server({ logging: { quiet: true }, wallet: { deterministic: true }, miner: { blockTime: 0 }, chain: { chainId: 1337 } })
  await server.listen(0, '127.0.0.1')
  const rpcUrl = `http://127.0.0.1:${server.address().port}`
  const request = (method, params = []) => server.provider.request({ method, params })
  const keys = Object.values(server.provider.getInitialAccounts()).map((a) => a.secretKey)
  try {
    const contract = await deployAnchorContract({ rpcUrl, privateKey: keys[0] })
    const { service } = ethereumAnchor({ rpcUrl, chainId: 'eip155:1337', privateKey: keys[1], contract, intervalMs: 3_600_000 })({})
    let anchors = []
    service.onEvent((event) => { if (event.anchor !== undefined) anchors.push(event.anchor) })
    let claims = []
    for (const size of [1000, 10_000]) {
      anchors = []
      const batch = await requests(size, `b${size}`)
      const start = performance.now()
      for (const r of batch) await service.requestAnchor(r)
      await service.anchorPending()
      const ms = performance.now() - start
      claims = await Promise.all(anchors.map(claimOf))
      const txHash = `0x${Buffer.from(claims[0].claim.proof.txHash.multihash.digest).toString('hex')}`
      const receipt = await request('eth_getTransactionReceipt', [txHash])
      const gas = Number(receipt.gasUsed)
      report(`ethereum.docs_per_tx_${size}`, anchors.length, 'docs/tx', `one root, ${gas} gas, ${(gas / anchors.length).toFixed(2)} gas/doc, ${ms.toFixed(0)} ms requests → tree → tx mined → ${size} anchor commits`)
    }
    const cached = ethereumVerifier({ rpcUrl, chainId: 'eip155:1337' })
    let i = 0
    report('ethereum.verify_anchor', await rate(async () => {
      const { claim, getBlock } = claims[i++ % claims.length]
      await cached.verify(claim, getBlock)
    }), 'ops/s', 'transaction looked up once per batch, then cached: Merkle path only (10 000-leaf tree)')
    report('ethereum.verify_anchor_uncached', await rate(async () => {
      const { claim, getBlock } = claims[i++ % claims.length]
      await ethereumVerifier({ rpcUrl, chainId: 'eip155:1337' }).verify(claim, getBlock)
    }), 'ops/s', 'a fresh verifier each time: eth_chainId, tx, receipt, block, head over HTTP to ganache + Merkle path')
    await service.stop()
  } finally {
    await server.close()
  }
}
