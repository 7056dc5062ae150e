import { signRecord } from '@kiln/codec'
import { makeGenesis, makeUpdate, tile, type TileContent } from '@kiln/doctype-tile'
import type { DocState, VerifiedCommit } from '@kiln/interface'
import { doctypeTests, verifiedCommit } from '@kiln/interface-tests/doctype'
import { describe } from 'vitest'
import { signerOf } from './fixtures/tile.js'

const alice = signerOf(1)
const bob = signerOf(2)

async function rawGenesis (record: unknown, signer = alice): Promise<VerifiedCommit> {
  return await verifiedCommit(await signRecord(record, signer), 'genesis')
}

async function rawUpdate (state: DocState<TileContent>, data: unknown, header: unknown = {}, signer = alice): Promise<VerifiedCommit> {
  return await verifiedCommit(await signRecord({ id: state.log[0]!.cid, prev: state.log[state.log.length - 1]!.cid, header, data }, signer), 'update')
}

describe('the tile doctype', () => {
  doctypeTests<TileContent>({
    checksSignerInApply: true,
    setup: () => ({
      handler: tile()({}),
      genesis: async () => await verifiedCommit(await makeGenesis({ title: 'hi', list: [1, { a: null }] }, { tags: ['t'] }, alice), 'genesis'),
      update: async (state) => await verifiedCommit(await makeUpdate(state, { title: 'hello', list: [1, { a: [2] }] }, alice, { family: 'notes' }), 'update'),
      invalidGeneses: async () => [
        { why: 'content that is an array', commit: await rawGenesis({ header: { controllers: [alice.did] }, data: [1, 2] }), error: 'DoctypeRuleError' },
        { why: 'two controllers', commit: await rawGenesis({ header: { controllers: [alice.did, bob.did] }, data: {} }), error: 'DoctypeRuleError' },
        { why: 'a schema that is not a CommitID', commit: await rawGenesis({ header: { controllers: [alice.did], schema: 'nope' }, data: {} }), error: 'InvalidCommitError' },
        { why: 'data without a signature', commit: { ...await rawGenesis({ header: { controllers: [alice.did] }, data: { a: 1 } }), signer: undefined }, error: 'DoctypeRuleError' }
      ],
      invalidUpdates: async (state) => [
        { why: 'a failing test operation', commit: await rawUpdate(state, [{ op: 'test', path: '/title', value: 'no' }]), error: 'DoctypeRuleError' },
        { why: 'data that is not a patch', commit: await rawUpdate(state, { title: 'x' }), error: 'DoctypeRuleError' },
        { why: 'content that becomes an array', commit: await rawUpdate(state, [{ op: 'replace', path: '', value: [] }]), error: 'DoctypeRuleError' },
        { why: 'two controllers', commit: await rawUpdate(state, [], { controllers: [alice.did, bob.did] }), error: 'DoctypeRuleError' },
        { why: 'a schema that is not a CommitID', commit: await rawUpdate(state, [], { schema: 'nope' }), error: 'InvalidCommitError' },
        { why: 'no signature', commit: { ...await rawUpdate(state, []), signer: undefined }, error: 'UnauthorizedSignerError' }
      ],
      foreignGenesis: async () => await rawGenesis({ header: { controllers: [alice.did] }, data: { a: 1 } }, bob),
      foreignUpdate: async (state) => await rawUpdate(state, [], {}, bob)
    })
  })
})
