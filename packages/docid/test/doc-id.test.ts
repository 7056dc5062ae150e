import { CommitID, DocID, isCommitID, isDocID, isDocOrCommitID, parseDocOrCommitID } from '@kiln/docid'
import { CID } from 'multiformats/cid'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'

const DOC = 'kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s'
const GENESIS_COMMIT = 'k3y52l7qbv1frxwipl4hp7e6jlu4f6u8upm2xv0irmedfkm5cnutmezzi3u7mytj4'
const COMMIT = 'k1dpgaqe3i64kjqcp801r3sn7ysi5i0k7nxvs7j351s7kewfzr3l7mdxnj7szwo4kr9mn2qki5nnj0cv836ythy1t1gya9s25cn1nexst3jxi5o3h6qprfyju'
const GENESIS = CID.parse('bagcqcerakszw2vsovxznyp5gfnpdj4cqm2xiv76yd24wkjewhhykovorwo6a')
const TX = CID.parse('bagjqcgzaday6dzalvmy5ady2m5a5legq5zrbsnlxfc2bfxej532ds7htpova')

describe('DocID', () => {
  it('is built from a type code or name and a CID or CID string', () => {
    for (const id of [new DocID(0, GENESIS), new DocID('tile', GENESIS), new DocID(0, GENESIS.toString())]) {
      expect(id.toString()).toBe(DOC)
      expect(id.cid.equals(GENESIS)).toBe(true)
    }
  })

  it('is its own baseID', () => {
    const id = DocID.fromString(DOC)
    expect(id.baseID).toBe(id)
  })

  it('moves to a commit with atCommit', () => {
    const id = DocID.fromString(DOC)
    expect(id.atCommit(TX).toString()).toBe(COMMIT)
    expect(id.atCommit(TX.toString()).toString()).toBe(COMMIT)
    expect(id.atCommit(0).toString()).toBe(GENESIS_COMMIT)
    expect(id.atCommit(null).toString()).toBe(GENESIS_COMMIT)
    expect(id.atCommit(GENESIS).toString()).toBe(GENESIS_COMMIT)
  })

  it('equals a DocID of the same type and CID, and never a CommitID', () => {
    const id = DocID.fromString(DOC)
    expect(id.equals(new DocID(0, GENESIS))).toBe(true)
    expect(id.equals(new DocID(1, GENESIS))).toBe(false)
    expect(id.equals(new DocID(0, TX))).toBe(false)
    expect(id.equals(id.atCommit(0))).toBe(false)
    expect(id.equals(DOC)).toBe(false)
    expect(id.equals(null)).toBe(false)
  })

  it('writes itself as its string in JSON, templates and util.inspect', () => {
    const id = DocID.fromString(DOC)
    expect(JSON.stringify({ id })).toBe(`{"id":"${DOC}"}`)
    expect(`${id}`).toBe(DOC)
    expect(inspect(id)).toBe(`DocID(${DOC})`)
    expect(id.toUrl()).toBe(`ceramic://${DOC}`)
  })

  it('computes its bytes and string once', () => {
    const id = new DocID(0, GENESIS)
    expect(id.bytes).toBe(id.bytes)
    expect(id.toString()).toBe(id.toString())
  })

  it('does not share memory with the bytes it was parsed from', () => {
    const input = DocID.fromString(DOC).bytes.slice()
    const id = DocID.fromBytes(input)
    input.fill(0)
    expect(id.toString()).toBe(DOC)
    expect(id.cid.equals(GENESIS)).toBe(true)
  })

  it('reads Node Buffers as bytes', () => {
    expect(DocID.fromBytes(Buffer.from(DocID.fromString(DOC).bytes)).toString()).toBe(DOC)
  })
})

describe('CommitID', () => {
  it('is built from a type, a genesis CID and a commit, which defaults to the genesis', () => {
    expect(new CommitID(0, GENESIS, TX).toString()).toBe(COMMIT)
    expect(new CommitID('tile', GENESIS.toString(), TX.toString()).toString()).toBe(COMMIT)
    expect(new CommitID(0, GENESIS).toString()).toBe(GENESIS_COMMIT)
    expect(new CommitID(0, GENESIS, 0).toString()).toBe(GENESIS_COMMIT)
    expect(new CommitID(0, GENESIS, '0').toString()).toBe(GENESIS_COMMIT)
  })

  it('answers the genesis CID as its commit when it is the genesis commit', () => {
    const id = CommitID.fromString(GENESIS_COMMIT)
    expect(id.isGenesis).toBe(true)
    expect(id.commit.equals(GENESIS)).toBe(true)
    expect(id.cid.equals(GENESIS)).toBe(true)
  })

  it('knows its DocID and moves to another commit', () => {
    const id = CommitID.fromString(COMMIT)
    expect(id.baseID.toString()).toBe(DOC)
    expect(id.baseID).toBe(id.baseID)
    expect(isDocID(id.baseID)).toBe(true)
    expect(id.atCommit(0).toString()).toBe(GENESIS_COMMIT)
    expect(id.atCommit(0).atCommit(TX).equals(id)).toBe(true)
  })

  it('equals a CommitID of the same document and commit only', () => {
    const id = CommitID.fromString(COMMIT)
    expect(id.equals(new CommitID(0, GENESIS, TX))).toBe(true)
    expect(id.equals(new CommitID(0, GENESIS, 0))).toBe(false)
    expect(id.equals(new CommitID(1, GENESIS, TX))).toBe(false)
    expect(id.equals(id.baseID)).toBe(false)
    expect(CommitID.fromString(GENESIS_COMMIT).equals(new CommitID(0, GENESIS, GENESIS))).toBe(true)
  })

  it('writes itself as its string in JSON and util.inspect', () => {
    const id = CommitID.fromString(COMMIT)
    expect(JSON.stringify([id])).toBe(`["${COMMIT}"]`)
    expect(inspect(id)).toBe(`CommitID(${COMMIT})`)
    expect(id.toUrl()).toBe(`ceramic://${COMMIT}`)
    expect(id.typeName).toBe('tile')
  })

  it('computes its bytes and string once', () => {
    const id = new CommitID(0, GENESIS, TX)
    expect(id.bytes).toBe(id.bytes)
    expect(id.toString()).toBe(COMMIT)
  })
})

describe('parseDocOrCommitID', () => {
  it('lets the bytes decide between a DocID and a CommitID', () => {
    expect(isDocID(parseDocOrCommitID(DOC))).toBe(true)
    expect(isCommitID(parseDocOrCommitID(COMMIT))).toBe(true)
    expect(isCommitID(parseDocOrCommitID(GENESIS_COMMIT))).toBe(true)
    expect(isDocID(parseDocOrCommitID(DocID.fromString(DOC).bytes))).toBe(true)
    expect(isCommitID(parseDocOrCommitID(CommitID.fromString(COMMIT).bytes))).toBe(true)
    expect(isCommitID(parseDocOrCommitID(`/ceramic/${DOC}?commit=0`))).toBe(true)
  })

  it('returns DocID and CommitID instances as they are', () => {
    const doc = DocID.fromString(DOC)
    const commit = CommitID.fromString(COMMIT)
    expect(parseDocOrCommitID(doc)).toBe(doc)
    expect(parseDocOrCommitID(commit)).toBe(commit)
  })
})

describe('type guards', () => {
  it('tell DocIDs and CommitIDs apart from each other and from strings', () => {
    const doc = DocID.fromString(DOC)
    const commit = CommitID.fromString(COMMIT)
    expect([isDocID(doc), isDocID(commit), isDocID(DOC), isDocID(null), isDocID(undefined)]).toEqual([true, false, false, false, false])
    expect([isCommitID(commit), isCommitID(doc), isCommitID(COMMIT)]).toEqual([true, false, false])
    expect([isDocOrCommitID(doc), isDocOrCommitID(commit), isDocOrCommitID({})]).toEqual([true, true, false])
  })

  it('recognise ids from another copy of the package by a registered symbol', () => {
    const foreign = { [Symbol.for('@kiln/docid/DocID')]: true }
    expect(isDocID(foreign)).toBe(true)
  })
})
