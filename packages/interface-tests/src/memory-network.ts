import { verifyBlock } from '@kiln/codec'
import {
  AbortError, BlockNotFoundError,
  type AbortOptions, type Network, type NetworkComponents, type NetworkFactory, type TipAnnouncement
} from '@kiln/interface'
import type { CID } from 'multiformats/cid'

/** How long `queryTips` of the in-memory network waits for answers when the caller gives no `timeoutMs`. */
export const MEMORY_QUERY_TIMEOUT_MS = 3_000

/** One message between two members of a {@link MemoryNetworkHub}, as its `deliver` hook sees it. */
export type HubMessage =
  | { kind: 'tip', from: string, to: string, announcement: TipAnnouncement }
  | { kind: 'query', from: string, to: string, docId: string }
  | { kind: 'answer', from: string, to: string, docId: string, tip: CID }
  | { kind: 'block', from: string, to: string, cid: CID, bytes: Uint8Array }

/**
 * Decides the fate of a message: return it (or a changed copy, to tamper with it) to deliver it, `undefined` to drop
 * it. A partition is a hook that drops every message between two sides.
 */
export type DeliverHook = (message: HubMessage) => HubMessage | undefined

/** Options of {@link memoryNetworkHub}. */
export interface MemoryNetworkHubInit {
  /** Called for every message; by default every message is delivered unchanged. */
  deliver?: DeliverHook
  /**
   * Check blocks against their CIDs in `getBlock`, as the contract asks of a network (default true). `false` hands
   * the caller whatever `deliver` returns, to test the caller's own checks.
   */
  checkBlocks?: boolean
}

/** Options of one member of the hub. */
export interface MemoryNetworkInit {
  /** The member's peer id, as `from` of its announcements (`peer-1`, `peer-2`, … by default). */
  peerId?: string
}

/** In-process peers that share one hub: what one publishes the others hear, and they serve each other's blocks. */
export interface MemoryNetworkHub {
  /** A network factory for one more member; it joins the hub when started and leaves it when stopped. */
  network(init?: MemoryNetworkInit): NetworkFactory
  /** The peer ids of the started members. */
  peers(): string[]
  /** The current hook: set it to drop or tamper with messages from now on (`undefined` delivers everything). */
  deliver: DeliverHook | undefined
  /** Resolves once every announcement sent so far has been delivered (or dropped). */
  settled(): Promise<void>
}

interface Member {
  peerId: string
  components: NetworkComponents
  listeners: Set<(announcement: TipAnnouncement) => void>
  started: boolean
}

/**
 * A network double for unit tests: several in-process nodes share one hub. `publishTip` reaches every other started
 * member's listeners in a later task (never inside the call); `queryTips` asks every other member's `tipOf` and
 * resolves when all answered or at the timeout; `getBlock` reads the other members' `blocks`, checked against the CID.
 */
export function memoryNetworkHub (init: MemoryNetworkHubInit = {}): MemoryNetworkHub {
  const members = new Set<Member>()
  const checkBlocks = init.checkBlocks ?? true
  let nextPeer = 1
  let inFlight = 0
  let idle: Array<() => void> = []
  const others = (self: Member): Member[] => [...members].filter((m) => m !== self && m.started)

  const hub: MemoryNetworkHub = {
    deliver: init.deliver,
    peers: () => [...members].filter((m) => m.started).map((m) => m.peerId),
    settled: async () => {
      if (inFlight === 0) return
      await new Promise<void>((resolve) => { idle.push(resolve) })
    },
    network: (memberInit = {}) => (components) => {
      const member: Member = { peerId: memberInit.peerId ?? `peer-${nextPeer++}`, components, listeners: new Set(), started: false }
      members.add(member)
      return new MemoryNetwork(member, {
        send: (message) => hub.deliver === undefined ? message : hub.deliver(message),
        others: () => others(member),
        schedule: (fn) => {
          inFlight++
          setTimeout(() => {
            try { fn() } finally {
              if (--inFlight === 0) { const waiting = idle; idle = []; for (const resolve of waiting) resolve() }
            }
          }, 0)
        },
        checkBlocks
      })
    }
  }
  return hub
}

/** What a member needs from its hub. */
interface HubLink {
  send(message: HubMessage): HubMessage | undefined
  others(): Member[]
  schedule(fn: () => void): void
  checkBlocks: boolean
}

class MemoryNetwork implements Network {
  readonly #self: Member
  readonly #hub: HubLink

  constructor (self: Member, hub: HubLink) {
    this.#self = self
    this.#hub = hub
  }

  start (): void {
    this.#self.started = true
  }

  stop (): void {
    this.#self.started = false
  }

  async publishTip (docId: string, tip: CID, options: AbortOptions = {}): Promise<void> {
    throwIfAborted(options.signal)
    if (!this.#self.started) return
    for (const peer of this.#hub.others()) {
      this.#hub.schedule(() => {
        const message = this.#hub.send({ kind: 'tip', from: this.#self.peerId, to: peer.peerId, announcement: { docId, tip, from: this.#self.peerId } })
        if (message?.kind !== 'tip' || !peer.started) return
        for (const listener of [...peer.listeners]) {
          try { listener({ ...message.announcement }) } catch { /* a listener's failure is its own */ }
        }
      })
    }
  }

  async queryTips (docId: string, options: AbortOptions & { timeoutMs?: number } = {}): Promise<CID[]> {
    throwIfAborted(options.signal)
    const peers = this.#hub.others()
    const tips = new Map<string, CID>()
    if (!this.#self.started || peers.length === 0) return []
    return await new Promise<CID[]>((resolve, reject) => {
      let waiting = peers.length
      let done = false
      const finish = (err?: Error): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        if (err === undefined) resolve([...tips.values()]); else reject(err)
      }
      const onAbort = (): void => { finish(new AbortError('The query was aborted', { cause: options.signal?.reason })) }
      const timer = setTimeout(() => { finish() }, options.timeoutMs ?? MEMORY_QUERY_TIMEOUT_MS)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      for (const peer of peers) {
        const query = this.#hub.send({ kind: 'query', from: this.#self.peerId, to: peer.peerId, docId })
        if (query === undefined) continue
        void (async () => {
          const tip = peer.started ? await peer.components.tipOf?.(docId).catch(() => undefined) : undefined
          const answer = tip === undefined ? undefined : this.#hub.send({ kind: 'answer', from: peer.peerId, to: this.#self.peerId, docId, tip })
          // A peer that does not hold the document answers nothing, but counts as answered; a dropped answer does not.
          if (tip !== undefined && answer?.kind !== 'answer') return
          if (answer?.kind === 'answer') tips.set(answer.tip.toString(), answer.tip)
          if (--waiting === 0) finish()
        })()
      }
    })
  }

  onTip (listener: (announcement: TipAnnouncement) => void): () => void {
    const wrapped = (announcement: TipAnnouncement): void => { listener(announcement) }
    this.#self.listeners.add(wrapped)
    return () => { this.#self.listeners.delete(wrapped) }
  }

  async getBlock (cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    throwIfAborted(options.signal)
    for (const peer of this.#hub.others()) {
      const bytes = await peer.components.blocks.get(cid, options).catch((err: unknown) => {
        if ((err as Error).name === 'AbortError') throw err
        return undefined
      })
      if (bytes === undefined) continue
      const message = this.#hub.send({ kind: 'block', from: peer.peerId, to: this.#self.peerId, cid, bytes })
      if (message?.kind !== 'block') continue
      if (this.#hub.checkBlocks && !await verifyBlock(cid, message.bytes).then(() => true, () => false)) continue
      throwIfAborted(options.signal)
      return message.bytes
    }
    throw new BlockNotFoundError(`No peer on the in-memory network has block ${cid.toString()}`, { details: { cid: cid.toString() } })
  }
}

function throwIfAborted (signal?: AbortSignal): void {
  if (signal?.aborted === true) throw new AbortError('Operation aborted', { cause: signal.reason })
}
