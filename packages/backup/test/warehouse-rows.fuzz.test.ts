import { rebuildWarehouseDocument, type DocumentRow, type EntryRow } from '@kiln/backup'
import { encodeRecord, signRecord, verifyBlock } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import { fc, fuzzInputs, fuzzTest, mutatedJson } from '@kiln/interface-tests/fuzz'
import { keyDidSigner } from '@kiln/signing'
import { expect } from 'vitest'

// The reader of a document's warehouse rows, fuzzed: rows a restore reads from a database anyone with write access may
// have changed. What it accepts must be whole (every position, ending at the tip) with every block hashing to its CID;
// everything else is a TamperedWarehouseRowError.

const signer = keyDidSigner({ seed: new Uint8Array(32).fill(0x66) })
const genesis = await signRecord({ header: { controllers: [signer.did] }, data: { name: 'fuzz' } }, signer)
const update = await signRecord({ id: genesis.envelope.cid, prev: genesis.envelope.cid, header: {}, data: [{ op: 'add', path: '/n', value: 1 }] }, signer)
const proof = await encodeRecord({ chainId: 'inmemory:12345', root: update.envelope.cid, txHash: update.envelope.cid, txType: 'mock' })
const anchor = await encodeRecord({ id: genesis.envelope.cid, prev: update.envelope.cid, proof: proof.cid, path: '' })
const docId = new DocID('tile', genesis.envelope.cid).toString()

/** The rows of a document as JSON (block bytes as hex), so that the JSON mutators can change any field. */
interface RowsJson { row: DocumentRow, entries: EntryRow[], blocks: Record<string, string> }

const valid: RowsJson = {
  row: { doc_id: docId, doctype: 0, tip: anchor.cid.toString(), log_length: 3, schema_id: null },
  entries: [
    { doc_id: docId, seq: 0, cid: genesis.envelope.cid.toString(), entry_type: 'GENESIS', blocks: [genesis.envelope.cid.toString(), genesis.payload.cid.toString()] },
    { doc_id: docId, seq: 1, cid: update.envelope.cid.toString(), entry_type: 'SIGNED', blocks: [update.envelope.cid.toString(), update.payload.cid.toString()] },
    { doc_id: docId, seq: 2, cid: anchor.cid.toString(), entry_type: 'ANCHOR', blocks: [anchor.cid.toString(), proof.cid.toString()] }
  ],
  blocks: Object.fromEntries([genesis.envelope, genesis.payload, update.envelope, update.payload, anchor, proof].map((b) => [b.cid.toString(), Buffer.from(b.bytes).toString('hex')]))
}

/** A prefix of the valid log (a document at an earlier tip), still valid. */
const validRows: fc.Arbitrary<unknown> = fc.integer({ min: 1, max: 3 }).map((n) => ({
  ...valid,
  row: { ...valid.row, tip: valid.entries[n - 1]!.cid, log_length: n },
  entries: valid.entries.slice(0, n)
}))

/** Feeds the JSON form: hex text becomes bytes, anything else in `blocks` is a block the warehouse lacks. */
async function feed (input: unknown): Promise<unknown> {
  const value = (input ?? {}) as Partial<RowsJson>
  const blocks = new Map<string, Uint8Array>()
  if (typeof value.blocks === 'object' && value.blocks !== null) {
    for (const [cid, hex] of Object.entries(value.blocks)) if (typeof hex === 'string') blocks.set(cid, new Uint8Array(Buffer.from(hex, 'hex')))
  }
  const row = (typeof value.row === 'object' && value.row !== null ? value.row : {}) as DocumentRow
  return await rebuildWarehouseDocument(row, (value.entries ?? []) as EntryRow[], blocks)
}

fuzzTest({
  name: 'warehouse rows of a document',
  inputs: fuzzInputs(validRows, mutatedJson, fc.jsonValue({ maxDepth: 3 })),
  run: feed,
  accepted: async (input, result) => {
    const { row } = input as RowsJson
    const doc = result as Awaited<ReturnType<typeof rebuildWarehouseDocument>>
    expect(doc.log).toHaveLength(row.log_length)
    expect(doc.log.at(-1)!.toString()).toBe(row.tip)
    for (const block of doc.blocks) await verifyBlock(block.cid, block.bytes)
    for (const cid of doc.log) expect(doc.blocks.some((b) => b.cid.equals(cid))).toBe(true)
  },
  errors: ['TamperedWarehouseRowError'],
  runs: 3_000
})
