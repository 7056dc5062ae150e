/**
 * Fan-out of values to async iterators subscribed by key. A consumer that falls behind gets the latest value, not a
 * queue of every one it missed: each subscription holds at most one value, so memory stays bounded whatever the pace.
 */
export class Watchers<T> {
  private readonly byKey = new Map<string, Set<Subscription<T>>>()

  /** An iterator of every value emitted for `key` from now on, until `signal` fires, `return()` or `closeAll()`. */
  subscribe (key: string, signal?: AbortSignal): AsyncIterableIterator<T> {
    const subscription = new Subscription<T>(() => {
      const set = this.byKey.get(key)
      set?.delete(subscription)
      if (set?.size === 0) this.byKey.delete(key)
    })
    let set = this.byKey.get(key)
    if (set === undefined) { set = new Set(); this.byKey.set(key, set) }
    set.add(subscription)
    if (signal !== undefined) {
      if (signal.aborted) subscription.close()
      else signal.addEventListener('abort', () => { subscription.close() }, { once: true })
    }
    return subscription
  }

  /** True when `key` has a subscriber: a caller can skip building a value nobody would get. */
  has (key: string): boolean {
    return this.byKey.has(key)
  }

  /** Delivers `value` to every subscriber of `key`. */
  emit (key: string, value: T): void {
    for (const subscription of this.byKey.get(key) ?? []) subscription.push(value)
  }

  /** Ends every subscription (on node stop). */
  closeAll (): void {
    for (const set of [...this.byKey.values()]) for (const subscription of [...set]) subscription.close()
  }
}

class Subscription<T> implements AsyncIterableIterator<T> {
  /** The latest value not yet taken; a newer one replaces it. */
  private latest: { value: T } | undefined
  private waiting?: (result: IteratorResult<T>) => void
  private closed = false

  constructor (private readonly onClose: () => void) {}

  push (value: T): void {
    if (this.closed) return
    if (this.waiting !== undefined) {
      const resolve = this.waiting
      this.waiting = undefined
      resolve({ value, done: false })
    } else {
      this.latest = { value }
    }
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.onClose()
    if (this.waiting !== undefined) {
      const resolve = this.waiting
      this.waiting = undefined
      resolve({ value: undefined, done: true })
    }
  }

  async next (): Promise<IteratorResult<T>> {
    const latest = this.latest
    if (latest !== undefined) {
      this.latest = undefined
      return { value: latest.value, done: false }
    }
    if (this.closed) return { value: undefined, done: true }
    return await new Promise((resolve) => { this.waiting = resolve })
  }

  async return (): Promise<IteratorResult<T>> {
    this.close()
    return { value: undefined, done: true }
  }

  [Symbol.asyncIterator] (): AsyncIterableIterator<T> {
    return this
  }
}
