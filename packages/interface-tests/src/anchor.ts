import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { anchorRequest, blockGetterOf, tipOf } from './fixtures.js'
import { CID } from 'multiformats/cid'
import { asAnchorProof, asAnchorRecord, decodeRecord, encodeRecord } from '@kiln/codec'
import {
  AnchorStatus,
  BlockNotFoundError,
  KilnError,
  anchorStatusName,
  type AnchorClaim,
  type AnchorEvent,
  type AnchorPlugin,
  type AnchorProof,
  type AnchorProofVerifier,
  type AnchorRecord,
  type AnchorRequest,
  type AnchorService,
  type Block,
  type BlockGetter
} from '@kiln/interface'

/** What the anchor suite's `setup` returns: the plugin under test and, for a batching service, a way to force a batch. */
export interface AnchorTestContext {
  /** The plugin under test; it must have a `service`. The suite starts it after `setup` and stops it before `teardown`. */
  plugin: AnchorPlugin
  /**
   * Makes the service anchor everything requested so far, in one batch. Give it for a batching service, and configure
   * that service not to batch on its own during a test (a long interval). Without it the suite waits for the
   * service's own schedule and skips the tests that need several requests in one batch.
   */
  trigger?(): Promise<void>
  /** How long to wait for an event before failing, in milliseconds; 10 000 by default. */
  timeoutMs?: number
}

/** Options of {@link anchorTests}. `setup` runs before every test and returns a fresh service. */
export interface AnchorTestOptions {
  setup (): AnchorTestContext | Promise<AnchorTestContext>
  teardown? (context: AnchorTestContext): void | Promise<void>
}

const { PENDING, PROCESSING, ANCHORED, FAILED, REPLACED } = AnchorStatus
const TERMINAL: readonly AnchorStatus[] = [ANCHORED, FAILED, REPLACED]

/** Defines the compliance tests every anchor plugin (an `AnchorService` with its `AnchorProofVerifier`) must pass. */
export function anchorTests (options: AnchorTestOptions): void {
  describe('AnchorPlugin compliance', () => {
    let context: AnchorTestContext
    let service: AnchorService
    let verifier: AnchorProofVerifier
    let recorder: EventRecorder

    beforeEach(async () => {
      context = await options.setup()
      const plugin = context.plugin
      expect(plugin.service, 'the plugin under test needs a service').toBeDefined()
      service = plugin.service!
      verifier = plugin.verifier
      recorder = new EventRecorder(context.timeoutMs ?? 10_000)
      service.onEvent(recorder.listener)
      await service.start?.()
    })

    afterEach(async () => {
      await service?.stop?.()
      await options.teardown?.(context)
    })

    /** Requests anchors for all `requests`, forces a batch when the setup can, and returns each one's ANCHORED event. */
    async function anchorAll (requests: AnchorRequest[]): Promise<Anchored[]> {
      for (const request of requests) {
        const first = await service.requestAnchor(request)
        expect(first.status).toBe(PENDING)
      }
      await context.trigger?.()
      return await Promise.all(requests.map(async (request) => {
        const event = await recorder.terminal(request.tip)
        expect(anchorStatusName(event.status), `${request.docId} at ${request.tip.toString()}: ${event.message ?? ''}`).toBe('ANCHORED')
        return await openAnchor(request, event)
      }))
    }

    async function anchorOne (request: AnchorRequest): Promise<Anchored> {
      const [anchored] = await anchorAll([request])
      return anchored!
    }

    it('resolves requestAnchor with PENDING for the requested DocID and tip', async () => {
      const request = await newRequest()
      const event = await service.requestAnchor(request)
      expect(event.status).toBe(PENDING)
      expect(event.docId).toBe(request.docId)
      expect(event.tip.equals(request.tip)).toBe(true)
      await context.trigger?.()
      await recorder.terminal(request.tip)
    })

    it('reports PROCESSING and then ANCHORED for a request, once each', async () => {
      const request = await newRequest()
      await anchorAll([request])
      const statuses = recorder.of(request.tip).map((e) => e.status).filter((s) => s !== PENDING)
      expect(statuses.map(anchorStatusName)).toEqual(['PROCESSING', 'ANCHORED'])
      // Listeners may also be told PENDING, but then first and only once.
      const pendings = recorder.of(request.tip).filter((e) => e.status === PENDING)
      expect(pendings.length).toBeLessThanOrEqual(1)
      if (pendings.length === 1) expect(recorder.of(request.tip)[0]!.status).toBe(PENDING)
      for (const event of recorder.of(request.tip)) expect(event.docId).toBe(request.docId)
    })

    it('returns an anchor commit that decodes as {id, prev, proof, path}, with the genesis as id and the tip as prev', async () => {
      const request = await newRequest()
      const { record } = await anchorOne(request)
      expect(record.id.equals(request.genesis)).toBe(true)
      expect(record.prev.equals(request.tip)).toBe(true)
      expect(typeof record.path).toBe('string')
    })

    it('returns the proof block among the blocks, with the service chainId in the verifier namespace', async () => {
      const request = await newRequest()
      const { proof, commit, blocks } = await anchorOne(request)
      expect(proof.chainId).toBe(service.chainId)
      expect(proof.chainId.split(':')[0]).toBe(verifier.namespace)
      expect(CID.asCID(proof.root)).not.toBeNull()
      expect(CID.asCID(proof.txHash)).not.toBeNull()
      expect(blocks.some((b) => b.cid.equals(commit.cid)), 'blocks hold the supporting blocks, not the commit').toBe(false)
    })

    it('verifies the anchor with the plugin verifier from the returned blocks alone, giving unix seconds', async () => {
      const request = await newRequest()
      const anchored = await anchorOne(request)
      const { timestamp } = await verifier.verify(anchored.claim, anchored.getBlock)
      expect(Number.isSafeInteger(timestamp)).toBe(true)
      expect(timestamp).toBeGreaterThan(1_500_000_000)
      expect(timestamp).toBeLessThan(Date.now() / 1000 + 86_400)
    })

    it('anchors requests forced into one batch under one root, with distinct paths that each verify', async (test) => {
      // A service that batches on its own timer cannot be made to put several requests in one batch.
      if (context.trigger === undefined) test.skip('needs trigger() to put several requests in one batch')
      const batch = await requests(5)
      const anchored = await anchorAll(batch)
      expect(new Set(anchored.map((a) => a.proof.root.toString())).size).toBe(1)
      expect(new Set(anchored.map((a) => a.record.path)).size).toBe(batch.length)
      expect(new Set(anchored.map((a) => a.commit.cid.toString())).size).toBe(batch.length)
      for (const a of anchored) await verifier.verify(a.claim, a.getBlock)
      // One document's path does not lead to another's tip.
      await expectInvalidProof(verifier.verify({ ...anchored[0]!.claim, path: anchored[1]!.record.path }, anchored[0]!.getBlock))
    })

    it('reports an older request REPLACED when a newer one for the same document comes before its batch, and anchors the newer', async (test) => {
      // Without trigger() a timer batch could start between the two requests, and nothing would be REPLACED.
      if (context.trigger === undefined) test.skip('needs trigger() so that no batch starts between the two requests')
      const older = await newRequest()
      const newer = { ...older, tip: await tipOf(older.genesis, 'newer') }
      expect((await service.requestAnchor(older)).status).toBe(PENDING)
      const anchored = await anchorOne(newer)
      const replaced = await recorder.terminal(older.tip)
      expect(anchorStatusName(replaced.status)).toBe('REPLACED')
      expect(replaced.docId).toBe(older.docId)
      expect(recorder.of(older.tip).some((e) => e.status === ANCHORED || e.status === PROCESSING)).toBe(false)
      expect(anchored.record.prev.equals(newer.tip)).toBe(true)
      await verifier.verify(anchored.claim, anchored.getBlock)
    })

    it('anchors a later tip of a document that was anchored before, each anchor verifying', async () => {
      const first = await newRequest()
      const a = await anchorOne(first)
      const second = { ...first, tip: await tipOf(first.genesis, 'second') }
      const b = await anchorOne(second)
      expect(b.record.prev.equals(second.tip)).toBe(true)
      expect(b.commit.cid.equals(a.commit.cid)).toBe(false)
      await verifier.verify(a.claim, a.getBlock)
      await verifier.verify(b.claim, b.getBlock)
    })

    it('rejects an altered path with InvalidAnchorProofError', async () => {
      const request = await newRequest()
      const { claim, getBlock } = await anchorOne(request)
      const steps = claim.path === '' ? [] : claim.path.split('/')
      const altered = [
        [...steps, '0'].join('/'),
        [...steps, '1'].join('/'),
        ...steps.map((_, i) => steps.map((s, j) => (j === i ? (s === '0' ? '1' : '0') : s)).join('/'))
      ]
      if (steps.length > 0) altered.push(steps.slice(0, -1).join('/'))
      for (const path of altered) await expectInvalidProof(verifier.verify({ ...claim, path }, getBlock), `path "${path}"`)
    })

    it('rejects an altered root with InvalidAnchorProofError', async () => {
      const request = await newRequest()
      const { claim, getBlock, commit } = await anchorOne(request)
      // A tree that does lead to prev, but that no chain has seen.
      const other = await encodeRecord([claim.prev, null, { altered: true }])
      const store = withBlocks(getBlock, [other])
      for (const root of [other.cid, claim.prev, commit.cid]) {
        await expectInvalidProof(verifier.verify({ ...claim, proof: { ...claim.proof, root } }, store), `root ${root.toString()}`)
      }
    })

    it('rejects an altered prev with InvalidAnchorProofError', async () => {
      const request = await newRequest()
      const { claim, getBlock } = await anchorOne(request)
      for (const prev of [request.genesis, await tipOf(request.genesis, 'never anchored')]) {
        await expectInvalidProof(verifier.verify({ ...claim, prev }, getBlock), `prev ${prev.toString()}`)
      }
    })

    it('rejects an altered txHash with InvalidAnchorProofError', async () => {
      const request = await newRequest()
      const { claim, getBlock, commit } = await anchorOne(request)
      for (const txHash of [claim.proof.root, commit.cid, request.tip]) {
        await expectInvalidProof(verifier.verify({ ...claim, proof: { ...claim.proof, txHash } }, getBlock), `txHash ${txHash.toString()}`)
      }
    })

    it('rejects a claim whose blocks are missing with InvalidAnchorProofError', async (test) => {
      const request = await newRequest()
      const { claim, getBlock } = await anchorOne(request)
      // A one-leaf tree may have the tip as its root: there is no Merkle node to withhold.
      if (claim.path === '') test.skip('the root is the tip itself: the claim needs no Merkle node')
      await expectInvalidProof(verifier.verify(claim, storeOf([])), 'with no blocks')
      const withoutRoot: BlockGetter = async (cid, opts) => {
        if (cid.equals(claim.proof.root)) throw new BlockNotFoundError(`no block ${cid.toString()}`)
        return await getBlock(cid, opts)
      }
      await expectInvalidProof(verifier.verify(claim, withoutRoot), 'without the Merkle root')
    })

    it('rejects a chainId of the same namespace but another chain', async () => {
      const request = await newRequest()
      const { claim, getBlock } = await anchorOne(request)
      const chainId = `${verifier.namespace}:${claim.proof.chainId.endsWith(':4242') ? '4243' : '4242'}`
      const err = await rejection(verifier.verify({ ...claim, proof: { ...claim.proof, chainId } }, getBlock))
      expect(['InvalidAnchorProofError', 'UnsupportedChainError']).toContain(err.name)
    })

    it('rejects a chainId of another namespace with UnsupportedChainError', async () => {
      const request = await newRequest()
      const { claim, getBlock } = await anchorOne(request)
      const namespace = verifier.namespace === 'nochain' ? 'otherchain' : 'nochain'
      const err = await rejection(verifier.verify({ ...claim, proof: { ...claim.proof, chainId: `${namespace}:1` } }, getBlock))
      expect(err.name).toBe('UnsupportedChainError')
    })

    it('delivers every event to every listener, even when an earlier listener throws', async () => {
      const thrower = (): void => { throw new KilnError('a listener that always throws') }
      service.onEvent(thrower)
      const second = new EventRecorder(context.timeoutMs ?? 10_000)
      service.onEvent(second.listener)
      const request = await newRequest()
      const anchored = await anchorOne(request)
      const seen = await second.terminal(request.tip)
      expect(anchorStatusName(seen.status)).toBe('ANCHORED')
      expect(seen.anchor!.commit.cid.equals(anchored.commit.cid)).toBe(true)
      // And the service keeps working after it.
      const next = await newRequest()
      await anchorAll([next])
    })
  })
}

/** One ANCHORED event opened up: the decoded commit and proof, the claim to verify, and a getBlock over its blocks. */
interface Anchored {
  event: AnchorEvent
  /** The anchor commit block. */
  commit: Block
  /** Its supporting blocks. */
  blocks: Block[]
  record: AnchorRecord
  proof: AnchorProof
  claim: AnchorClaim
  getBlock: BlockGetter
}

async function openAnchor (request: AnchorRequest, event: AnchorEvent): Promise<Anchored> {
  const anchor = event.anchor
  expect(anchor, 'an ANCHORED event carries its anchor').toBeDefined()
  const record = asAnchorRecord(await decodeRecord(anchor!.commit.bytes, anchor!.commit.cid))
  const proofBlock = anchor!.blocks.find((b) => b.cid.equals(record.proof))
  expect(proofBlock, `the proof block ${record.proof.toString()} is among the blocks`).toBeDefined()
  const proof = asAnchorProof(await decodeRecord(proofBlock!.bytes, proofBlock!.cid))
  expect(event.tip.equals(request.tip)).toBe(true)
  const { commit, blocks } = anchor!
  return { event, commit, blocks, record, proof, claim: { proof, path: record.path, prev: record.prev }, getBlock: storeOf(blocks) }
}

/** Collects a service's events and waits for them. */
class EventRecorder {
  readonly events: AnchorEvent[] = []
  /** Tests waiting for a terminal event, woken by the listener as events arrive. */
  readonly #waiters = new Set<() => void>()
  readonly listener = (event: AnchorEvent): void => {
    this.events.push(event)
    for (const wake of [...this.#waiters]) wake()
  }

  constructor (private readonly timeoutMs: number) {}

  of (tip: CID): AnchorEvent[] {
    return this.events.filter((e) => e.tip.equals(tip))
  }

  /** The first ANCHORED, FAILED or REPLACED event of `tip`, waiting up to the timeout for it. */
  async terminal (tip: CID): Promise<AnchorEvent> {
    const find = (): AnchorEvent | undefined => this.of(tip).find((e) => TERMINAL.includes(e.status))
    let wake: (() => void) | undefined
    let deadline: ReturnType<typeof setTimeout> | undefined
    // Woken by each event the listener records; the timer only bounds the wait, it never stands in for an event.
    const event = find() ?? await new Promise<AnchorEvent | undefined>((resolve) => {
      wake = () => { const found = find(); if (found !== undefined) resolve(found) }
      this.#waiters.add(wake)
      deadline = setTimeout(() => { resolve(undefined) }, this.timeoutMs)
    }).finally(() => {
      if (wake !== undefined) this.#waiters.delete(wake)
      clearTimeout(deadline)
    })
    if (event === undefined) {
      const seen = this.of(tip).map((e) => anchorStatusName(e.status)).join(', ') || 'nothing'
      expect.fail(`no ANCHORED, FAILED or REPLACED for ${tip.toString()} within ${this.timeoutMs} ms; saw ${seen}`)
    }
    return event
  }
}

/** An anchor request for a new document. */
async function newRequest (): Promise<AnchorRequest> {
  return await anchorRequest()
}

/** `count` anchor requests for new documents. */
async function requests (count: number): Promise<AnchorRequest[]> {
  return await Promise.all(Array.from({ length: count }, async () => await anchorRequest()))
}

const storeOf = blockGetterOf

function withBlocks (getBlock: BlockGetter, extra: readonly Block[]): BlockGetter {
  const more = storeOf(extra)
  return async (cid, opts) => await getBlock(cid, opts).catch(async () => await more(cid, opts))
}

async function rejection (promise: Promise<unknown>, what = ''): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, `expected a rejection ${what}`).toBeInstanceOf(Error)
  return err as Error
}

async function expectInvalidProof (promise: Promise<unknown>, what = ''): Promise<void> {
  const err = await rejection(promise, what)
  expect(err.name, `${what}: ${err.message}`).toBe('InvalidAnchorProofError')
}
