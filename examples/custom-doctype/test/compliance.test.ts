import { signRecord } from '@kiln/codec'
import { counter, type CounterContent } from '@kiln/example-custom-doctype'
import type { DocState, VerifiedCommit } from '@kiln/interface'
import { doctypeTests, verifiedCommit } from '@kiln/interface-tests/doctype'
import { keyDidSigner } from '@kiln/signing'
import { describe } from 'vitest'

const owner = keyDidSigner({ seed: new Uint8Array(32).fill(42) })
const stranger = keyDidSigner({ seed: new Uint8Array(32).fill(43) })

async function genesisOf (data: unknown, signer = owner): Promise<VerifiedCommit> {
  return await verifiedCommit(await signRecord({ header: { controllers: [owner.did], unique: 'c1' }, data }, signer), 'genesis')
}

async function updateOf (state: DocState<CounterContent>, data: unknown, signer = owner): Promise<VerifiedCommit> {
  const { log } = state
  return await verifiedCommit(await signRecord({ id: log[0]!.cid, prev: log[log.length - 1]!.cid, data }, signer), 'update')
}

describe('the counter doctype', () => {
  doctypeTests<CounterContent>({
    // the counter returns the unchanged metadata object itself: allowed, since no one mutates a state
    mayShareInput: true,
    setup: () => ({
      handler: counter({ maxStep: 10 })({}),
      genesis: async () => await genesisOf({ start: 5 }),
      update: async (state) => await updateOf(state, { add: 3 }),
      invalidGeneses: async () => [
        { why: 'a start that is not an integer', commit: await genesisOf({ start: 'zero' }), error: 'InvalidCommitError' },
        { why: 'no start', commit: await genesisOf({}), error: 'InvalidCommitError' }
      ],
      invalidUpdates: async (state) => [
        { why: 'a negative step', commit: await updateOf(state, { add: -1 }), error: 'DoctypeRuleError' },
        { why: 'a step over maxStep', commit: await updateOf(state, { add: 11 }), error: 'DoctypeRuleError' },
        { why: 'a fractional step', commit: await updateOf(state, { add: 1.5 }), error: 'DoctypeRuleError' },
        { why: 'no step', commit: await updateOf(state, {}), error: 'DoctypeRuleError' }
      ],
      foreignGenesis: async () => await genesisOf({ start: 0 }, stranger),
      foreignUpdate: async (state) => await updateOf(state, { add: 1 }, stranger)
    })
  })
})
