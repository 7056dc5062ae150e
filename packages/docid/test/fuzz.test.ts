import { CommitID, DocID, isCommitID, isDocID, parseDocOrCommitID, type DocOrCommitID } from '@kiln/docid'
// The harness is imported by name but not declared in package.json: @kiln/interface-tests depends on @kiln/codec,
// which depends on this package, so declaring it would make the project references circular.
import { fc, fuzzInputs, fuzzTest, mutatedBytes, mutatedString } from '@kiln/interface-tests/fuzz'
import { base32 } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { describe, expect, it } from 'vitest'

// Fuzz suites of every public parser of DocIDs and CommitIDs. What a parser accepts must be a well-formed id that
// prints and encodes back to what was given, and the three parsers (DocID, CommitID, either) must agree on every input.

/** Codecs met in ids and proofs: dag-cbor, dag-jose, raw, dag-pb, dag-json, eth-tx. */
const codec = fc.constantFrom(0x71, 0x85, 0x55, 0x70, 0x0129, 0x93)

/** A multihash: sha2-256, sha2-512, keccak-256, blake2b-256 with their sizes, or identity of any length. */
const multihash = fc.oneof(
  fc.tuple(fc.constantFrom([0x12, 32], [0x13, 64], [0x1b, 32], [0xb220, 32]), fc.nat()).chain(([[code, size]]) =>
    fc.uint8Array({ minLength: size, maxLength: size }).map((digest) => Digest.create(code, digest))),
  fc.uint8Array({ maxLength: 40 }).map((digest) => Digest.create(0x00, digest))
)

/** A CID: one in six a CIDv0 (dag-pb, sha2-256), the rest CIDv1. */
const cid: fc.Arbitrary<CID> = fc.oneof(
  { arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((digest) => CID.createV0(Digest.create(0x12, digest)) as CID), weight: 1 },
  { arbitrary: fc.tuple(codec, multihash).map(([code, mh]) => CID.createV1(code, mh)), weight: 5 }
)

/** Doctype codes: Ceramic's and Kiln's, then any up to the largest safe integer, favouring varint boundaries. */
const type = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 64, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.nat(),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
)

/** A real id: a DocID, a genesis CommitID, or a CommitID at another commit. */
const id: fc.Arbitrary<DocOrCommitID> = fc.tuple(type, cid, fc.option(fc.option(cid))).map(([t, genesis, commit]) =>
  commit === null ? new DocID(t, genesis) : new CommitID(t, genesis, commit ?? 0))

/** Every string form an id is given in: `k…`, `ceramic://k…`, and the legacy `/ceramic/<DocID>?commit=<cid|0>`. */
const idString: fc.Arbitrary<string> = fc.tuple(id, fc.nat(5)).map(([ref, form]) => {
  const base = ref.baseID.toString()
  const commit = isCommitID(ref) ? (ref.isGenesis ? '0' : (ref.commit.version === 0 ? ref.commit.toString() : ref.commit.toString(form % 2 === 0 ? base32 : base58btc))) : undefined
  switch (form) {
    case 0: return ref.toString()
    case 1: return ref.toUrl()
    case 2: return `/ceramic/${ref.toString()}`
    default: return commit === undefined ? `/ceramic/${base}` : `${form === 3 ? 'ceramic://' : '/ceramic/'}${base}?commit=${commit}`
  }
})

const base36Text = fc.string({ unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyz'), maxLength: 120 }).map((s) => `k${s}`)

/** What each parser made of one input: the id, or the error it threw. */
interface Parsed { any: DocOrCommitID, doc: DocID | Error, commit: CommitID | Error }

function attempt<T> (parse: () => T): T | Error {
  try {
    return parse()
  } catch (err) {
    return err as Error
  }
}

/**
 * Runs the three parsers on one input. When `parseDocOrCommitID` refuses, the other two must refuse too, with
 * `InvalidDocIDError`; its error is the suite's answer. When it accepts, the parser of its kind must accept the same id
 * and the other must refuse.
 */
function parseAll (any: () => DocOrCommitID, doc: () => DocID, commit: () => CommitID): Parsed {
  const parsed = { any: attempt(any), doc: attempt(doc), commit: attempt(commit) }
  if (parsed.any instanceof Error) {
    for (const [name, other] of [['DocID', parsed.doc], ['CommitID', parsed.commit]] as const) {
      if (!(other instanceof Error)) throw new Error(`parseDocOrCommitID refused (${parsed.any.message}) what ${name} accepted: ${other.toString()}`)
      if (other.name !== 'InvalidDocIDError') throw other
    }
    throw parsed.any
  }
  return parsed as Parsed
}

/** Every string a CID may be given as: base32, base58btc, and base58btc without its prefix (a CIDv0's `Qm…`). */
function spellings (c: CID): string[] {
  return [base32.encode(c.bytes), base58btc.encode(c.bytes), base58btc.encode(c.bytes).slice(1)]
}

/** What holds of every accepted id, whatever form it came in. */
function checkId (parsed: Parsed): DocOrCommitID {
  const ref = parsed.any
  expect(Number.isSafeInteger(ref.type) && ref.type >= 0).toBe(true)
  expect(CID.asCID(ref.cid)).not.toBeNull()
  // its CIDs print as CIDs of their bytes do, not as some other string they were parsed from
  expect(ref.cid.toString()).toBe(CID.decode(ref.cid.bytes).toString())
  if (isCommitID(ref)) expect(ref.commit.toString()).toBe(CID.decode(ref.commit.bytes).toString())
  // it prints and encodes back to itself
  expect(parseDocOrCommitID(ref.toString()).equals(ref)).toBe(true)
  expect(parseDocOrCommitID(ref.bytes).equals(ref)).toBe(true)
  expect(parseDocOrCommitID(ref.toString()).toString()).toBe(ref.toString())
  expect(base36.decode(ref.toString())).toEqual(ref.bytes)
  if (isDocID(ref)) {
    expect(isCommitID(ref)).toBe(false)
    expect((parsed.doc as DocID).equals(ref)).toBe(true)
    expect(parsed.commit).toBeInstanceOf(Error)
    expect(DocID.fromBytes(ref.bytes).equals(ref)).toBe(true)
  } else {
    expect((parsed.commit as CommitID).equals(ref)).toBe(true)
    expect(parsed.doc).toBeInstanceOf(Error)
    expect(ref.isGenesis).toBe(ref.commit.equals(ref.cid))
    expect(ref.baseID.equals(new DocID(ref.type, ref.cid))).toBe(true)
    // the genesis commit is written 0x00, any other as its CID after the DocID's bytes
    const tail = ref.bytes.subarray(ref.baseID.bytes.length)
    expect(tail).toEqual(ref.isGenesis ? new Uint8Array([0]) : ref.commit.bytes)
    expect(CommitID.fromBytes(ref.bytes).equals(ref)).toBe(true)
  }
  return ref
}

describe('DocID and CommitID parsers under fuzzing', () => {
  fuzzTest({
    name: 'docid.string',
    inputs: fuzzInputs(idString, mutatedString, fc.oneof(fc.string({ maxLength: 200 }), base36Text)),
    run: (text) => parseAll(() => parseDocOrCommitID(text), () => DocID.fromString(text), () => CommitID.fromString(text)),
    errors: ['InvalidDocIDError'],
    accepted: (text, parsed) => {
      const ref = checkId(parsed as Parsed)
      // a bare id and a URL are accepted only in their one canonical spelling
      if (!text.includes('?')) {
        const bare = text.replace(/^(ceramic:\/\/|\/ceramic\/)/, '')
        expect(bare).toBe(ref.toString())
      } else {
        expect(text.slice(0, text.indexOf('?')).replace(/^(ceramic:\/\/|\/ceramic\/)/, '')).toBe(ref.baseID.toString())
        // and the commit is 0 or one of the spellings of its CID
        const commit = text.slice(text.indexOf('?') + '?commit='.length)
        expect(isCommitID(ref) && (commit === '0' ? ref.isGenesis : spellings(ref.commit).includes(commit))).toBe(true)
      }
    }
  })

  fuzzTest({
    name: 'docid.bytes',
    inputs: fuzzInputs(id.map((ref) => ref.bytes), mutatedBytes, fc.oneof(fc.uint8Array({ maxLength: 120 }), fc.uint8Array({ maxLength: 120 }).map((b) => Uint8Array.from([0xce, ...b])))),
    run: (bytes) => parseAll(() => parseDocOrCommitID(bytes), () => DocID.fromBytes(bytes), () => CommitID.fromBytes(bytes)),
    errors: ['InvalidDocIDError'],
    accepted: (bytes, parsed) => {
      const ref = checkId(parsed as Parsed)
      // accepted bytes are the id's own bytes; the one other spelling is a commit CID equal to the genesis CID
      if (isCommitID(ref) && ref.isGenesis && bytes.length !== ref.bytes.length) {
        expect(bytes).toEqual(Uint8Array.from([...ref.baseID.bytes, ...ref.cid.bytes]))
      } else {
        expect(bytes).toEqual(ref.bytes)
      }
    }
  })

  // The constructors parse CID strings and commit arguments given by callers (e.g. from a request's fields).
  const cidString = cid.chain((c) => fc.constantFrom(c.toString(), c.version === 0 ? c.toString() : c.toString(base58btc)))
  fuzzTest({
    name: 'docid.constructor',
    inputs: fc.tuple(
      fc.oneof(type, fc.constantFrom('tile', 'caip10-link', 'schema', 'nope', -1, 1.5, NaN, 2 ** 53)),
      fuzzInputs(cidString, mutatedString, fc.string({ maxLength: 80 })),
      fc.oneof(fc.constant(0), fc.constant(null), fc.constant('0'), fuzzInputs(cidString, mutatedString, fc.string({ maxLength: 80 })))
    ),
    run: ([t, genesis, commit]) => new CommitID(t as number, genesis, commit as string),
    errors: ['InvalidDocIDError', 'UnknownDoctypeError'],
    accepted: ([, genesis, commit], result) => {
      const ref = result as CommitID
      expect(spellings(ref.cid)).toContain(genesis)
      if (commit === 0 || commit === null || commit === '0' || commit === genesis) expect(ref.isGenesis).toBe(true)
      else expect(spellings(ref.commit)).toContain(commit)
      checkId({ any: ref, doc: new Error('not a DocID'), commit: ref })
    }
  })
})

/** Asserts that `parse` refuses with an `InvalidDocIDError` that names `value`. */
function refuses (parse: () => unknown, value: string): void {
  let thrown: unknown
  try {
    parse()
  } catch (err) {
    thrown = err
  }
  expect(thrown).toMatchObject({ name: 'InvalidDocIDError', details: { value } })
  expect((thrown as Error).message).toContain(JSON.stringify(value))
}

describe('inputs the DocID fuzzers found', () => {
  it('refuses a base36 id holding a character above U+00FF, which the base36 decoder read as a digit', () => {
    const text = 'kzdxps4zu7vn8vvxxe76dowzdd5fe\udc00nnbe9xz4hx9sog3kh9etzug57ozs58lfd2uu73u5tsnrsuqhcgoaagqfn3g57u1ytlxm7bubezxv9upik0fnmdc'
    refuses(() => parseDocOrCommitID(text), text)
    refuses(() => DocID.fromString(text), text)
    refuses(() => CommitID.fromString(text), text)
  })

  it('refuses a base58btc genesis CID holding a character above U+00FF, which the base58 decoder read as a digit', () => {
    const genesis = 'zdpuAkRSUvViiQekop72wNirH9DVVm7CfFjj\udc00fAbYR4xFUgrs'
    refuses(() => new CommitID(0, genesis, 0), genesis)
    refuses(() => new DocID(0, genesis), genesis)
  })

  // found while fixing the two above, by reading multiformats' decoders
  it('refuses a ?commit= CID written with base32 padding, which multiformats skipped and then printed back', () => {
    const doc = 'kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s'
    const text = `/ceramic/${doc}?commit=bagjqcgzaday6dzalvmy5ady2m5a5legq5zrbsnlxfc2bfxej532ds7htpova==`
    refuses(() => CommitID.fromString(text), text)
    refuses(() => parseDocOrCommitID(text), text)
  })
})
