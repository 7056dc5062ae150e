import { decodeRecord } from '@kiln/codec'
import { DocID } from '@kiln/docid'
import {
  AnchorStatus, UnsupportedChainError,
  type AbortOptions, type AnchorEvent, type AnchorService, type Block, type Logger, type Storage
} from '@kiln/interface'
import type { CID } from 'multiformats/cid'
import type { IncomingCommit } from './commit-input.js'
import type { DocRecord, Documents } from './documents.js'
import type { GroupCommit } from './group-commit.js'
import { withStatus } from './pipeline.js'

/** What the node's anchoring needs from the node. */
export interface AnchoringComponents {
  services: AnchorService[]
  storage: Storage
  documents: Documents
  writer: GroupCommit
  /** Runs `fn` as the only writer of `docId`. */
  exclusive: <T>(docId: string, fn: () => Promise<T>) => Promise<T>
  /** Applies an anchor commit through the pipeline, only while `tip` is still the tip. */
  applyAnchor: (id: DocID, commit: IncomingCommit, blocks: Block[], tip: CID) => Promise<unknown>
  /** Tells watchers of a new record. */
  changed: (id: DocID, record: DocRecord) => void
  running: () => boolean
  logger?: Logger
}

/**
 * The node's side of anchoring: sends requests for new tips, records their progress as small status records, applies
 * the anchor commits that come back, and resumes requests a previous run left pending. Every decision about a
 * document's tip is taken under that document's lock, so a write in flight always counts.
 */
export class Anchoring {
  readonly chains: readonly string[]
  readonly #c: AnchoringComponents
  readonly #listeners = new Set<(event: AnchorEvent) => void>()
  /** Per document, the request being sent: requests of one document go out in the order of their tips. */
  readonly #sending = new Map<string, Promise<unknown>>()
  #resuming: Promise<void> | undefined

  constructor (components: AnchoringComponents) {
    this.#c = components
    this.chains = components.services.map((s) => s.chainId)
  }

  /** True when the node anchors on at least one chain. */
  get enabled (): boolean {
    return this.#c.services.length > 0
  }

  /** The anchor service of `chainId` (the node's first when absent); `UnsupportedChainError` for a chain it lacks. */
  serviceFor (chainId?: string): AnchorService {
    const services = this.#c.services
    const service = chainId === undefined ? services[0] : services.find((s) => s.chainId === chainId)
    if (service === undefined) {
      throw new UnsupportedChainError(chainId === undefined
        ? 'This node has no anchor service: it anchors to no chain'
        : `This node does not anchor on ${chainId}; it anchors on ${this.chains.join(', ') || 'no chain'}`, { details: { chainId } })
    }
    return service
  }

  async start (): Promise<void> {
    for (const service of this.#c.services) {
      service.onEvent((event) => { void this.#handleEvent(event) })
      await service.start?.()
    }
    if (this.enabled) {
      this.#resuming = this.#resume().catch((err: unknown) => { this.#c.logger?.error({ err }, 'resuming anchor requests failed') })
    }
  }

  async stop (): Promise<void> {
    await this.#resuming
    for (const service of [...this.#c.services].reverse()) await service.stop?.()
    await Promise.allSettled([...this.#sending.values()])
  }

  /** Registers a listener for every anchor event, called once the node has acted on it; returns its remover. */
  onEvent (listener: (event: AnchorEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /**
   * Sends the request for `tip` of a document, after any earlier one of the same document, and only if `tip` is still
   * its tip then (a newer tip has a request of its own). Never rejects: a failure marks the tip FAILED.
   */
  request (id: DocID, tip: CID, chainId?: string): Promise<AnchorStatus> {
    const key = id.toString()
    const before = this.#sending.get(key) ?? Promise.resolve()
    const run = before.then(async () => await this.#send(id, tip, chainId))
    this.#sending.set(key, run)
    void run.finally(() => { if (this.#sending.get(key) === run) this.#sending.delete(key) })
    return run
  }

  /** The API's request of an anchor: marks the tip PENDING (under the document's lock) and sends the request. */
  async requestAnchor (id: DocID, chainId: string | undefined, options: AbortOptions): Promise<AnchorStatus> {
    this.serviceFor(chainId)
    const key = id.toString()
    const tip = await this.#c.exclusive(key, async () => {
      const record = await this.#c.documents.get(key, options)
      if (record.head.anchorStatus === AnchorStatus.ANCHORED) return undefined
      await this.#recordStatus(id, record, AnchorStatus.PENDING)
      return record.head.tip
    })
    if (tip === undefined) return AnchorStatus.ANCHORED
    return await this.request(id, tip, chainId)
  }

  async #send (id: DocID, tip: CID, chainId?: string): Promise<AnchorStatus> {
    const key = id.toString()
    try {
      const record = await this.#c.documents.get(key)
      if (!record.head.tip.equals(tip)) return record.head.anchorStatus
      const event = await this.serviceFor(chainId).requestAnchor({ docId: key, genesis: record.head.genesis, tip })
      return event.status
    } catch (err) {
      this.#c.logger?.error({ err, docId: key }, 'anchor request failed')
      await this.#setStatus(id, tip, AnchorStatus.FAILED).catch((e: unknown) => { this.#c.logger?.warn({ err: e, docId: key }, 'recording a failed anchor request failed') })
      return AnchorStatus.FAILED
    }
  }

  /** Records the tip's anchor status, if `tip` is still the tip and not anchored yet. */
  async #setStatus (id: DocID, tip: CID, status: AnchorStatus): Promise<void> {
    if (!this.#c.running()) return
    const key = id.toString()
    await this.#c.exclusive(key, async () => {
      const record = await this.#c.documents.find(key)
      if (record === undefined || !record.head.tip.equals(tip)) return
      if (record.head.anchorStatus === status || record.head.anchorStatus === AnchorStatus.ANCHORED) return
      await this.#recordStatus(id, record, status)
    })
  }

  /** Writes a status record (small: the tip and the status) and tells watchers. Under the document's lock. */
  async #recordStatus (id: DocID, record: DocRecord, status: AnchorStatus): Promise<void> {
    const key = id.toString()
    await this.#c.writer.write((batch) => { batch.putAnchorStatus(key, { tip: record.head.tip, status }) })
    const next = withStatus(record, status)
    this.#c.documents.set(key, next)
    this.#c.changed(id, next)
  }

  /** Acts on an anchor event, then tells the listeners: a listener sees an event once the node's state reflects it. */
  async #handleEvent (event: AnchorEvent): Promise<void> {
    try {
      await this.#apply(event)
    } finally {
      for (const listener of this.#listeners) {
        try { listener(event) } catch (err) { this.#c.logger?.warn({ err }, 'an anchor event listener threw') }
      }
    }
  }

  async #apply (event: AnchorEvent): Promise<void> {
    if (!this.#c.running()) return
    let id: DocID
    try {
      id = DocID.fromString(event.docId)
    } catch (err) {
      this.#c.logger?.error({ err, docId: event.docId }, 'an anchor event names no document')
      return
    }
    try {
      if (event.status === AnchorStatus.ANCHORED && event.anchor !== undefined) {
        // An anchor of a tip this node has since built on would fork the log and, anchored, win over the newer
        // commits. It was never published, so dropping it is invisible to other nodes; the newer tip has its own
        // request. The pipeline checks the tip under the document's lock, so a write in flight counts.
        const { commit: block, blocks } = event.anchor
        const record = await decodeRecord<Record<string, unknown>>(block.bytes, block.cid)
        await this.#c.applyAnchor(id, { cid: block.cid, kind: 'anchor', record, blocks: [block] }, blocks, event.tip)
      } else if (event.status !== AnchorStatus.REPLACED) {
        await this.#setStatus(id, event.tip, event.status)
      }
    } catch (err) {
      if (!this.#c.running()) return
      this.#c.logger?.error({ err, docId: event.docId }, 'applying an anchor event failed')
      await this.#setStatus(id, event.tip, AnchorStatus.FAILED).catch(() => undefined)
    }
  }

  /**
   * Requests again every anchor a previous run left pending or in progress: the stored status is the durable record
   * of a request, so a crash or restart never drops one. A request the chain had already served before the crash
   * yields a second anchor commit for the same tip; the conflict rule keeps one (the earlier).
   */
  async #resume (): Promise<void> {
    for await (const key of this.#c.storage.listDocuments()) {
      if (!this.#c.running()) return
      const record = await this.#c.documents.find(key).catch(() => undefined)
      const status = record?.head.anchorStatus
      if (record === undefined || (status !== AnchorStatus.PENDING && status !== AnchorStatus.PROCESSING)) continue
      // `request` checks again, in order with new writes, that this is still the tip.
      await this.request(DocID.fromString(key), record.head.tip)
    }
  }
}
