/**
 * One writer per document at a time: `run(docId, fn)` starts `fn` after every earlier call for the same document has
 * settled, while calls for other documents run concurrently. The map holds only documents with a call in flight.
 */
export class DocLocks {
  readonly #tails = new Map<string, Promise<unknown>>()

  /** Runs `fn` after every earlier `run` of `docId`; settles as `fn` does. */
  async run<T> (docId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(docId) ?? Promise.resolve()
    const run = before.then(fn, fn)
    const settled = run.catch(() => undefined)
    this.#tails.set(docId, settled)
    try {
      return await run
    } finally {
      if (this.#tails.get(docId) === settled) this.#tails.delete(docId)
    }
  }

  /** Resolves when every call started so far has settled. */
  async drain (): Promise<void> {
    while (this.#tails.size > 0) await Promise.allSettled([...this.#tails.values()])
  }
}
