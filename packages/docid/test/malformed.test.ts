import { CommitID, DocID, parseDocOrCommitID } from '@kiln/docid'
import { base32 } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { thrown, toHex } from './fixtures/vectors.js'

const DOC = 'kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s'
const GENESIS_COMMIT = 'k3y52l7qbv1frxwipl4hp7e6jlu4f6u8upm2xv0irmedfkm5cnutmezzi3u7mytj4'
const COMMIT = 'k1dpgaqe3i64kjqcp801r3sn7ysi5i0k7nxvs7j351s7kewfzr3l7mdxnj7szwo4kr9mn2qki5nnj0cv836ythy1t1gya9s25cn1nexst3jxi5o3h6qprfyju'
const docBytes = DocID.fromString(DOC).bytes
const commitBytes = CommitID.fromString(COMMIT).bytes

/** Asserts `fn` throws InvalidDocIDError naming `value` in its message and details, and returns the message. */
function rejects (fn: () => unknown, value: string): string {
  const err = thrown(fn)
  expect(err.name).toBe('InvalidDocIDError')
  expect(err.message).toContain(value)
  expect(err.details).toEqual({ value })
  return err.message
}

function rejectsString (input: string, reason: RegExp): void {
  expect(rejects(() => DocID.fromString(input), input)).toMatch(reason)
  rejects(() => CommitID.fromString(input), input)
  rejects(() => parseDocOrCommitID(input), input)
}

function rejectsBytes (input: Uint8Array, reason: RegExp): void {
  expect(rejects(() => DocID.fromBytes(input), toHex(input))).toMatch(reason)
  rejects(() => CommitID.fromBytes(input), toHex(input))
  rejects(() => parseDocOrCommitID(input), toHex(input))
  if (input.length > 0) rejects(() => parseDocOrCommitID(base36.encode(input)), base36.encode(input))
}

const concat = (...parts: Array<Uint8Array | number[]>): Uint8Array => new Uint8Array(parts.flatMap((p) => [...p]))

describe('malformed DocIDs and CommitIDs', () => {
  it('rejects an empty string and empty bytes', () => {
    rejectsString('', /empty/)
    rejectsBytes(new Uint8Array(0), /empty/)
  })

  it('rejects a string that is not multibase base36', () => {
    rejectsString(base32.encode(docBytes), /base36/)
    rejectsString('K' + DOC.slice(1), /base36/)
    rejectsString('bagcqcerakszw2vsovxznyp5gfnpdj4cqm2xiv76yd24wkjewhhykovorwo6a', /base36/)
  })

  it('rejects characters outside the lower-case base36 alphabet', () => {
    rejectsString(DOC.slice(0, 10) + '!' + DOC.slice(11), /not valid base36/)
    rejectsString(DOC.slice(0, 10) + 'Z' + DOC.slice(11), /not valid base36/)
  })

  it('rejects surrounding whitespace rather than trimming it', () => {
    rejectsString(` ${DOC}`, /base36/)
    rejectsString(`${DOC} `, /base36/)
  })

  it('rejects a wrong codec prefix', () => {
    rejectsBytes(concat([0xcf, 0x01], docBytes.subarray(2)), /codec 0xce/)
  })

  it('rejects truncated varints', () => {
    rejectsBytes(new Uint8Array([0xce]), /truncated varint/)
    rejectsBytes(new Uint8Array([0xce, 0x01, 0x80]), /truncated varint in the doctype code/)
    rejectsBytes(new Uint8Array([0xce, 0x01]), /ends before the doctype code/)
  })

  it('rejects varints that are padded or too large', () => {
    rejectsBytes(concat([0xce, 0x81, 0x00], docBytes.subarray(2)), /shortest form/)
    rejectsBytes(concat([0xce, 0x01, 0x80, 0x00], docBytes.subarray(3)), /shortest form/)
    rejectsBytes(concat([0xce, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], docBytes.subarray(3)), /too large/)
  })

  it('rejects a missing, bad or truncated genesis CID', () => {
    rejectsBytes(new Uint8Array([0xce, 0x01, 0x00]), /ends before the genesis CID/)
    rejectsBytes(concat([0xce, 0x01, 0x00, 0x02], docBytes.subarray(4)), /genesis CID .* not a valid CID/)
    rejectsBytes(docBytes.subarray(0, docBytes.length - 3), /genesis CID .* not a valid CID/)
    rejectsBytes(concat([0xce, 0x01, 0x00, 0x01, 0x85, 0x81, 0x00], docBytes.subarray(6)), /canonical/)
  })

  it('rejects a bad or truncated commit CID', () => {
    rejectsBytes(concat(docBytes, [0x07, 0x71, 0x12, 0x20], new Uint8Array(32)), /commit CID .* not a valid CID/)
    rejectsBytes(commitBytes.subarray(0, commitBytes.length - 1), /commit CID .* not a valid CID/)
  })

  it('rejects trailing bytes after the commit CID or the genesis marker', () => {
    rejectsBytes(concat(commitBytes, [0x00]), /trailing byte/)
    rejectsBytes(concat(docBytes, [0x00, 0x00]), /trailing byte/)
  })

  it('rejects a CommitID given to DocID.fromString or DocID.fromBytes, as Ceramic\'s StreamID does', () => {
    expect(rejects(() => DocID.fromString(COMMIT), COMMIT)).toMatch(/is a CommitID/)
    expect(rejects(() => DocID.fromString(GENESIS_COMMIT), GENESIS_COMMIT)).toMatch(/is a CommitID/)
    rejects(() => DocID.fromString(`/ceramic/${DOC}?commit=0`), `/ceramic/${DOC}?commit=0`)
    rejects(() => DocID.fromBytes(commitBytes), toHex(commitBytes))
  })

  it('rejects a DocID given to CommitID.fromString or CommitID.fromBytes: the commit marker is missing', () => {
    expect(rejects(() => CommitID.fromString(DOC), DOC)).toMatch(/no commit/)
    expect(rejects(() => CommitID.fromBytes(docBytes), toHex(docBytes))).toMatch(/no commit/)
  })

  it('rejects malformed ?commit= parameters and other queries', () => {
    rejectsString(`/ceramic/${DOC}?commit=1`, /can only be 0/)
    rejectsString(`/ceramic/${DOC}?commit=`, /\?commit=/)
    rejectsString(`ceramic://${DOC}?commit=bafy`, /neither 0 nor a CID/)
    rejectsString(`ceramic://${DOC}?version=1`, /only query/)
    rejectsString(`ceramic://${COMMIT}?commit=0`, /as well/)
  })

  it('rejects unknown schemes and a prefix without an id', () => {
    rejectsString(`ipfs://${DOC}`, /base36/)
    rejectsString('ceramic://', /no id/)
    rejectsString('/ceramic/', /no id/)
  })

  it('rejects very long strings before decoding them, and clips the value it reports', () => {
    const long = 'k' + '1'.repeat(5000)
    const err = thrown(() => DocID.fromString(long))
    expect(err.name).toBe('InvalidDocIDError')
    expect(err.message).toMatch(/longer than 2048/)
    expect(err.details?.value).toBe(long.slice(0, 512) + '…')
  })

  it('rejects values of the wrong JavaScript type', () => {
    rejects(() => DocID.fromString(42 as unknown as string), '42')
    rejects(() => DocID.fromBytes('ce01' as unknown as Uint8Array), 'string')
    rejects(() => parseDocOrCommitID(null as unknown as string), 'null')
  })

  it('rejects a bad genesis CID, doctype code or commit given to the constructors', () => {
    const cid = CID.parse('bagcqcerakszw2vsovxznyp5gfnpdj4cqm2xiv76yd24wkjewhhykovorwo6a')
    rejects(() => new DocID(0, 'not-a-cid'), 'not-a-cid')
    rejects(() => new DocID(0, {} as unknown as CID), 'object')
    rejects(() => new DocID(-1, cid), '-1')
    rejects(() => new DocID(1.5, cid), '1.5')
    rejects(() => new DocID(2 ** 53, cid), String(2 ** 53))
    rejects(() => new CommitID(0, cid, 'nope'), 'nope')
    expect(rejects(() => new CommitID(0, cid, 7 as 0), '7')).toMatch(/only be 0/)
    rejects(() => DocID.fromString(DOC).atCommit('bafy' as string), 'bafy')
  })

  it('keeps the underlying decoder error as the cause', () => {
    const err = thrown(() => DocID.fromString('k!!'))
    expect(err.cause).toBeInstanceOf(Error)
  })
})
