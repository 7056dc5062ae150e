import { base64ToBytes, bytesToBase64, commitFromJSON, commitToJSON, encodeRecord, isSignedCommit, openSignedCommit, signRecord } from '@kiln/codec'
import type { AnchorRecord, SignedCommit } from '@kiln/interface'
import { base64pad } from 'multiformats/bases/base64'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { testSigner } from './fixtures/test-signer.js'

const record = { header: { controllers: ['did:key:z6MkAlice'] }, data: { hello: 'world' } }

function expectCodecError (fn: () => unknown): void {
  expect(fn).toThrow(expect.objectContaining({ name: 'CodecError' }) as Error)
}

describe('JSON wire forms', () => {
  it('writes a signed commit as {jws, linkedBlock} with unpadded base64 and a string link', async () => {
    const { commit } = await signRecord(record, testSigner())
    const json = commitToJSON(commit) as { jws: { link: string }, linkedBlock: string }
    expect(typeof json.jws.link).toBe('string')
    expect(json.jws.link).toBe(commit.jws.link?.toString())
    expect(json.linkedBlock).not.toMatch(/=$/)
    expect(json.linkedBlock).toBe(Buffer.from(commit.linkedBlock).toString('base64').replace(/=+$/, ''))
    const back = JSON.parse(JSON.stringify(json)) as unknown
    const parsed = commitFromJSON(back)
    expect(isSignedCommit(parsed)).toBe(true)
    const opened = await openSignedCommit(parsed as SignedCommit)
    expect(opened.record).toEqual(record)
  })

  it('accepts padded base64 for blocks', async () => {
    const { commit } = await signRecord(record, testSigner())
    const json = commitToJSON(commit) as { linkedBlock: string }
    json.linkedBlock = base64pad.baseEncode(commit.linkedBlock)
    const parsed = commitFromJSON(json) as SignedCommit
    expect(parsed.linkedBlock).toEqual(commit.linkedBlock)
  })

  it('writes CIDs of unsigned commits as strings and reads them back as CIDs', async () => {
    const a = await encodeRecord({ a: 1 })
    const anchor: AnchorRecord = { id: a.cid, prev: a.cid, proof: a.cid, path: '0/1' }
    const json = commitToJSON(anchor)
    expect(json).toEqual({ id: a.cid.toString(), prev: a.cid.toString(), proof: a.cid.toString(), path: '0/1' })
    const back = commitFromJSON(json) as AnchorRecord
    expect(CID.asCID(back.prev)?.equals(a.cid)).toBe(true)
    expect(back.path).toBe('0/1')
  })

  it('refuses to write binary values that have no JSON form', () => {
    expect(() => commitToJSON({ header: { controllers: ['did:x:y'], unique: new Uint8Array([1]) } })).toThrow(expect.objectContaining({ name: 'CodecError' }) as Error)
  })

  it('round-trips base64 of every length', () => {
    for (let n = 0; n < 10; n++) {
      const bytes = new Uint8Array(n).map((_, i) => i * 37)
      expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes)
    }
  })

  it('accepts base64 padded or not, and rejects every other spelling of the same bytes', () => {
    expect(base64ToBytes('AAE=')).toEqual(new Uint8Array([0, 1]))
    expect(base64ToBytes('AAE')).toEqual(new Uint8Array([0, 1]))
    expect(base64ToBytes('+/8')).toEqual(new Uint8Array([0xfb, 0xff]))
    for (const bad of ['-_8', 'AAF', 'AAE==', 'AA=', 'AA E', ' AAE', 'AAE\n', 'A', '%%%']) {
      expectCodecError(() => base64ToBytes(bad, 'linkedBlock'))
    }
  })

  it('rejects malformed JSON commits with CodecError', async () => {
    const { commit } = await signRecord(record, testSigner())
    const good = commitToJSON(commit) as { jws: Record<string, unknown>, linkedBlock: string }
    const other = await encodeRecord({ other: 1 })
    const cases: unknown[] = [
      null, 42, 'commit', [],
      { jws: null, linkedBlock: good.linkedBlock },
      { jws: { ...good.jws, payload: 'not base64url!' }, linkedBlock: good.linkedBlock },
      { jws: { ...good.jws, payload: 'AAAA' }, linkedBlock: good.linkedBlock },
      { jws: { ...good.jws, signatures: [] }, linkedBlock: good.linkedBlock },
      { jws: { ...good.jws, signatures: [{ protected: 1, signature: 'x' }] }, linkedBlock: good.linkedBlock },
      { jws: { ...good.jws, link: other.cid.toString() }, linkedBlock: good.linkedBlock },
      { jws: { ...good.jws, link: 'not-a-cid' }, linkedBlock: good.linkedBlock },
      { jws: good.jws, linkedBlock: '%%%' },
      { jws: good.jws, linkedBlock: 12 },
      { jws: good.jws },
      { id: 'bafy-not-a-cid', prev: other.cid.toString(), proof: other.cid.toString(), path: '0' },
      { id: 7, prev: other.cid.toString(), data: [] }
    ]
    for (const json of cases) expectCodecError(() => commitFromJSON(json))
  })
})
