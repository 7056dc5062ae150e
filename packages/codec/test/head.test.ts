import { decodeHeadRecord, encodeHeadRecord, encodeRecord } from '@kiln/codec'
import { AnchorStatus, SignatureStatus, type DocHead } from '@kiln/interface'
import { describe, expect, it } from 'vitest'

async function headAt (logLength: number): Promise<DocHead> {
  const { cid } = await encodeRecord({ head: 'test' })
  return { type: 0, content: { a: 1 }, metadata: { controllers: ['did:key:z6Mk'] }, signature: SignatureStatus.SIGNED, anchorStatus: AnchorStatus.PENDING, genesis: cid, tip: cid, logLength }
}

describe('head records', () => {
  it('read back the head they were given, CIDs as CIDs', async () => {
    const head = await headAt(42)
    const decoded = await decodeHeadRecord(await encodeHeadRecord(head)) as DocHead
    expect(decoded).toEqual(head)
    expect(decoded.tip.equals(head.tip)).toBe(true)
  })

  it('take the same bytes at log length 1 and at 5,000,000: the log length has a fixed width', async () => {
    expect((await encodeHeadRecord(await headAt(1))).byteLength).toBe((await encodeHeadRecord(await headAt(5_000_000))).byteLength)
  })

  it('refuse a log length that is not a count, with CodecError', async () => {
    for (const logLength of [-1, 1.5, Number.NaN]) {
      await expect(encodeHeadRecord(await headAt(logLength))).rejects.toMatchObject({ name: 'CodecError' })
    }
  })

  it('refuse bytes that are not a head record, with CodecError', async () => {
    await expect(decodeHeadRecord(new Uint8Array(8))).rejects.toMatchObject({ name: 'CodecError' })
    const list = (await encodeRecord([1, 2])).bytes
    await expect(decodeHeadRecord(new Uint8Array([...new Uint8Array(8), ...list]))).rejects.toMatchObject({ name: 'CodecError' })
  })
})
