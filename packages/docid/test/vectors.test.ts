import { CommitID, DocID, isCommitID, isDocID, parseDocOrCommitID } from '@kiln/docid'
import { base36 } from 'multiformats/bases/base36'
import { describe, expect, it } from 'vitest'
import { fromHex, thrown, toHex, vectors } from './fixtures/vectors.js'

describe('vectors/docid.json: valid ids', () => {
  it('holds the three published ids and malformed cases', () => {
    const strings = vectors.valid.map((v) => v.string)
    expect(strings).toContain('kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s')
    expect(strings).toContain('k3y52l7qbv1frxwipl4hp7e6jlu4f6u8upm2xv0irmedfkm5cnutmezzi3u7mytj4')
    expect(strings).toContain('k1dpgaqe3i64kjqcp801r3sn7ysi5i0k7nxvs7j351s7kewfzr3l7mdxnj7szwo4kr9mn2qki5nnj0cv836ythy1t1gya9s25cn1nexst3jxi5o3h6qprfyju')
    expect(vectors.invalid.length).toBeGreaterThan(20)
  })

  it('decodes the published tile DocID field by field', () => {
    const id = DocID.fromString('kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s')
    expect(id.type).toBe(0)
    expect(id.typeName).toBe('tile')
    expect(id.cid.toString()).toBe('bagcqcerakszw2vsovxznyp5gfnpdj4cqm2xiv76yd24wkjewhhykovorwo6a')
    expect(id.cid.code).toBe(0x85)
  })

  it('decodes the published genesis CommitID as the genesis commit of that DocID', () => {
    const id = CommitID.fromString('k3y52l7qbv1frxwipl4hp7e6jlu4f6u8upm2xv0irmedfkm5cnutmezzi3u7mytj4')
    expect(id.isGenesis).toBe(true)
    expect(id.commit.toString()).toBe('bagcqcerakszw2vsovxznyp5gfnpdj4cqm2xiv76yd24wkjewhhykovorwo6a')
    expect(id.baseID.toString()).toBe('kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s')
    expect(id.bytes.at(-1)).toBe(0)
  })

  it('decodes the published CommitID as that DocID at its eth-tx commit', () => {
    const id = CommitID.fromString('k1dpgaqe3i64kjqcp801r3sn7ysi5i0k7nxvs7j351s7kewfzr3l7mdxnj7szwo4kr9mn2qki5nnj0cv836ythy1t1gya9s25cn1nexst3jxi5o3h6qprfyju')
    expect(id.type).toBe(0)
    expect(id.cid.toString()).toBe('bagcqcerakszw2vsovxznyp5gfnpdj4cqm2xiv76yd24wkjewhhykovorwo6a')
    expect(id.commit.toString()).toBe('bagjqcgzaday6dzalvmy5ady2m5a5legq5zrbsnlxfc2bfxej532ds7htpova')
    expect(id.isGenesis).toBe(false)
  })

  for (const v of vectors.valid) {
    it(`parses and prints back: ${v.description}`, () => {
      const fromString = parseDocOrCommitID(v.string)
      const fromBytes = parseDocOrCommitID(fromHex(v.bytes))
      for (const id of [fromString, fromBytes]) {
        expect(v.kind === 'DocID' ? isDocID(id) : isCommitID(id)).toBe(true)
        expect(id.type).toBe(v.type)
        expect(id.cid.toString()).toBe(v.genesis)
        expect(id.toString()).toBe(v.string)
        expect(toHex(id.bytes)).toBe(v.bytes)
        expect(id.toUrl()).toBe(v.url)
        expect(id.baseID.toString()).toBe(v.baseID)
        expect(JSON.stringify(id)).toBe(JSON.stringify(v.string))
        if (v.typeName === null) expect(thrown(() => id.typeName).name).toBe('UnknownDoctypeError')
        else expect(id.typeName).toBe(v.typeName)
        if (isCommitID(id)) {
          expect(id.commit.toString()).toBe(v.commit)
          expect(id.isGenesis).toBe(v.genesisCommit)
        } else {
          expect(v.commit).toBeNull()
        }
      }
      expect(fromString.equals(fromBytes)).toBe(true)
      expect(parseDocOrCommitID(v.url).equals(fromString)).toBe(true)

      // the same parts, built by hand, give the same id
      const built = v.kind === 'DocID'
        ? new DocID(v.type, v.genesis)
        : new CommitID(v.type, v.genesis, v.genesisCommit ? 0 : v.commit)
      expect(built.toString()).toBe(v.string)

      // the kind-specific parsers accept their own kind
      const Class = v.kind === 'DocID' ? DocID : CommitID
      expect(Class.fromString(v.string).toString()).toBe(v.string)
      expect(Class.fromBytes(fromHex(v.bytes)).toString()).toBe(v.string)
    })
  }
})

describe('vectors/docid.json: other accepted forms', () => {
  for (const v of vectors.equivalent) {
    it(`reads ${v.description} as ${v.canonical.slice(0, 12)}…`, () => {
      const input = v.string ?? fromHex(v.bytes as string)
      expect(parseDocOrCommitID(input).toString()).toBe(v.canonical)
    })
  }
})

describe('vectors/docid.json: malformed inputs', () => {
  for (const v of vectors.invalid) {
    it(`rejects ${v.description} with ${v.error}`, () => {
      const inputs: Array<string | Uint8Array> = []
      if (v.string !== undefined) inputs.push(v.string)
      if (v.bytes !== undefined) inputs.push(fromHex(v.bytes), base36.encode(fromHex(v.bytes)))
      const parsers: Array<(input: string | Uint8Array) => unknown> = []
      if (v.parser === 'any' || v.parser === 'DocID') {
        parsers.push((i) => typeof i === 'string' ? DocID.fromString(i) : DocID.fromBytes(i))
      }
      if (v.parser === 'any' || v.parser === 'CommitID') {
        parsers.push((i) => typeof i === 'string' ? CommitID.fromString(i) : CommitID.fromBytes(i))
      }
      if (v.parser === 'any') parsers.push((i) => parseDocOrCommitID(i))
      for (const input of inputs) {
        for (const parse of parsers) {
          const err = thrown(() => parse(input))
          expect(err.name).toBe(v.error)
          const shown = typeof input === 'string' ? input : toHex(input)
          expect(err.details?.value).toBe(shown.length > 512 ? `${shown.slice(0, 512)}…` : shown)
          expect(err.message).toContain(JSON.stringify(err.details?.value))
        }
      }
      // a kind mismatch is not malformed for the generic parser
      if (v.parser !== 'any') expect(() => parseDocOrCommitID(inputs[0] as string | Uint8Array)).not.toThrow()
    })
  }
})
