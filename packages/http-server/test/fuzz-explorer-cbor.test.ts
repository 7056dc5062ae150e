import { decodeRecord, encodeRecord } from '@kiln/codec'
import { CodecError } from '@kiln/interface'
import { fc, fuzzInputs, fuzzSeed, fuzzTest, mutatedBytes, mutatedString } from '@kiln/interface-tests/fuzz'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { decodeCbor, isCidLink } from '../dist/explorer/cbor.js'
import { cidFromString, cidToString, parseCid } from '../dist/explorer/cid.js'

// The explorer page's own decoders, run here as the browser runs them, under seeded inputs: its DAG-CBOR decoder
// (explorer/src/cbor.ts) never throws, and whatever it accepts that @kiln/codec's strict decoder also accepts, it reads
// as the same value; its CID strings (explorer/src/cid.ts) read as multiformats reads them.

/** A value in a form both decoders' results compare in: CIDs as their string, integers as decimal text. */
function normal (value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) return `int:${value}`
  if (typeof value === 'bigint') return `int:${value.toString()}`
  if (value instanceof Uint8Array) return { bytes: [...value] }
  const cid = CID.asCID(value)
  if (cid !== null) return { cid: cid.toString() }
  if (isCidLink(value)) return { cid: CID.decode(value.cid).toString() }
  if (Array.isArray(value)) return value.map(normal)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normal(v)]))
  return value
}

const CIDS = await Promise.all([1, 2, 3, 4].map(async (n) => CID.create(1, 0x71, await sha256.digest(new Uint8Array([n])))))

const values: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null), fc.boolean(), fc.integer(), fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
    fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 }), fc.constantFrom(...CIDS),
    fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 })
  )
})).value

/** Merkle nodes as @kiln/anchor-merkle builds them, proofs, and any value: what a valid block may hold. */
const shapes: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(fc.constantFrom(...CIDS), fc.option(fc.constantFrom(...CIDS))).map(([l, r]) => [l, r]),
  fc.tuple(fc.constantFrom(...CIDS), fc.option(fc.constantFrom(...CIDS)), values).map(([l, r, m]) => [l, r, m]),
  fc.record({ chainId: fc.constant('eip155:1'), root: fc.constantFrom(...CIDS), txHash: fc.constantFrom(...CIDS), txType: fc.constant('f(bytes32)') }),
  values
)

/** Valid DAG-CBOR blocks, encoded by @kiln/codec (some values it refuses, such as -0 or floats that are integers). */
const POOL: Uint8Array[] = []
for (const value of fc.sample(shapes, { numRuns: 300, seed: fuzzSeed('explorer.cbor.pool') })) {
  try { POOL.push((await encodeRecord(value)).bytes.slice()) } catch { /* not encodable: not a valid block */ }
}

describe('the explorer page\'s DAG-CBOR decoder', () => {
  it('reads every valid block as @kiln/codec does', async () => {
    expect(POOL.length).toBeGreaterThan(200)
    for (const bytes of POOL) {
      const ours = decodeCbor(bytes)
      expect(ours.ok).toBe(true)
      expect(normal(ours.ok ? ours.value : undefined)).toEqual(normal(await decodeRecord(bytes)))
    }
  })

  fuzzTest<Uint8Array>({
    name: 'explorer.cbor.decode',
    inputs: fuzzInputs(fc.constantFrom(...POOL), mutatedBytes, fc.uint8Array({ maxLength: 64 })),
    run: (bytes) => {
      // It answers, never throws: a refusal is its reason, turned into the named error the harness counts.
      const decoded = decodeCbor(bytes)
      if (!decoded.ok) throw new CodecError(decoded.reason)
      return decoded.value
    },
    errors: ['CodecError'],
    accepted: async (bytes, value) => {
      let strict: unknown
      try { strict = await decodeRecord(bytes) } catch { return } // the page is laxer (key order, minimal lengths): the hash is what it trusts
      expect(normal(value)).toEqual(normal(strict))
    }
  })
})

describe('the explorer page\'s CID strings', () => {
  const valid = [...CIDS.map((cid) => cid.toString()), 'bagcqcerahchozkrohmvfbn3w7bmwfmr4wkja3jrftx7cmtiyu24ubwfas6sa', 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku']
  fuzzTest<string>({
    name: 'explorer.cid.parse',
    inputs: fuzzInputs(fc.constantFrom(...valid), mutatedString, fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^b[a-z2-7]{0,70}$/))),
    run: (text) => {
      const bytes = cidFromString(text)
      if (bytes === undefined) throw new CodecError(`not base32: ${text}`)
      const parts = parseCid(bytes)
      if ('reason' in parts) throw new CodecError(parts.reason)
      return { bytes, parts }
    },
    errors: ['CodecError'],
    accepted: (text, result) => {
      // What it accepts is a CIDv1 whose digest multiformats reads the same from the same bytes.
      const { bytes, parts } = result as { bytes: Uint8Array, parts: { digest: Uint8Array, codec: number } }
      const cid = CID.decode(bytes)
      expect(cid.version).toBe(1)
      expect(cid.code).toBe(parts.codec)
      expect([...cid.multihash.digest]).toEqual([...parts.digest])
      // and it writes those bytes back as the canonical string
      expect(cidToString(bytes)).toBe(cid.toString())
      if (text === cid.toString()) expect(cidFromString(cidToString(bytes))).toEqual(bytes)
    }
  })
})
