import { createNode, EXPORT_FORMAT, memoryStorage, pickWinningBranch, type KilnNode } from '@kiln/core'
import { encodeCar, encodeRecord, type SignedBlocks } from '@kiln/codec'
import type { DocID } from '@kiln/docid'
import type { DocState } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cidOf, register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(9) })

/** Builds a chain of `length` updates starting from `base`, each extending the previous one. */
async function branch (base: DocState, length: number, label: string): Promise<SignedBlocks[]> {
  const commits: SignedBlocks[] = []
  let prev = base.log[base.log.length - 1]!.cid
  for (let i = 0; i < length; i++) {
    const update = await registerUpdate(alice, base, { branch: label, i }, prev)
    commits.push(update)
    prev = cidOf(update)
  }
  return commits
}

/**
 * Applies the last commit of `chain` (genesis first) the way commits from elsewhere arrive: through an export file
 * holding its history.
 */
async function applyAsRemote (node: KilnNode, id: DocID, chain: SignedBlocks[]): Promise<void> {
  const manifest = await encodeRecord({ format: EXPORT_FORMAT, documents: [{ docId: id.toString(), type: id.type, log: chain.map(cidOf), anchors: {} }] })
  await node.importDocument(await encodeCar([manifest.cid], [manifest, ...chain.flatMap((c) => [c.envelope, c.payload])]))
}

async function withNode<T> (fn: (node: KilnNode) => Promise<T>): Promise<T> {
  const node = await createNode({ doctypes: [register()], storage: memoryStorage() })
  try { return await fn(node) } finally { await node.stop() }
}

describe('two branches of one document', () => {
  it('converge to the same winner whichever order they are applied in', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.string({ maxLength: 6 }),
      async (sharedLength, lengthA, lengthB, salt) => {
        const genesis = await registerGenesis(alice, { salt }, `unique-${salt}`)
        // Build the shared trunk and both branches on a scratch node, then replay them elsewhere in two orders.
        const { trunk, a, b } = await withNode(async (node) => {
          const { id, state } = await node.createDocument(REGISTER_CODE, genesis.commit)
          const trunk = await branch(state, sharedLength, 'trunk')
          let tipState = state
          for (const c of trunk) tipState = (await node.applyCommit(id, c.commit)).state
          return { trunk, a: await branch(tipState, lengthA, 'a'), b: await branch(tipState, lengthB, 'b') }
        })
        // The branches arrive as an import would bring them (as a peer's commits): a losing branch is kept off
        // the log, not refused, and a later commit of it may still make it win.
        const finalState = async (order: SignedBlocks[][]): Promise<DocState> => await withNode(async (node) => {
          const { id } = await node.createDocument(REGISTER_CODE, genesis.commit)
          for (const c of trunk) await node.applyCommit(id, c.commit)
          for (const run of order) {
            for (const c of run) {
              const own = a.includes(c) ? a : b
              await applyAsRemote(node, id, [genesis, ...trunk, ...own.slice(0, own.indexOf(c) + 1)])
            }
          }
          return (await node.load(id)).state
        })
        const abFirst = await finalState([a, b])
        const baFirst = await finalState([b, a])
        // Interleaved: one commit of each in turn.
        const interleaved: SignedBlocks[][] = []
        for (let i = 0; i < Math.max(a.length, b.length); i++) {
          if (i < a.length) interleaved.push([a[i]!])
          if (i < b.length) interleaved.push([b[i]!])
        }
        const mixed = await finalState(interleaved)
        expect(baFirst).toEqual(abFirst)
        expect(mixed).toEqual(abFirst)
        // And the winner is the one the rule names.
        const tips = abFirst.log.map((e) => e.cid.toString())
        const expectedA = tips.includes(cidOf(a[a.length - 1]!).toString())
        const logOf = (run: SignedBlocks[]): DocState['log'] => [
          ...abFirst.log.slice(0, 1 + sharedLength),
          ...run.map((c) => ({ cid: cidOf(c), type: 1 as const }))
        ]
        expect(pickWinningBranch(logOf(a), logOf(b)) === 'a').toBe(expectedA)
      }), { numRuns: 25 })
  })
})
