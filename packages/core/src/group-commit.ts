import type { Storage, StorageBatch } from '@kiln/interface'

/** How a node makes writes durable. */
export type Durability = 'strict' | 'relaxed'

interface Pending {
  fill: (batch: StorageBatch) => void
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Group commit: writes that arrive while a batch is being written wait, then go together in the next batch, with one
 * flush to stable storage for all of them. A write resolves only once its batch is committed (and, with strict
 * durability, synced); when a batch fails, every write in it rejects with the batch's error and none is acknowledged.
 */
export class GroupCommit {
  readonly #storage: Storage
  readonly #sync: boolean
  #queue: Pending[] = []
  #flushing: Promise<void> | undefined

  constructor (storage: Storage, durability: Durability) {
    this.#storage = storage
    this.#sync = durability === 'strict'
  }

  /** Queues the writes `fill` adds to a batch; resolves when they are durable. */
  async write (fill: (batch: StorageBatch) => void): Promise<void> {
    const done = new Promise<void>((resolve, reject) => { this.#queue.push({ fill, resolve, reject }) })
    this.#flushing ??= this.#flush()
    await done
  }

  /** Resolves when every write queued so far is settled. */
  async drain (): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing
  }

  async #flush (): Promise<void> {
    // Let the writers of this turn of the event loop join the first batch too.
    await Promise.resolve()
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue
        this.#queue = []
        await this.#commit(group)
      }
    } finally {
      this.#flushing = undefined
    }
  }

  async #commit (group: Pending[]): Promise<void> {
    try {
      const batch = this.#storage.batch()
      for (const pending of group) pending.fill(batch)
      await batch.commit({ sync: this.#sync })
    } catch (err) {
      for (const pending of group) pending.reject(err)
      return
    }
    for (const pending of group) pending.resolve()
  }
}
