import { ARCHIVE_FORMAT, archiveFileOf, decodeArchiveManifest, type ArchiveManifest } from '@kiln/backup'
import { encodeRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { fc, fuzzInputs, fuzzTest, mutatedJson, mutatedString } from '@kiln/interface-tests/fuzz'
import { describe, expect, it } from 'vitest'

// The archive manifest decoder, fuzzed: what it accepts must be a manifest that encodes back to the same documents,
// and everything else is refused with InvalidArchiveError naming the field.

const tips = await Promise.all([0, 1, 2, 3].map(async (i) => (await encodeRecord({ i })).cid.toString()))
const docIds = await Promise.all([0, 1, 2].map(async (i) => new DocID('tile', (await encodeRecord({ doc: i })).cid).toString()))

/** A valid manifest of some of the documents above. */
const validManifest: fc.Arbitrary<ArchiveManifest> = fc.uniqueArray(fc.constantFrom(...docIds), { maxLength: 3 }).chain((ids) =>
  fc.tuple(...ids.map((docId) => fc.record({ tip: fc.constantFrom(...tips), logLength: fc.integer({ min: 1, max: 1_000_000 }) }).map(({ tip, logLength }) =>
    [docId, { tip, logLength, file: archiveFileOf(docId, tip), archivedAt: '2026-01-02T03:04:05.000Z' }] as const)))
    .map((entries) => ({ format: ARCHIVE_FORMAT, documents: Object.fromEntries(entries) })))

fuzzTest({
  name: 'archive manifest (JSON text)',
  inputs: fuzzInputs(validManifest.map((m) => JSON.stringify(m)), mutatedString, fc.string({ maxLength: 300 })),
  run: (text) => decodeArchiveManifest(text),
  accepted: (text, result) => { expect(result).toEqual(JSON.parse(text)) },
  errors: ['InvalidArchiveError']
})

fuzzTest({
  name: 'archive manifest (JSON value)',
  inputs: fuzzInputs<unknown>(validManifest, mutatedJson, fc.jsonValue({ maxDepth: 3 })),
  run: (value) => decodeArchiveManifest(JSON.stringify(value)),
  accepted: (value, result) => { expect(result).toEqual(value) },
  errors: ['InvalidArchiveError']
})

describe('the archive manifest decoder', () => {
  const good = { format: ARCHIVE_FORMAT, documents: { [docIds[0]!]: { tip: tips[0]!, logLength: 2, file: archiveFileOf(docIds[0]!, tips[0]!), archivedAt: '2026-01-02T03:04:05.000Z' } } }

  it('reads a manifest it wrote', () => {
    expect(decodeArchiveManifest(JSON.stringify(good))).toEqual(good)
  })

  it.each([
    ['a file outside the archive', { file: '../../etc/passwd' }, 'is not cars/'],
    ['a tip that is not a CID', { tip: 'bafy-not-a-cid' }, 'is not a CID'],
    ['a log length of zero', { logLength: 0 }, 'is not a positive integer'],
    ['a date that is not one', { archivedAt: 'yesterday' }, 'is not a date']
  ])('refuses %s with InvalidArchiveError naming it', (_, change, message) => {
    const bad = { ...good, documents: { [docIds[0]!]: { ...good.documents[docIds[0]!]!, ...change } } }
    const err = (() => { try { decodeArchiveManifest(JSON.stringify(bad)) } catch (e) { return e as Error } })()
    expect(err?.name).toBe('InvalidArchiveError')
    expect(err?.message).toContain(message)
    expect(err?.message).toContain(docIds[0])
  })

  it('refuses another format and a key that is not a DocID', () => {
    expect(() => decodeArchiveManifest(JSON.stringify({ ...good, format: 'kiln-backup-archive/2' }))).toThrow(/format is "kiln-backup-archive\/2"/)
    expect(() => decodeArchiveManifest(JSON.stringify({ ...good, documents: { __proto__x: {} } }))).toThrow(/is not a DocID/)
  })
})
