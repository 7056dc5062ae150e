// The documents the load parts share: the writes part creates and updates them, the others read, watch, anchor and
// pin them. The pool has a fixed size and each document a bounded number of updates before it is retired (it stays
// on the node, the load moves on to a new one), so the working set keeps the same shape however long the soak runs:
// memory that grows after warm-up is then the daemon's doing, not logs growing without end.

/** A seeded generator of numbers in [0, 1) (xorshift32): the same seed gives the same load decisions. */
export function seededRandom (seed) {
  let x = (seed >>> 0) || 0x9e3779b9
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x1_0000_0000
  }
}

/** The shared documents: `{id, state, updates, busy}` entries, and notifications of their writes and retirement. */
export class DocumentPool {
  /** How many documents the pool holds once full. */
  capacity
  #maxUpdates
  #random
  #entries = []
  /** Listeners per DocID string: called with 'written' or 'retired'. */
  #listeners = new Map()
  /** Listeners of every acknowledged write. */
  #anyWrite = new Set()
  /** Acknowledged writes (creates and updates) so far. */
  writes = 0

  constructor ({ capacity = 48, maxUpdates = 12, random }) {
    this.capacity = capacity
    this.#maxUpdates = maxUpdates
    this.#random = random
  }

  get size () {
    return this.#entries.length
  }

  /** Adds a created document (with the part's own fields in `extra`); past the capacity, the oldest document nobody is writing is retired. */
  add (id, state, extra = {}) {
    this.#entries.push({ ...extra, id, state, updates: 0, busy: false })
    this.#wrote()
    if (this.#entries.length > this.capacity) {
      const oldest = this.#entries.find((e) => !e.busy)
      if (oldest !== undefined) this.#retire(oldest)
    }
  }

  /** A document at random, one that `prefer` accepts if there is one; undefined while the pool is empty. */
  pick (prefer) {
    const preferred = prefer === undefined ? [] : this.#entries.filter(prefer)
    const from = preferred.length > 0 ? preferred : this.#entries
    return from.length === 0 ? undefined : from[Math.floor(this.#random() * from.length)]
  }

  /** A document at random that no other writer holds, now held by the caller until {@link release}; or undefined. */
  claim () {
    const free = this.#entries.filter((e) => !e.busy)
    if (free.length === 0) return undefined
    const entry = free[Math.floor(this.#random() * free.length)]
    entry.busy = true
    return entry
  }

  /** Gives a claimed document back; one that had its share of updates is retired. */
  release (entry) {
    entry.busy = false
    if (entry.updates >= this.#maxUpdates) this.#retire(entry)
  }

  /** Records an acknowledged update of a claimed document, and tells its listeners. */
  written (entry, state) {
    entry.state = state
    entry.updates++
    this.#notify(entry.id, 'written')
    this.#wrote()
  }

  /** Calls `listener('written' | 'retired')` for the document `id`; returns its remover. */
  listen (id, listener) {
    let set = this.#listeners.get(id)
    if (set === undefined) { set = new Set(); this.#listeners.set(id, set) }
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0 && this.#listeners.get(id) === set) this.#listeners.delete(id)
    }
  }

  /** Calls `listener()` after every acknowledged write of any document; returns its remover. */
  onWrite (listener) {
    this.#anyWrite.add(listener)
    return () => { this.#anyWrite.delete(listener) }
  }

  #wrote () {
    this.writes++
    for (const listener of [...this.#anyWrite]) listener()
  }

  #retire (entry) {
    const at = this.#entries.indexOf(entry)
    if (at === -1) return
    this.#entries.splice(at, 1)
    this.#notify(entry.id, 'retired')
  }

  #notify (id, what) {
    for (const listener of [...(this.#listeners.get(id) ?? [])]) listener(what)
  }
}
