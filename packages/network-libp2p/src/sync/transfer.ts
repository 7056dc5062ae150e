import { DocID } from '@kiln/docid'
import { CodecError, LimitExceededError, type AbortOptions, type Block, type SyncSource } from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { compareKeys, inSyncRange, parseSyncKey, syncDocumentHash, type SyncRange } from './keys.js'
import { decodeSyncMessage, encodeSyncMessage, MAX_SYNC_MESSAGE_BYTES, MAX_SYNC_MESSAGE_ITEMS, type SyncBlocksMessage } from './messages.js'
import type { SyncChannel } from './channel.js'
import type { SyncKeyStore } from './store.js'

/** The libp2p protocol on which the blocks of wanted keys travel, after a reconciliation found them. */
export const SYNC_BLOCKS_PROTOCOL = '/kiln/sync-blocks/1.0.0'

/** Most keys one stream of the blocks protocol may want in all. */
export const MAX_WANTED_PER_STREAM = 100_000

/** Commits applied to a document in one go: each call walks back at most this far to what the node holds. */
const APPLY_CHUNK = 500

/** Documents applied at once after a fetch. */
const APPLY_CONCURRENCY = 32

/** Room left in a `blocks` message for its framing, beside the blocks themselves. */
const ENVELOPE_SLACK = 64 * 1024

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')

/** Which document each held document hash is, so a wanted key can be served: the key holds only the hash. */
export class HeldDocuments {
  readonly #byHash = new Map<string, string>()
  add (docId: string, genesis: CID): void { this.#byHash.set(hex(syncDocumentHash(genesis)), docId) }
  docIdOf (documentHash: Uint8Array): string | undefined { return this.#byHash.get(hex(documentHash)) }
}

/**
 * Serves one stream of the blocks protocol: each `want` is answered with `blocks` messages (at most 1 MiB each) for the
 * keys this node holds within `interests`, then `done`; other keys are left out. Ends when the peer closes.
 */
export async function serveBlocks (channel: SyncChannel, store: SyncKeyStore, documents: HeldDocuments, source: SyncSource, interests: readonly SyncRange[], options: AbortOptions = {}): Promise<number> {
  let wanted = 0
  let served = 0
  for await (const frame of channel.receive()) {
    const message = decodeSyncMessage(frame)
    if (message.type === 'done') break
    if (message.type !== 'want') throw new CodecError(`Expected want from the peer, got ${message.type}`)
    wanted += message.keys.length
    if (wanted > MAX_WANTED_PER_STREAM) throw new LimitExceededError(`The peer wanted more than ${MAX_WANTED_PER_STREAM} keys on one stream`, { details: { limit: MAX_WANTED_PER_STREAM } })
    let entries: SyncBlocksMessage['entries'] = []
    let bytes = 0
    let count = 0
    const flush = async (): Promise<void> => {
      if (entries.length === 0) return
      await channel.send(encodeSyncMessage({ type: 'blocks', entries }))
      entries = []
      bytes = 0
      count = 0
    }
    for (const key of message.keys) {
      // Only what this node holds and is interested in is served.
      if (!store.has(key) || !interests.some((range) => inSyncRange(range, key))) continue
      const parsed = parseSyncKey(key)
      const docId = documents.docIdOf(parsed.document)
      if (docId === undefined) continue
      const blocks = await source.blocksOf(docId, parsed.commit, options)
      const size = blocks.reduce((n, b) => n + b.bytes.byteLength + b.cid.bytes.byteLength, key.length + docId.length)
      if (size > MAX_SYNC_MESSAGE_BYTES - ENVELOPE_SLACK) continue
      if (bytes + size > MAX_SYNC_MESSAGE_BYTES - ENVELOPE_SLACK || count + blocks.length >= MAX_SYNC_MESSAGE_ITEMS) await flush()
      entries.push({ key, doc: docId, blocks: blocks.map((b) => ({ cid: b.cid, bytes: b.bytes })) })
      bytes += size
      count += blocks.length
      served++
    }
    await flush()
    await channel.send(encodeSyncMessage({ type: 'done' }))
  }
  return served
}

/** What fetching wanted keys did: commits received and applied, documents touched, entries refused. */
export interface FetchOutcome { received: number, documents: number, refused: number }

/**
 * Wants `keys` from the peer on a blocks stream and applies what arrives, document by document in height order, each
 * through the node's pipeline (`source.apply`). An entry whose DocID does not match its key's document hash is refused
 * (`CodecError`): the peer is lying about what it sent.
 */
export async function fetchWanted (channel: SyncChannel, keys: readonly Uint8Array[], source: SyncSource, options: AbortOptions = {}): Promise<FetchOutcome> {
  const received = new Map<string, { docId: string, entries: Array<{ key: Uint8Array, commit: CID, blocks: Block[] }> }>()
  const wanted = new Set(keys.map(hex))
  const incoming = channel.receive()[Symbol.asyncIterator]()
  let count = 0
  for (let i = 0; i < keys.length; i += MAX_SYNC_MESSAGE_ITEMS) {
    await channel.send(encodeSyncMessage({ type: 'want', keys: keys.slice(i, i + MAX_SYNC_MESSAGE_ITEMS) }))
    while (true) {
      const next = await incoming.next()
      if (next.done === true) throw new CodecError('The peer closed the blocks stream before it was done')
      const message = decodeSyncMessage(next.value)
      if (message.type === 'done') break
      if (message.type !== 'blocks') throw new CodecError(`Expected blocks or done from the peer, got ${message.type}`)
      for (const entry of message.entries) {
        const id = hex(entry.key)
        if (!wanted.has(id)) throw new CodecError('The peer sent the blocks of a key that was not wanted')
        wanted.delete(id)
        const parsed = parseSyncKey(entry.key)
        let docId: DocID
        try {
          docId = DocID.fromString(entry.doc)
        } catch (err) {
          throw new CodecError(`The peer named ${JSON.stringify(entry.doc)} as a document, which is not a DocID`, { cause: err })
        }
        if (hex(syncDocumentHash(docId.cid)) !== hex(parsed.document)) throw new CodecError(`The peer named ${entry.doc} for a key of another document`)
        const doc = received.get(entry.doc) ?? { docId: entry.doc, entries: [] }
        received.set(entry.doc, doc)
        doc.entries.push({ key: entry.key, commit: parsed.commit, blocks: entry.blocks.map((b) => ({ cid: CID.asCID(b.cid) ?? b.cid, bytes: b.bytes })) })
        count++
      }
    }
  }
  await channel.send(encodeSyncMessage({ type: 'done' }))
  let refused = 0
  // Documents are independent: several are applied at once (their writes share group commits, their signature checks
  // the thread pool); the commits of one document go in height order.
  const queue = [...received.values()]
  const applyOne = async ({ docId, entries }: { docId: string, entries: Array<{ key: Uint8Array, commit: CID, blocks: Block[] }> }): Promise<void> => {
    entries.sort((a, b) => compareKeys(a.key, b.key))
    for (let start = 0; start < entries.length; start += APPLY_CHUNK) {
      const chunk = entries.slice(0, start + APPLY_CHUNK)
      const tip = chunk[chunk.length - 1]!.commit
      try {
        await source.apply(docId, tip, chunk.slice(start).flatMap((e) => e.blocks), options)
      } catch (err) {
        // A commit the pipeline refuses (forged, or another document's) stops this document here: what came before stays.
        if ((err as Error).name === 'AbortError') throw err
        refused++
        return
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, queue.length) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await applyOne(next)
  }))
  return { received: count, documents: received.size, refused }
}
