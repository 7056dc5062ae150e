import { DAG_CBOR, DAG_JOSE, decodeJWS, decodeRecord, encodeJWS, encodeRecord, openSignedCommit, signRecord, verifyBlock } from '@kiln/codec'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { testSigner } from './fixtures/test-signer.js'

async function rejectsWith (promise: Promise<unknown>, name: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name })
}

const record = { header: { controllers: ['did:key:z6MkAlice'], family: 'profile' }, data: { name: 'Alice', age: 42, tags: ['a', 'b'] } }

describe('dag-cbor records', () => {
  it('round-trips a record through a sha2-256 dag-cbor block', async () => {
    const block = await encodeRecord(record)
    expect(block.cid.version).toBe(1)
    expect(block.cid.code).toBe(DAG_CBOR)
    expect(block.cid.multihash.code).toBe(sha256.code)
    expect(await decodeRecord(block.bytes, block.cid)).toEqual(record)
  })

  it('gives the same CID whatever the key order of the record', async () => {
    const a = await encodeRecord({ b: 1, a: 2 })
    const b = await encodeRecord({ a: 2, b: 1 })
    expect(a.cid.equals(b.cid)).toBe(true)
  })

  it('keeps CIDs inside records as links', async () => {
    const inner = await encodeRecord({ x: 1 })
    const outer = await encodeRecord({ id: inner.cid, prev: inner.cid })
    const decoded = await decodeRecord<{ id: CID }>(outer.bytes)
    expect(CID.asCID(decoded.id)?.equals(inner.cid)).toBe(true)
  })

  it('rejects values IPLD cannot hold with CodecError', async () => {
    await rejectsWith(encodeRecord({ a: undefined }), 'CodecError')
    await rejectsWith(encodeRecord({ a: Number.NaN }), 'CodecError')
    await rejectsWith(encodeRecord({ a: () => 1 }), 'CodecError')
  })

  it('rejects bytes that do not hash to the CID', async () => {
    const block = await encodeRecord(record)
    const other = await encodeRecord({ other: true })
    await rejectsWith(decodeRecord(other.bytes, block.cid), 'CodecError')
    await rejectsWith(verifyBlock(block.cid, other.bytes), 'CodecError')
  })

  it('rejects a CID of another codec', async () => {
    const block = await encodeRecord(record)
    const asJose = CID.createV1(DAG_JOSE, block.cid.multihash)
    await rejectsWith(decodeRecord(block.bytes, asJose), 'CodecError')
  })

  it('rejects hostile bytes with CodecError', async () => {
    const block = await encodeRecord(record)
    const hostile = [
      new Uint8Array([]),
      new Uint8Array([0xff]),
      block.bytes.subarray(0, block.bytes.length - 3),
      new Uint8Array([...block.bytes, 0x00]),
      new Uint8Array([0xa1, 0x61, 0x61, 0xd8, 0x2a, 0x41, 0x00]), // tag 42 with a bad CID
      new Uint8Array([0xbf, 0x61, 0x61, 0x01, 0xff]), // indefinite-length map, not allowed in dag-cbor
      new Uint8Array([0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]) // duplicate key
    ]
    for (const bytes of hostile) await rejectsWith(decodeRecord(bytes), 'CodecError')
  })
})

describe('dag-jose envelopes', () => {
  it('round-trips a signed record, whose CID is the envelope, not the payload', async () => {
    const signed = await signRecord(record, testSigner())
    expect(signed.envelope.cid.code).toBe(DAG_JOSE)
    expect(signed.payload.cid.code).toBe(DAG_CBOR)
    expect(signed.commit.jws.link?.equals(signed.payload.cid)).toBe(true)
    const jws = await decodeJWS(signed.envelope.bytes, signed.envelope.cid)
    expect(jws.link.equals(signed.payload.cid)).toBe(true)
    expect(jws.signatures).toEqual(signed.commit.jws.signatures)
    const opened = await openSignedCommit(signed.commit)
    expect(opened.envelope.cid.equals(signed.envelope.cid)).toBe(true)
    expect(opened.record).toEqual(record)
  })

  it('rejects a linked block that does not match the JWS payload', async () => {
    const signed = await signRecord(record, testSigner())
    const other = await encodeRecord({ header: { controllers: ['did:key:z6MkMallory'] } })
    await rejectsWith(openSignedCommit({ jws: signed.commit.jws, linkedBlock: other.bytes }), 'CodecError')
  })

  it('rejects dag-cbor bytes, JWE-like objects and hostile bytes given as a JWS', async () => {
    const plain = await encodeRecord(record)
    await rejectsWith(decodeJWS(plain.bytes), 'CodecError')
    await rejectsWith(decodeJWS(new Uint8Array([0xa0])), 'CodecError')
    await rejectsWith(decodeJWS(new Uint8Array([0x01, 0x02, 0x03])), 'CodecError')
    const noSignatures = await encodeJWS({ payload: 'AXESIA', signatures: [] }).catch((err: Error) => err)
    expect(noSignatures).toMatchObject({ name: 'CodecError' })
  })

  it('rejects an envelope whose bytes do not hash to its CID', async () => {
    const a = await signRecord(record, testSigner(1))
    const b = await signRecord(record, testSigner(2))
    await rejectsWith(decodeJWS(b.envelope.bytes, a.envelope.cid), 'CodecError')
  })
})

describe('dag-jose compatibility', () => {
  it('writes the same bytes as the dag-jose package and reads them back the same', async () => {
    const dagJose = await import('dag-jose')
    for (let i = 1; i <= 5; i++) {
      const signed = await signRecord({ n: i, text: 'x'.repeat(i * 7) }, testSigner(i))
      const theirs = dagJose.encode({ payload: signed.commit.jws.payload, signatures: signed.commit.jws.signatures })
      expect(signed.envelope.bytes).toEqual(theirs)
      const ours = await decodeJWS(theirs)
      const decoded = dagJose.decode(theirs) as { payload: string, signatures: unknown[] }
      expect(ours.payload).toBe(decoded.payload)
      expect(ours.signatures).toEqual(decoded.signatures)
    }
  })

  it('refuses non-canonical base64url in a JWS it encodes', async () => {
    const signed = await signRecord(record, testSigner())
    const sig = signed.commit.jws.signatures[0]!
    for (const bad of [`${sig.signature}=`, `${sig.signature.slice(0, -1)}*`, ' ' + sig.signature]) {
      await rejectsWith(encodeJWS({ payload: signed.commit.jws.payload, signatures: [{ protected: sig.protected, signature: bad }] }), 'CodecError')
    }
  })
})

describe('CAR files', async () => {
  const { decodeCar, encodeCar } = await import('@kiln/codec')

  it('round-trips roots and blocks, each block once', async () => {
    const a = await encodeRecord({ a: 1 })
    const b = await encodeRecord({ b: [a.cid] })
    const signed = await signRecord({ c: 'signed' }, testSigner())
    const car = await encodeCar([b.cid], [a, b, a, signed.envelope, signed.payload])
    const { roots, blocks } = await decodeCar(car)
    expect(roots.map(String)).toEqual([b.cid.toString()])
    expect(blocks.map((x) => x.cid.toString())).toEqual([a, b, signed.envelope, signed.payload].map((x) => x.cid.toString()))
    expect(blocks[1]!.bytes).toEqual(b.bytes)
  })

  it('rejects a CAR whose block was tampered with, and bytes that are not a CAR', async () => {
    const a = await encodeRecord({ amount: 1 })
    const car = await encodeCar([a.cid], [a])
    const tampered = car.slice()
    tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 0xff
    await rejectsWith(decodeCar(tampered), 'CodecError')
    await rejectsWith(decodeCar(new Uint8Array([1, 2, 3])), 'CodecError')
  })
})
