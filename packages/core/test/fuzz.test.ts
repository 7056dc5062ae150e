import { decodeCar, decodeRecord, encodeCar, encodeRecord } from '@kiln/codec'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import type { DocID } from '@kiln/docid'
import type { Block, DocState, SignatureVerifier, Storage, VerifiedSignature } from '@kiln/interface'
import { fc, fuzzInputs, fuzzTest, mutatedBytes, mutatedJson } from '@kiln/interface-tests/fuzz'
import { CID } from 'multiformats/cid'
import { createVerifier, keyDidSigner } from '@kiln/signing'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { anchorOf, manualAnchor } from './fixtures/manual-anchor.js'
import { register, registerGenesis, registerUpdate, REGISTER_CODE } from './fixtures/register.js'

// Fuzz suite of the document import path (`importDocument`, POST /api/v0/kiln/import): CAR files exported by a real
// node, mutated. An import that is accepted gives the exported document's state; one that is refused writes nothing.

const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0x41) })

/**
 * A verifier that verifies each distinct (JWS, controllers) once and remembers the answer: the inputs of a suite
 * repeat the same few signed commits thousands of times, and verification is a function of what it is given.
 */
function memoizedVerifier (inner: SignatureVerifier): SignatureVerifier {
  const answers = new Map<string, Promise<VerifiedSignature>>()
  return {
    async verifyDagJWS (jws, options) {
      const key = JSON.stringify([jws.payload, jws.signatures, jws.link?.toString(), options?.controllers])
      let answer = answers.get(key)
      if (answer === undefined) answers.set(key, answer = inner.verifyDagJWS(jws, options))
      return await answer
    }
  }
}

/** A node that writes documents to export: one with an anchor between its updates, one without. */
async function exports (source: KilnNode, chain: ReturnType<typeof manualAnchor>): Promise<{ cars: Uint8Array[], states: Map<string, DocState> }> {
  const quiet = { anchor: false }
  const grow = async (id: DocID, state: DocState, values: number[], options: { anchor?: boolean } = quiet): Promise<DocState> => {
    for (const n of values) state = (await source.applyCommit(id, (await registerUpdate(alice, state, { n, list: [n, 'x'.repeat(n)] })).commit, options)).state
    return state
  }
  // A: genesis, an update, an update whose anchor lands, one more update
  const a = await source.createDocument(REGISTER_CODE, (await registerGenesis(alice, { n: 0 }, 'fuzz-a')).commit, quiet)
  await grow(a.id, await grow(a.id, a.state, [1]), [2], {})
  await vi.waitFor(() => { expect(chain.requests).toHaveLength(1) })
  const anchored = new Promise<void>((resolve) => { const off = source.onAnchorEvent(() => { off(); resolve() }) })
  chain.emit(await anchorOf(chain.requests[0]!))
  await anchored
  await grow(a.id, (await source.load(a.id)).state, [3])
  // B: genesis and an update
  const b = await source.createDocument(REGISTER_CODE, (await registerGenesis(alice, { b: true }, 'fuzz-b')).commit, quiet)
  await grow(b.id, b.state, [4])

  const states = new Map<string, DocState>()
  for (const id of [a.id, b.id]) states.set(id.toString(), (await source.load(id)).state)
  expect(states.get(a.id.toString())!.log.map((e) => e.type)).toEqual([0, 1, 1, 2, 1])
  return { cars: [await source.exportDocument(a.id), await source.exportDocument(b.id)], states }
}

const chain = manualAnchor()
const source = await createNode({ doctypes: [register()], storage: memoryStorage(), anchors: [chain.factory], verifier: createVerifier() })
const { cars, states } = await exports(source, chain)

// The node under test, shared by every input; a storage whose writes it counts.
const storage: Storage = memoryStorage()({})
const node: KilnNode = await createNode({ doctypes: [register()], storage: () => storage, anchors: [manualAnchor().factory], verifier: memoizedVerifier(createVerifier()) })
afterAll(async () => { await node.stop(); await source.stop() })

/** Imports `car`, reads back what was written, then forgets the document, so that the next input imports it from nothing. */
async function importAndForget (car: Uint8Array): Promise<{ id: DocID, state: DocState }> {
  const { id } = await node.importDocument(car)
  const { state } = await node.load(id)
  await node.unpin(id)
  await node.gc()
  return { id, state }
}

/** Counts what the node's storage writes: batches and bytes. */
function writes (): number {
  const stats = storage.writeStats()
  return stats.batches + stats.bytesWritten
}

// The parts of each export, for the structural suite: its manifest (CIDs as `{"/": "<cid>"}`, so that the JSON
// mutators can edit it) and its other blocks, as indexes into the blocks of every export (so that a failing input
// prints short).
interface Parts { manifest: unknown, blocks: number[] }

function toJSONForm (value: unknown): unknown {
  const cid = CID.asCID(value)
  if (cid !== null) return { '/': cid.toString() }
  if (Array.isArray(value)) return value.map(toJSONForm)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJSONForm(v)]))
  return value
}

function fromJSONForm (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJSONForm)
  if (value !== null && typeof value === 'object') {
    const link = (value as Record<string, unknown>)['/']
    if (Object.keys(value).length === 1 && typeof link === 'string') {
      try { return CID.parse(link) } catch { return value }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJSONForm(v)]))
  }
  return value
}

const allBlocks: Block[] = []
const parts: Parts[] = []
for (const car of cars) {
  const { roots, blocks } = await decodeCar(car)
  const manifest = blocks.find((b) => b.cid.equals(roots[0]!))!
  const others = blocks.filter((b) => b !== manifest)
  parts.push({ manifest: toJSONForm(await decodeRecord(manifest.bytes)), blocks: others.map((_, i) => allBlocks.length + i) })
  allBlocks.push(...others)
}

/** The CAR of `parts`: its manifest encoded as the root, then its blocks. */
async function carOf ({ manifest, blocks }: Parts): Promise<Uint8Array> {
  const root = await encodeRecord(fromJSONForm(manifest))
  return await encodeCar([root.cid], [root, ...blocks.map((i) => allBlocks[i]!)])
}

/**
 * An export with its manifest edited (mutatedJson, most often), its blocks edited (one dropped, one repeated, the
 * other export's added), or the other export's manifest over its blocks.
 */
const structures: fc.Arbitrary<Parts> = fc.constantFrom(...parts.keys()).chain((which) => {
  const valid = parts[which]!
  return fc.oneof(
    { weight: 6, arbitrary: mutatedJson(fc.constant(valid.manifest)).map((manifest) => ({ manifest, blocks: valid.blocks })) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.nat(), fc.constantFrom('drop', 'repeat', 'others')).map(([at, edit]) => {
        const blocks = [...valid.blocks]
        if (edit === 'drop') blocks.splice(at % blocks.length, 1)
        else if (edit === 'repeat') blocks.push(blocks[at % blocks.length]!)
        else blocks.push(...allBlocks.keys())
        return { manifest: valid.manifest, blocks }
      })
    },
    { weight: 1, arbitrary: fc.constant({ manifest: parts[1 - which]!.manifest, blocks: valid.blocks }) }
  )
})

/**
 * Inputs per import suite (`KILN_FUZZ_RUNS` overrides it): each input is a whole import, a dry run on a scratch node
 * then the node's own pipeline, so these run fewer than the harness's default 10,000 to keep `npm test` in its time.
 */
const IMPORT_FUZZ_RUNS = 3_000

describe('document import under fuzzing', () => {
  fuzzTest({
    name: 'core.import',
    runs: IMPORT_FUZZ_RUNS,
    inputs: fuzzInputs(fc.constantFrom(...cars), mutatedBytes, fc.uint8Array({ maxLength: 300 })),
    run: importAndForget,
    errors: ['CodecError', 'InvalidCommitError', 'InvalidDocIDError'],
    writes,
    // an accepted import is of an exported document, whose state it gives
    accepted: (_car, result) => {
      const { id, state } = result as { id: DocID, state: DocState }
      expect(states.has(id.toString())).toBe(true)
      expect(state).toEqual(states.get(id.toString()))
    }
  })
  // Exports whose manifest or block set is edited, so that decoding succeeds and the manifest and the commits it lists
  // are what is fuzzed. A manifest with a "__proto__" key is left out: encodeRecord refuses to write one (and
  // decodeRecord to read one), so no CAR holding it can be built here.
  const valid = fc.constantFrom(...parts)
  fuzzTest({
    name: 'core.import-structure',
    runs: IMPORT_FUZZ_RUNS,
    inputs: fc.oneof({ arbitrary: valid, weight: 1 }, { arbitrary: structures, weight: 9 })
      .filter((p) => !JSON.stringify(p.manifest ?? null).includes('"__proto__"')),
    run: async (input) => await importAndForget(await carOf(input)),
    writes,
    // an accepted import gives a state the source node had: the document's at the commit it ends on
    accepted: async (_parts, result) => {
      const { id, state } = result as { id: DocID, state: DocState }
      const tip = state.log[state.log.length - 1]!.cid
      expect((await source.load(id.atCommit(tip))).state).toEqual(state)
    }
  })
})

describe('inputs the import fuzzers found', () => {
  /** Imports `parts` into a node of its own; returns the error and whether the node's storage was written. */
  async function refusal (input: Parts): Promise<{ error: unknown, wrote: boolean, stored: string[] }> {
    const own = memoryStorage()({})
    const fresh = await createNode({ doctypes: [register()], storage: () => own, anchors: [manualAnchor().factory], verifier: createVerifier() })
    try {
      const before = JSON.stringify(own.writeStats())
      const error = await fresh.importDocument(await carOf(input)).then(() => undefined, (err: unknown) => err)
      const stored: string[] = []
      for await (const key of own.listDocuments()) stored.push(key)
      return { error, wrote: JSON.stringify(own.writeStats()) !== before, stored }
    } finally {
      await fresh.stop()
    }
  }

  const log = ['bagcqceraiizw64ttqffv7x2wvtmnysvcjuzmrm7y4l6yca7nvcyxalbx2yqa', 'bagcqceraif6z4plwfhkomk5se3m7ut646644z6pfkkqpc6nyxbaqactxohoq', 'bagcqceramspzatzvqwcmyvy4rae4alvar2gjkpzonikdd3pla26kphrmiefq', 'bafyreiciqw7vhrbt5mahdznaoo3fq334wfuflx33on56x2d6j2e5iqlak4', 'bagcqcera45g5yxdryqt6jdxwhyj2wxt7bbe3clwhyjeizwvlnc37wvkp2nna'].map((cid) => ({ '/': cid }))
  const supporting = ['bafyreicrbtcoc3gd5mlyu6hawjdwgvqk2soaggr4ycz6obm2dpx42g4mua', 'bagcqceramspzatzvqwcmyvy4rae4alvar2gjkpzonikdd3pla26kphrmiefq', 'bafyreibolqadwvsdihqskvwtpxuwe6hdvxcgk2x4dtqz5iq4vvgj6k74bq'].map((cid) => ({ '/': cid }))
  const entry = { log, type: 4242, docId: 'k3y54kzq9gsct7cf796qpxhwfp9fumn6rzbw3f0ktqsbkn034zp4l8al4zhc30mqo' }
  const blocks = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

  it('refuses an export whose manifest lists an anchor\'s blocks as a map, with InvalidCommitError instead of a TypeError', async () => {
    const anchors = { bafyreiciqw7vhrbt5mahdznaoo3fq334wfuflx33on56x2d6j2e5iqlak4: { '/': supporting } }
    const { error, wrote } = await refusal({ manifest: { format: 'kiln-document-export/1', documents: [{ ...entry, anchors }] }, blocks })
    expect(error).toMatchObject({ name: 'InvalidCommitError' })
    expect((error as Error).message).toMatch(/anchor commit bafyreiciqw7vhrbt5mahdznaoo3fq334wfuflx33on56x2d6j2e5iqlak4 .* as something other than CIDs/)
    expect(wrote).toBe(false)
  })

  it('refuses an export whose anchor commit cannot be verified before writing the commits ahead of it', async () => {
    // the anchor's blocks moved under a "constructor" key: the genesis and updates before the anchor were written, then the anchor refused
    const anchors = { constructor: { bafyreiciqw7vhrbt5mahdznaoo3fq334wfuflx33on56x2d6j2e5iqlak4: supporting } }
    const { error, wrote, stored } = await refusal({ manifest: { format: 'kiln-document-export/1', documents: [{ ...entry, anchors }] }, blocks })
    expect(error).toMatchObject({ name: 'BlockNotFoundError', details: { commit: 'bafyreiciqw7vhrbt5mahdznaoo3fq334wfuflx33on56x2d6j2e5iqlak4' } })
    expect(wrote).toBe(false)
    expect(stored).toEqual([])
  })

  // found with them, by reading readDocumentCar: a manifest naming another document than its log's genesis
  it('refuses an export whose log does not start with the genesis its DocID names', async () => {
    const anchors = { bafyreiciqw7vhrbt5mahdznaoo3fq334wfuflx33on56x2d6j2e5iqlak4: supporting }
    const other = (parts[1]!.manifest as { documents: Array<{ docId: string }> }).documents[0]!.docId
    const { error, wrote } = await refusal({ manifest: { format: 'kiln-document-export/1', documents: [{ ...entry, docId: other, anchors }] }, blocks })
    expect(error).toMatchObject({ name: 'InvalidCommitError' })
    expect((error as Error).message).toMatch(/must start with its genesis/)
    expect(wrote).toBe(false)
  })
})
