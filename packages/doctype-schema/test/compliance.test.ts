import { makeSchemaGenesis, makeSchemaUpdate, schema, type SchemaContent } from '@kiln/doctype-schema'
import { doctypeTests, verifiedCommit } from '@kiln/interface-tests/doctype'
import { describe } from 'vitest'
import { person, rawGenesis, rawUpdate, signerOf } from './fixtures/schema.js'

const alice = signerOf(1)
const bob = signerOf(2)

describe('the schema doctype', () => {
  doctypeTests<SchemaContent>({
    checksSignerInApply: true,
    setup: () => ({
      handler: schema()({}),
      genesis: async () => await verifiedCommit(await makeSchemaGenesis(person, { tags: ['v1'] }, alice), 'genesis'),
      update: async (state) => await verifiedCommit(await makeSchemaUpdate(state, { ...person, required: ['name', 'age'] }, alice, { family: 'people' }), 'update'),
      invalidGeneses: async () => [
        { why: 'content that is not a schema', commit: await rawGenesis({ header: { controllers: [alice.did] }, data: { type: 'integr' } }), error: 'SchemaValidationError' },
        { why: 'an unsupported $schema', commit: await rawGenesis({ header: { controllers: [alice.did] }, data: { $schema: 'http://json-schema.org/draft-04/schema#' } }), error: 'SchemaValidationError' },
        { why: 'content that is an array', commit: await rawGenesis({ header: { controllers: [alice.did] }, data: [] }), error: 'DoctypeRuleError' },
        { why: 'no data', commit: await rawGenesis({ header: { controllers: [alice.did] } }), error: 'DoctypeRuleError' },
        { why: 'a header.schema', commit: await rawGenesis({ header: { controllers: [alice.did], schema: 'k…' }, data: person }), error: 'DoctypeRuleError' }
      ],
      invalidUpdates: async (state) => [
        { why: 'a patch that breaks the schema', commit: await rawUpdate(state, [{ op: 'replace', path: '/type', value: 'objekt' }]), error: 'SchemaValidationError' },
        { why: 'a failing patch', commit: await rawUpdate(state, [{ op: 'remove', path: '/missing' }]), error: 'DoctypeRuleError' },
        { why: 'data that is not a patch', commit: await rawUpdate(state, { type: 'string' }), error: 'DoctypeRuleError' },
        { why: 'no controllers', commit: await rawUpdate(state, [], { controllers: [] }), error: 'InvalidCommitError' },
        { why: 'no signature', commit: { ...await rawUpdate(state, []), signer: undefined }, error: 'UnauthorizedSignerError' }
      ],
      foreignGenesis: async () => await rawGenesis({ header: { controllers: [alice.did] }, data: person }, bob),
      foreignUpdate: async (state) => await rawUpdate(state, [], {}, bob)
    })
  })
})
