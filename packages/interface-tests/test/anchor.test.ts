import { describe } from 'vitest'
import { CID } from 'multiformats/cid'
import { decodeRecord, encodeRecord } from '@kiln/codec'
import {
  AnchorStatus,
  InvalidAnchorProofError,
  UnsupportedChainError,
  type AnchorEvent,
  type AnchorPlugin,
  type AnchorRequest,
  type Block
} from '@kiln/interface'
import { anchorTests } from '@kiln/interface-tests'

// A second, deliberately different anchor plugin, so the suite is shown to test the contract and not @kiln/anchor-mock:
// a "notary" chain that is a trusted in-memory ledger of receipts, a right-leaning list instead of a balanced tree
// (the i-th leaf sits at "1/1/…/0"), no signatures, and listeners that are not told PENDING.
const ledger = new Map<string, { root: CID, timestamp: number }>()
const CHAIN_ID = 'notary:1'

function notaryPlugin (): AnchorPlugin & { trigger: () => Promise<void> } {
  const pending = new Map<string, AnchorRequest>()
  const listeners: Array<(event: AnchorEvent) => void> = []
  const emit = (event: AnchorEvent): void => {
    for (const listener of listeners) {
      try { listener(event) } catch { /* a listener's failure is its own */ }
    }
  }

  async function trigger (): Promise<void> {
    const batch = [...pending.values()]
    pending.clear()
    if (batch.length === 0) return
    for (const r of batch) emit({ docId: r.docId, tip: r.tip, status: AnchorStatus.PROCESSING })
    // Build the list from its end: node i is [tip_i, node_{i+1}], the last is [tip_n, null].
    const nodes: Block[] = []
    let next: CID | null = null
    for (let i = batch.length - 1; i >= 0; i--) {
      const block = await encodeRecord([batch[i]!.tip, next])
      nodes.unshift(block)
      next = block.cid
    }
    const root = nodes[0]!.cid
    const receipt = await encodeRecord({ root, batch: batch.length, nonce: Math.random() })
    ledger.set(receipt.cid.toString(), { root, timestamp: Math.floor(Date.now() / 1000) })
    const proof = await encodeRecord({ chainId: CHAIN_ID, root, txHash: receipt.cid })
    for (const [i, r] of batch.entries()) {
      const path = [...Array(i).fill('1'), '0'].join('/')
      const commit = await encodeRecord({ id: r.genesis, prev: r.tip, proof: proof.cid, path })
      emit({ docId: r.docId, tip: r.tip, status: AnchorStatus.ANCHORED, anchor: { commit, blocks: [proof, ...nodes.slice(0, i + 1)] } })
    }
  }

  return {
    trigger,
    service: {
      chainId: CHAIN_ID,
      async requestAnchor (request) {
        const older = pending.get(request.docId)
        if (older !== undefined) emit({ docId: older.docId, tip: older.tip, status: AnchorStatus.REPLACED })
        pending.set(request.docId, request)
        return { docId: request.docId, tip: request.tip, status: AnchorStatus.PENDING }
      },
      onEvent (listener) { listeners.push(listener) }
    },
    verifier: {
      namespace: 'notary',
      async verify ({ proof, path, prev }, getBlock) {
        if (!proof.chainId.startsWith('notary:')) throw new UnsupportedChainError(`not a notary chain: ${proof.chainId}`)
        if (proof.chainId !== CHAIN_ID) throw new InvalidAnchorProofError(`unknown notary chain ${proof.chainId}`)
        const entry = ledger.get(proof.txHash.toString())
        if (entry === undefined || !entry.root.equals(proof.root)) throw new InvalidAnchorProofError('no such receipt for this root')
        let current: CID = proof.root
        for (const step of path === '' ? [] : path.split('/')) {
          let node: unknown
          try {
            node = await decodeRecord(await getBlock(current), current)
          } catch (cause) {
            throw new InvalidAnchorProofError(`cannot read ${current.toString()}`, { cause })
          }
          const child = Array.isArray(node) ? CID.asCID(node[step === '0' ? 0 : 1]) : null
          if (child === null) throw new InvalidAnchorProofError(`dead end at ${current.toString()}`)
          current = child
        }
        if (!current.equals(prev)) throw new InvalidAnchorProofError('the path does not end at prev')
        return { timestamp: entry.timestamp }
      }
    }
  }
}

describe('an independent notary-ledger anchor plugin', () => {
  anchorTests({
    setup: () => {
      const plugin = notaryPlugin()
      return { plugin, trigger: plugin.trigger }
    }
  })
})
