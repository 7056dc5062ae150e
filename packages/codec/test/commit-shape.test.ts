import { asAnchorProof, asAnchorRecord, asGenesisRecord, asUpdateRecord, encodeRecord, unsignedRecordKind } from '@kiln/codec'
import { describe, expect, it } from 'vitest'

const invalid = (fn: () => unknown): void => {
  expect(fn).toThrow(expect.objectContaining({ name: 'InvalidCommitError' }) as Error)
}

describe('commit shapes', async () => {
  const { cid } = await encodeRecord({ a: 1 })

  it('accepts well-formed genesis, update, anchor and proof records', () => {
    expect(asGenesisRecord({ header: { controllers: ['did:key:z6Mk'], tags: ['t'], family: 'f' }, data: { a: 1 } })).toBeTruthy()
    expect(asUpdateRecord({ id: cid, prev: cid, header: {}, data: [] })).toBeTruthy()
    expect(asAnchorRecord({ id: cid, prev: cid, proof: cid, path: '0/1/1' })).toBeTruthy()
    expect(asAnchorRecord({ id: cid, prev: cid, proof: cid, path: '' })).toBeTruthy()
    expect(asAnchorProof({ chainId: 'eip155:1337', root: cid, txHash: cid, txType: 'f(bytes32)' })).toBeTruthy()
  })

  it('tells genesis from anchor records', () => {
    expect(unsignedRecordKind({ header: { controllers: ['did:a:b'] } })).toBe('genesis')
    expect(unsignedRecordKind({ id: cid, prev: cid, proof: cid, path: '' })).toBe('anchor')
    expect(unsignedRecordKind({ id: cid, prev: cid, data: [] })).toBeUndefined()
    expect(unsignedRecordKind('x')).toBeUndefined()
  })

  it('rejects malformed genesis records with InvalidCommitError', () => {
    invalid(() => asGenesisRecord(null))
    invalid(() => asGenesisRecord({ data: {} }))
    invalid(() => asGenesisRecord({ header: { controllers: [] } }))
    invalid(() => asGenesisRecord({ header: { controllers: 'did:key:z6Mk' } }))
    invalid(() => asGenesisRecord({ header: { controllers: [''] } }))
    invalid(() => asGenesisRecord({ header: { controllers: ['did:a:b'], tags: [1] } }))
    invalid(() => asGenesisRecord({ header: { controllers: ['did:a:b'], schema: 5 } }))
    invalid(() => asGenesisRecord({ header: { controllers: ['did:a:b'], unique: 5 } }))
  })

  it('rejects malformed update, anchor and proof records with InvalidCommitError', () => {
    invalid(() => asUpdateRecord({ id: cid.toString(), prev: cid, data: [] }))
    invalid(() => asUpdateRecord({ id: cid, prev: cid }))
    invalid(() => asUpdateRecord({ id: cid, prev: cid, data: [], header: { controllers: [3] } }))
    invalid(() => asAnchorRecord({ id: cid, prev: cid, proof: cid, path: '0/2' }))
    invalid(() => asAnchorRecord({ id: cid, prev: cid, path: '0' }))
    invalid(() => asAnchorProof({ chainId: 'ethereum', root: cid, txHash: cid }))
    invalid(() => asAnchorProof({ chainId: 'eip155:1', root: cid }))
  })
})
