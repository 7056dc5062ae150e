import { CommitID as CeramicCommitID, StreamID, StreamRef } from '@ceramicnetwork/streamid'
import { CommitID, DocID, isCommitID, isDocID, parseDocOrCommitID } from '@kiln/docid'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { describe, expect, it } from 'vitest'
import { randomIdCases, type RandomIdCase } from './fixtures/random-ids.js'
import { thrown, toHex } from './fixtures/vectors.js'

const cases = randomIdCases(0x6b696c6e, 200)

/** Ceramic 5.6 reads a CID from id bytes by its version varint, so it cannot read back a dag-pb CIDv0 it printed. */
function ceramicCanParse (c: RandomIdCase): boolean {
  return c.genesis.version === 1 && (c.commit === undefined || c.commit === null || c.commit.version === 1)
}

function ceramicId (c: RandomIdCase): StreamID | CeramicCommitID {
  return c.commit === undefined ? new StreamID(c.type, c.genesis) : new CeramicCommitID(c.type, c.genesis, c.commit)
}

function kilnId (c: RandomIdCase): DocID | CommitID {
  return c.commit === undefined ? new DocID(c.type, c.genesis) : new CommitID(c.type, c.genesis, c.commit)
}

describe('compatibility with @ceramicnetwork/streamid', () => {
  it('generates a varied deterministic set of cases', () => {
    expect(cases).toHaveLength(200)
    expect(cases.filter((c) => c.commit === undefined).length).toBeGreaterThan(40)
    expect(cases.filter((c) => c.commit === null).length).toBeGreaterThan(20)
    expect(cases.filter((c) => c.commit instanceof CID).length).toBeGreaterThan(40)
    expect(cases.filter((c) => c.genesis.version === 0).length).toBeGreaterThan(5)
    expect(new Set(cases.map((c) => c.genesis.code)).size).toBeGreaterThan(6)
    expect(new Set(cases.map((c) => c.genesis.multihash.code)).size).toBe(5)
    expect(new Set(cases.map((c) => c.type)).size).toBeGreaterThan(10)
    expect(randomIdCases(0x6b696c6e, 200).map((c) => c.label)).toEqual(cases.map((c) => c.label))
  })

  it('reads every id Ceramic prints to the same parts, and prints it back to the same string and bytes', () => {
    for (const c of cases) {
      const ceramic = ceramicId(c)
      for (const input of [ceramic.toString(), ceramic.bytes, ceramic.toUrl()]) {
        const kiln = parseDocOrCommitID(input)
        expect(kiln.type, c.label).toBe(ceramic.type)
        expect(kiln.cid.equals(ceramic.cid), c.label).toBe(true)
        expect(kiln.toString(), c.label).toBe(ceramic.toString())
        expect(toHex(kiln.bytes), c.label).toBe(toHex(ceramic.bytes))
        expect(kiln.toUrl(), c.label).toBe(ceramic.toUrl())
        expect(kiln.baseID.toString(), c.label).toBe(ceramic.baseID.toString())
        if (ceramic instanceof CeramicCommitID) {
          expect(isCommitID(kiln), c.label).toBe(true)
          expect((kiln as CommitID).commit.equals(ceramic.commit), c.label).toBe(true)
        } else {
          expect(isDocID(kiln), c.label).toBe(true)
        }
      }
    }
  })

  it('prints every id exactly as Ceramic does, and Ceramic reads Kiln\'s strings and bytes to the same parts', () => {
    for (const c of cases) {
      const kiln = kilnId(c)
      const ceramic = ceramicId(c)
      expect(kiln.toString(), c.label).toBe(ceramic.toString())
      expect(toHex(kiln.bytes), c.label).toBe(toHex(ceramic.bytes))
      if (!ceramicCanParse(c)) continue
      for (const input of [kiln.toString(), kiln.bytes, kiln.toUrl()]) {
        const back = StreamRef.from(input)
        expect(back.type, c.label).toBe(kiln.type)
        expect(back.cid.toString(), c.label).toBe(kiln.cid.toString())
        expect(back.toString(), c.label).toBe(kiln.toString())
        if (isCommitID(kiln)) {
          expect(back, c.label).toBeInstanceOf(CeramicCommitID)
          expect((back as CeramicCommitID).commit.toString(), c.label).toBe(kiln.commit.toString())
        } else {
          expect(back, c.label).toBeInstanceOf(StreamID)
        }
      }
    }
  })

  it('gives the same type names as Ceramic for codes 0 to 4', () => {
    const cid = cases[0]!.genesis
    for (let type = 0; type <= 4; type++) {
      expect(new DocID(type, cid).typeName).toBe(new StreamID(type, cid).typeName)
      expect(new DocID(new StreamID(type, cid).typeName, cid).type).toBe(type)
    }
  })

  it('agrees with Ceramic that a commit equal to the genesis CID is the genesis CommitID', () => {
    const genesis = cases[0]!.genesis
    const ceramic = new CeramicCommitID(0, genesis, genesis)
    const kiln = new CommitID(0, genesis, genesis)
    expect(kiln.toString()).toBe(ceramic.toString())
    expect(kiln.isGenesis).toBe(true)
    expect(kiln.bytes.at(-1)).toBe(0)
    expect(new DocID(0, genesis).atCommit(0).toString()).toBe(new CeramicCommitID(0, genesis, 0 as unknown as null).toString())
  })

  it('agrees with Ceramic on the legacy /ceramic/<id>?commit= forms', () => {
    for (const c of cases.filter((c) => c.commit !== undefined && ceramicCanParse(c)).slice(0, 30)) {
      const base = new StreamID(c.type, c.genesis).toString()
      const commit = c.commit === null ? '0' : (c.commit as CID).toString()
      for (const input of [`/ceramic/${base}?commit=${commit}`, `ceramic://${base}?commit=${commit}`]) {
        expect(CommitID.fromString(input).toString(), c.label).toBe(CeramicCommitID.fromString(input).toString())
      }
    }
  })

  it('rejects a CommitID given as a DocID, and a DocID given as a CommitID, as Ceramic does', () => {
    const commit = kilnId(cases.find((c) => c.commit instanceof CID && ceramicCanParse(c))!).toString()
    const doc = kilnId(cases.find((c) => c.commit === undefined && ceramicCanParse(c))!).toString()
    expect(() => StreamID.fromString(commit)).toThrow()
    expect(thrown(() => DocID.fromString(commit)).name).toBe('InvalidDocIDError')
    expect(() => CeramicCommitID.fromString(doc)).toThrow()
    expect(thrown(() => CommitID.fromString(doc)).name).toBe('InvalidDocIDError')
  })

  it('reads a CIDv0 genesis that Ceramic 5.6 prints but cannot read back (a known Ceramic limitation)', () => {
    const v0 = CID.createV0(Digest.create(0x12, new Uint8Array(32).fill(9)))
    const printed = new StreamID(0, v0).toString()
    expect(() => StreamID.fromString(printed)).toThrow(/Unknown CID version 18/)
    const kiln = DocID.fromString(printed)
    expect(kiln.cid.equals(v0)).toBe(true)
    expect(kiln.toString()).toBe(printed)
  })
})
