import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { CID } from 'multiformats/cid'
import { base64url } from 'multiformats/bases/base64'
import { decodeRecord, encodeRecord, isSignedCommit, openSignedCommit, type SignedBlocks } from '@kiln/codec'
import { AnchorStatus, DocumentNotFoundError, LogEntryType, SignatureStatus, isKilnError } from '@kiln/interface'
import type { DocState, DoctypeContext, DoctypeHandler, DoctypeResult, SignedCommit, VerifiedCommit } from '@kiln/interface'

/** A commit the doctype must refuse, the reason (shown when the test fails) and the error name it must refuse it with. */
export interface InvalidCommitCase {
  why: string
  commit: VerifiedCommit
  /** The `err.name` expected, e.g. `'DoctypeRuleError'`. */
  error: string
}

/** What the doctype suite's `setup` returns: the handler under test and builders of the commits it should see. */
export interface DoctypeTestSetup<Content = unknown> {
  /** The handler, built as a node builds it: `factory({})`. */
  handler: DoctypeHandler<Content>
  /** The context `apply` gets. Default: one whose `loadDocument` rejects with `DocumentNotFoundError`. */
  context?: DoctypeContext
  /** A valid genesis, as the core hands it to `apply` (see {@link verifiedCommit}). */
  genesis(): Promise<VerifiedCommit>
  /** A valid update of `state` (the state after `genesis()`), signed as `signers(state, …)` requires. */
  update(state: DocState<Content>): Promise<VerifiedCommit>
  /** Doctype-specific geneses that `apply(null, …)` must reject, each with its error name. */
  invalidGeneses?(): Promise<InvalidCommitCase[]>
  /** Doctype-specific updates of `state` that `apply` must reject, each with its error name. */
  invalidUpdates?(state: DocState<Content>): Promise<InvalidCommitCase[]>
  /** A genesis signed by a DID that is not one of its controllers. Leave out for doctypes whose genesis is unsigned. */
  foreignGenesis?(): Promise<VerifiedCommit>
  /** An update of `state` signed by a DID that is not a controller. Leave out for doctypes whose updates are unsigned. */
  foreignUpdate?(state: DocState<Content>): Promise<VerifiedCommit>
}

/** Options of {@link doctypeTests}. `setup` runs before every test. */
export interface DoctypeTestOptions<Content = unknown> {
  setup(): DoctypeTestSetup<Content> | Promise<DoctypeTestSetup<Content>>
  teardown?(setup: DoctypeTestSetup<Content>): void | Promise<void>
  /**
   * Set when `apply` itself rejects a commit whose signer `signers()` does not name (`UnauthorizedSignerError`), as
   * tile and schema do; the core checks this before `apply` in any case.
   */
  checksSignerInApply?: boolean
  /**
   * Set when `apply` may put objects of its input (say, the unchanged metadata) into its result. The contract allows
   * it, since states are never mutated; without it the suite also checks that the result shares no object or array
   * with the input state or payload, so a caller may change the result freely.
   */
  mayShareInput?: boolean
}

/** Ceramic's names for the codes it took: a doctype with one of these codes must carry the name (Ceramic's clients need it). */
const CERAMIC_NAMES: ReadonlyMap<number, string> = new Map([[0, 'tile'], [1, 'caip10-link'], [2, 'model'], [3, 'MID'], [4, 'UNLOADABLE']])

/** The errors a malformed commit may be refused with: a bad shape, or a broken rule. */
const MALFORMED = ['InvalidCommitError', 'DoctypeRuleError']

/**
 * Defines the compliance tests every `DoctypeHandler` must pass: name and code, genesis rules, update rules, signer
 * rules and purity (deep-frozen inputs are never changed, and equal inputs give equal results).
 */
export function doctypeTests<Content = unknown> (options: DoctypeTestOptions<Content>): void {
  describe('DoctypeHandler compliance', () => {
    let setup: DoctypeTestSetup<Content>
    let handler: DoctypeHandler<Content>
    let ctx: DoctypeContext

    beforeEach(async () => {
      setup = await options.setup()
      handler = setup.handler
      ctx = setup.context ?? noDocumentsContext
    })

    afterEach(async () => {
      await options.teardown?.(setup)
    })

    /** Applies `setup.genesis()` and builds the state the core would. */
    async function created (): Promise<{ genesis: VerifiedCommit, state: DocState<Content> }> {
      const genesis = await setup.genesis()
      return { genesis, state: genesisState(handler.code, await handler.apply(null, genesis, ctx), genesis) }
    }

    describe('identity', () => {
      it('has a non-empty name and a non-negative integer code, with Ceramic\'s name for codes 0–4', () => {
        expect(typeof handler.name).toBe('string')
        expect(handler.name.length).toBeGreaterThan(0)
        expect(Number.isSafeInteger(handler.code) && handler.code >= 0, `code ${handler.code}`).toBe(true)
        const ceramic = CERAMIC_NAMES.get(handler.code)
        if (ceramic !== undefined) expect(handler.name).toBe(ceramic)
      })
    })

    describe('genesis', () => {
      it('applies a valid genesis, giving content and metadata with a non-empty list of controllers', async () => {
        const genesis = await setup.genesis()
        expect(genesis.kind).toBe('genesis')
        const result = await handler.apply(null, genesis, ctx)
        expect(result.content).not.toBeUndefined()
        expectControllers(result)
      })

      it('gives equal results for the same genesis applied twice', async () => {
        const genesis = await setup.genesis()
        expect(snapshot(await handler.apply(null, genesis, ctx))).toEqual(snapshot(await handler.apply(null, genesis, ctx)))
      })

      it('rejects geneses without a well-formed header with a named error, from signers() and from apply()', async () => {
        const { cid, signer } = await setup.genesis()
        for (const payload of malformedGeneses()) {
          const why = JSON.stringify(payload)
          expectSignersOrNamedError(() => handler.signers(null, payload), why)
          const commit: VerifiedCommit = signer === undefined ? { cid, kind: 'genesis', payload } : { cid, kind: 'genesis', payload, signer }
          await expectOneOf(handler.apply(null, commit, ctx), MALFORMED, `genesis ${why}`)
        }
      })

      it('rejects an update record applied as the first commit of a document, with a named error', async () => {
        const { state } = await created()
        const update = await setup.update(state)
        await expectOneOf(handler.apply(null, { ...update, kind: 'genesis' }, ctx), MALFORMED, 'an update as genesis')
      })

      it('rejects each doctype-specific invalid genesis with the error it names', async () => {
        for (const { why, commit, error } of await setup.invalidGeneses?.() ?? []) {
          await expectOneOf(handler.apply(null, commit, ctx), [error], why)
        }
      })
    })

    describe('updates', () => {
      it('applies a valid update to the state after the genesis', async () => {
        const { state } = await created()
        const update = await setup.update(state)
        expect(update.kind).toBe('update')
        const result = await handler.apply(state, update, ctx)
        expect(result.content).not.toBeUndefined()
        expectControllers(result)
      })

      it('gives equal results for the same update applied twice', async () => {
        const { state } = await created()
        const update = await setup.update(state)
        expect(snapshot(await handler.apply(state, update, ctx))).toEqual(snapshot(await handler.apply(state, update, ctx)))
      })

      it('rejects each doctype-specific invalid update with the error it names, leaving the state unchanged', async () => {
        const { state } = await created()
        const frozen = deepFreeze(copyState(state))
        const before = snapshot(frozen)
        for (const { why, commit, error } of await setup.invalidUpdates?.(state) ?? []) {
          await expectOneOf(handler.apply(frozen, commit, ctx), [error], why)
          expect(snapshot(frozen), why).toEqual(before)
        }
      })
    })

    describe('signers', () => {
      it('names the genesis signer among the DIDs that must sign it, or no one when the genesis is unsigned', async () => {
        const genesis = await setup.genesis()
        expectSigners(handler.signers(null, genesis.payload), genesis)
      })

      it('names the update signer among the DIDs that must sign it, or no one when the update is unsigned', async () => {
        const { state } = await created()
        const update = await setup.update(state)
        expectSigners(handler.signers(state, update.payload), update)
      })

      // Skipped for doctypes whose apply() trusts the core's signer check (checksSignerInApply not set): nothing to test.
      it.skipIf(options.checksSignerInApply !== true)('rejects the valid genesis and update when apply is told another signer (checksSignerInApply)', async () => {
        const { genesis, state } = await created()
        const update = await setup.update(state)
        const impostor = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK'
        if (genesis.signer !== undefined) await expectOneOf(handler.apply(null, { ...genesis, signer: impostor }, ctx), ['UnauthorizedSignerError'], 'genesis')
        if (update.signer !== undefined) await expectOneOf(handler.apply(state, { ...update, signer: impostor }, ctx), ['UnauthorizedSignerError'], 'update')
      })

      it('does not name the signer of a genesis signed by a non-controller (skipped without foreignGenesis)', async (test) => {
        // A doctype whose genesis is unsigned by design (account-link) has no foreign signer to offer.
        if (setup.foreignGenesis === undefined) return test.skip('setup gives no foreignGenesis: the doctype has no signed genesis')
        const foreign = await setup.foreignGenesis()
        expect(foreign.signer, 'foreignGenesis() must return a signed commit').toBeTypeOf('string')
        expectNotNamed(() => handler.signers(null, foreign.payload), foreign.signer)
        if (options.checksSignerInApply === true) await expectOneOf(handler.apply(null, foreign, ctx), ['UnauthorizedSignerError', ...MALFORMED], 'foreign genesis')
      })

      it('does not name the signer of an update signed by a non-controller (skipped without foreignUpdate)', async (test) => {
        // A doctype whose updates prove themselves unsigned (account-link) has no foreign signer to offer.
        if (setup.foreignUpdate === undefined) return test.skip('setup gives no foreignUpdate: the doctype has no signed updates')
        const { state } = await created()
        const foreign = await setup.foreignUpdate(state)
        expect(foreign.signer, 'foreignUpdate() must return a signed commit').toBeTypeOf('string')
        expectNotNamed(() => handler.signers(state, foreign.payload), foreign.signer)
        if (options.checksSignerInApply === true) await expectOneOf(handler.apply(state, foreign, ctx), ['UnauthorizedSignerError'], 'foreign update')
      })
    })

    describe('purity', () => {
      it('applies a deep-frozen genesis payload and leaves it unchanged', async () => {
        const genesis = await setup.genesis()
        const payload = deepFreeze(genesis.payload)
        const before = snapshot(payload)
        handler.signers(null, payload)
        const result = await handler.apply(null, { ...genesis, payload }, ctx)
        expect(snapshot(payload)).toEqual(before)
        if (options.mayShareInput !== true) expectNothingShared(result, [payload])
      })

      it('applies an update to a deep-frozen state and payload and leaves both unchanged', async () => {
        const { state } = await created()
        const update = await setup.update(state)
        const frozen = deepFreeze(copyState(state))
        const payload = deepFreeze(update.payload)
        const before = snapshot([frozen, payload])
        handler.signers(frozen, payload)
        const result = await handler.apply(frozen, { ...update, payload }, ctx)
        expect(snapshot([frozen, payload])).toEqual(before)
        expect(result).not.toBe(frozen)
        expect(snapshot(result)).toEqual(snapshot(await handler.apply(state, update, ctx)))
        if (options.mayShareInput !== true) expectNothingShared(result, [frozen, payload])
      })

      it('leaves a deep-frozen state unchanged when an update is rejected (skipped without invalidUpdates)', async (test) => {
        const { state } = await created()
        const [rejected] = await setup.invalidUpdates?.(state) ?? []
        // Only a doctype that can refuse an update has a rejection to check purity on.
        if (rejected === undefined) return test.skip('setup gives no invalidUpdates: nothing to reject')
        const frozen = deepFreeze(copyState(state))
        const payload = deepFreeze(rejected.commit.payload)
        const before = snapshot([frozen, payload])
        await expectOneOf(handler.apply(frozen, { ...rejected.commit, payload }, ctx), [rejected.error], rejected.why)
        expect(snapshot([frozen, payload])).toEqual(before)
      })
    })
  })
}

/** A context for doctypes that read no other document: every `loadDocument` rejects with `DocumentNotFoundError`. */
export const noDocumentsContext: DoctypeContext = {
  async loadDocument (commitId) {
    throw new DocumentNotFoundError(`This test context has no documents: asked for ${commitId}`, { details: { commitId } })
  }
}

/**
 * The commit as the core hands it to `apply`: the CID (the envelope's for a signed commit), the decoded record, and
 * the signer's DID from the JWS `kid`. Takes `signRecord`'s output, a signed commit, or an unsigned record.
 */
export async function verifiedCommit (commit: SignedBlocks | SignedCommit | object, kind: VerifiedCommit['kind']): Promise<VerifiedCommit> {
  const signed = isSignedBlocks(commit) ? commit.commit : isSignedCommit(commit) ? commit : undefined
  if (signed === undefined) {
    const block = await encodeRecord(commit)
    return { cid: block.cid, kind, payload: await decodeRecord(block.bytes, block.cid) }
  }
  const opened = await openSignedCommit(signed)
  return { cid: opened.envelope.cid, kind, payload: opened.record, signer: signerOf(signed) }
}

/** The state the core builds from a genesis result: one log entry, not anchored. */
export function genesisState<Content> (type: number, result: DoctypeResult<Content>, genesis: VerifiedCommit): DocState<Content> {
  return {
    type,
    content: result.content,
    metadata: result.metadata,
    signature: genesis.signer === undefined ? SignatureStatus.GENESIS : SignatureStatus.SIGNED,
    anchorStatus: AnchorStatus.NOT_REQUESTED,
    log: [{ cid: genesis.cid, type: LogEntryType.GENESIS }]
  }
}

/** The state the core builds from an update result: one more log entry. */
export function nextState<Content> (state: DocState<Content>, result: DoctypeResult<Content>, update: VerifiedCommit): DocState<Content> {
  return { ...state, content: result.content, metadata: result.metadata, signature: SignatureStatus.SIGNED, log: [...state.log, { cid: update.cid, type: LogEntryType.SIGNED }] }
}

/** Freezes a value and every object and array in it; typed arrays (which cannot be frozen) and CIDs are left alone. */
export function deepFreeze<T> (value: T): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || CID.asCID(value) !== null || Object.isFrozen(value)) return value
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key])
  return Object.freeze(value)
}

function isSignedBlocks (value: unknown): value is SignedBlocks {
  return typeof value === 'object' && value !== null && 'envelope' in value && 'commit' in value && isSignedCommit(value.commit)
}

/** The DID of a JWS's first signature: its `kid` up to the `#`. */
function signerOf (commit: SignedCommit): string {
  const header = JSON.parse(new TextDecoder().decode(base64url.baseDecode(commit.jws.signatures[0]?.protected ?? ''))) as { kid?: unknown }
  if (typeof header.kid !== 'string') throw new TypeError('the JWS protected header has no kid')
  return header.kid.split('#')[0] ?? ''
}

/** Genesis payloads that reach a doctype (maps without `prev`) but have no well-formed `header.controllers`. */
function malformedGeneses (): unknown[] {
  return [{}, { header: 'not a map' }, { header: {} }, { header: { controllers: 'did:key:not-a-list' } }, { header: { controllers: [] } }]
}

/** A copy of a state whose content and metadata share nothing with it (CIDs and bytes are kept). */
function copyState<Content> (state: DocState<Content>): DocState<Content> {
  return { ...state, content: structuredCopy(state.content), metadata: structuredCopy(state.metadata), log: state.log.map((entry) => ({ ...entry })) }
}

function structuredCopy<T> (value: T): T {
  if (Array.isArray(value)) return value.map(structuredCopy) as T
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, structuredCopy(v)])) as T
  return value
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/** A JSON picture of a value (CIDs as `{"/": …}`), to compare before and after. */
function snapshot (value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, item: unknown) => typeof item === 'bigint' ? `${item}n` : item) ?? 'null')
}

/** Every plain object and array reachable from `value`. */
function containersOf (value: unknown, found = new Set<object>()): Set<object> {
  if (Array.isArray(value) || isPlainObject(value)) {
    if (found.has(value)) return found
    found.add(value)
    for (const item of Object.values(value)) containersOf(item, found)
  }
  return found
}

function expectNothingShared (result: unknown, inputs: unknown[]): void {
  const given = new Set(inputs.flatMap((input) => [...containersOf(input)]))
  for (const object of containersOf(result)) {
    expect(given.has(object), `the result shares ${JSON.stringify(snapshot(object))?.slice(0, 80)} with the input (set mayShareInput if that is intended)`).toBe(false)
  }
}

function expectControllers (result: DoctypeResult<unknown>): void {
  expect(Array.isArray(result.metadata.controllers), 'metadata.controllers must be a list').toBe(true)
  expect(result.metadata.controllers.length).toBeGreaterThan(0)
  for (const controller of result.metadata.controllers) expect(typeof controller === 'string' && controller.length > 0).toBe(true)
}

/** The DIDs `call()` names must not include `did`; a named Kiln error (the payload refused outright) will do too. */
function expectNotNamed (call: () => readonly string[], did: string | undefined): void {
  let signers: readonly string[]
  try {
    signers = call()
  } catch (err) {
    expect(isKilnError(err), `signers() threw ${String(err)}, not a named Kiln error`).toBe(true)
    return
  }
  expect(signers).not.toContain(did)
  expect(signers.length, 'a signed commit needs signers: [] would let it through unsigned').toBeGreaterThan(0)
}

function expectSigners (signers: readonly string[], commit: VerifiedCommit): void {
  expect(Array.isArray(signers)).toBe(true)
  for (const did of signers) expect(typeof did).toBe('string')
  if (commit.signer === undefined) expect(signers, 'an unsigned commit is valid only when signers() names no one').toEqual([])
  else expect(signers).toContain(commit.signer)
}

/** `signers()` on a malformed payload must return a list of strings or throw a named Kiln error, never a TypeError. */
function expectSignersOrNamedError (call: () => readonly string[], why: string): void {
  let signers: readonly string[]
  try {
    signers = call()
  } catch (err) {
    expect(isKilnError(err), `signers() on ${why} threw ${String(err)}, not a named Kiln error`).toBe(true)
    return
  }
  expect(Array.isArray(signers) && signers.every((did) => typeof did === 'string'), `signers() on ${why}`).toBe(true)
}

async function expectOneOf (promise: Promise<unknown>, names: readonly string[], why: string): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, `${why}: expected a rejection with ${names.join(' or ')}`).toBeInstanceOf(Error)
  expect(names, `${why}: rejected with ${(err as Error).name}: ${(err as Error).message}`).toContain((err as Error).name)
}
