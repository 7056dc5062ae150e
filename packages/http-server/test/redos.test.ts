import { commitToJSON, signRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { makeSchemaGenesis, schema, SCHEMA_CODE } from '@kiln/doctype-schema'
import { makeGenesis, tile } from '@kiln/doctype-tile'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { alice, call, startHarness, type Answer, type Harness } from './fixtures/harness.js'

/** A pattern that backtracks catastrophically in JavaScript's RegExp: 35 characters take minutes there. */
const CATASTROPHIC = '^(a+)+$'

describe('a schema with a catastrophic pattern', () => {
  let h: Harness
  let schemaCommitId: string

  beforeEach(async () => {
    h = await startHarness({}, { doctypes: [tile(), schema()] })
    const genesis = await makeSchemaGenesis({ type: 'object', properties: { name: { type: 'string', pattern: CATASTROPHIC } } }, {}, alice)
    const published = await call(h.url, '/api/v0/streams', { body: { type: SCHEMA_CODE, genesis: commitToJSON(genesis.commit), opts: { anchor: false } } })
    expect(published.status, published.text).toBe(200)
    schemaCommitId = DocID.fromString(published.json.streamId).atCommit(0).toString()
  })
  afterEach(async () => { await h.close() })

  async function createTile (name: string): Promise<Answer> {
    const genesis = await makeGenesis({ name }, { schema: schemaCommitId }, alice)
    return await call(h.url, '/api/v0/streams', { body: { type: 0, genesis: commitToJSON(genesis.commit), opts: { anchor: false } } })
  }

  it('answers a document with hostile content promptly, while a healthcheck sent meanwhile answers within 1 s', async () => {
    for (const name of [`${'a'.repeat(35)}!`, `${'a'.repeat(200_000)}!`]) {
      const created = createTile(name)
      // sent while the create is in flight: a node whose event loop is stuck in a regex would not answer it
      const sent = performance.now()
      const health = await call(h.url, '/api/v0/node/healthcheck')
      const healthMs = performance.now() - sent
      expect(health.text).toBe('Alive!')
      expect(healthMs).toBeLessThan(1000)
      const answer = await created
      expect({ status: answer.status, name: answer.json?.name }).toEqual({ status: 422, name: 'SchemaValidationError' })
      expect(answer.json.error).toContain('/name must match pattern "^(a+)+$"')
    }
  })

  it('still accepts content that matches the pattern', async () => {
    const answer = await createTile('aaaa')
    expect(answer.status, answer.text).toBe(200)
    expect(answer.json.state.content).toEqual({ name: 'aaaa' })
  })

  it('refuses to publish a schema whose pattern RE2 cannot run, naming the pattern', async () => {
    // signed by hand: makeSchemaGenesis checks the schema before signing, as the node does
    const genesis = await signRecord({ header: { controllers: [alice.did] }, data: { type: 'string', pattern: '^(a)\\1$' } }, alice)
    const answer = await call(h.url, '/api/v0/streams', { body: { type: SCHEMA_CODE, genesis: commitToJSON(genesis.commit), opts: { anchor: false } } })
    expect({ status: answer.status, name: answer.json?.name }).toEqual({ status: 422, name: 'SchemaValidationError' })
    expect(answer.json.error).toContain('the pattern "^(a)\\\\1$" cannot be used: it has a backreference')
  })
})
