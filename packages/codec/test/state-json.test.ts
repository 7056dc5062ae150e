import { docStateFromJSON, docStateToJSON, encodeRecord } from '@kiln/codec'
import { AnchorStatus, LogEntryType, SignatureStatus, type DocState } from '@kiln/interface'
import { describe, expect, it } from 'vitest'

const a = (await encodeRecord({ a: 1 })).cid
const b = (await encodeRecord({ b: 1 })).cid
const state: DocState = {
  type: 0,
  content: { name: 'Alice', nested: { list: [1, 2] } },
  metadata: { controllers: ['did:key:z6Mk'], family: 'profile' },
  signature: SignatureStatus.SIGNED,
  anchorStatus: AnchorStatus.ANCHORED,
  anchorProof: { chainId: 'inmemory:12345', root: a, txHash: b, txType: 'dag-jws' },
  log: [{ cid: a, type: LogEntryType.GENESIS, timestamp: 100 }, { cid: b, type: LogEntryType.ANCHOR, timestamp: 100 }]
}

describe('document state JSON', () => {
  it("writes Ceramic's shape: CID strings, status by name, the doctype name", () => {
    const json = docStateToJSON(state, 'tile')
    expect(json.anchorStatus).toBe('ANCHORED')
    expect(json.doctype).toBe('tile')
    expect(json.log).toEqual([{ cid: a.toString(), type: 0, timestamp: 100 }, { cid: b.toString(), type: 2, timestamp: 100 }])
    expect(json.anchorProof).toEqual({ chainId: 'inmemory:12345', root: a.toString(), txHash: b.toString(), txType: 'dag-jws' })
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
  })

  it('reads back what it writes', () => {
    expect(docStateFromJSON(JSON.parse(JSON.stringify(docStateToJSON(state, 'tile'))))).toEqual(state)
  })

  it('takes `next` over the current content, as Ceramic clients do', () => {
    const json = { ...docStateToJSON(state), next: { content: { name: 'pending' } } }
    expect(docStateFromJSON(json).content).toEqual({ name: 'pending' })
  })

  it('rejects malformed states with CodecError', () => {
    const good = docStateToJSON(state)
    for (const bad of [null, [], { ...good, type: '0' }, { ...good, anchorStatus: 'DONE' }, { ...good, log: [] }, { ...good, log: [{ cid: 'x', type: 0 }] }, { ...good, metadata: null }]) {
      expect(() => docStateFromJSON(bad)).toThrow(expect.objectContaining({ name: 'CodecError' }) as Error)
    }
  })
})
