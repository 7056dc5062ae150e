/**
 * Per-document mutual exclusion inside one process. A batch that truncates a log or drops checkpoints lists the keys
 * of that range and then deletes them; another batch for the same document must not write between the two, while
 * batches for different documents run concurrently. Locks are taken in sorted order, so two batches touching the same
 * documents cannot wait on each other forever.
 */
export class DocLocks {
  readonly #tails = new Map<string, Promise<void>>()

  /** Runs `fn` while holding the lock of every document in `docIds`. */
  async run<T> (docIds: Iterable<string>, fn: () => Promise<T>): Promise<T> {
    const releases: Array<() => void> = []
    try {
      for (const docId of [...new Set(docIds)].sort()) releases.push(await this.#acquire(docId))
      return await fn()
    } finally {
      for (const release of releases) release()
    }
  }

  async #acquire (docId: string): Promise<() => void> {
    const previous = this.#tails.get(docId) ?? Promise.resolve()
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => { release = resolve })
    const tail = previous.then(() => held)
    this.#tails.set(docId, tail)
    await previous
    return () => {
      release()
      if (this.#tails.get(docId) === tail) this.#tails.delete(docId)
    }
  }
}
