/**
 * The deliveries due, by key, with the time each is due: the next one in O(log n). A binary min-heap of (time, key)
 * with lazy deletion: the map is the truth, and a heap entry whose time no longer matches it is skipped when reached.
 */
export class DueQueue {
  private readonly at = new Map<string, number>()
  private heap: Array<[number, string]> = []

  get size (): number {
    return this.at.size
  }

  has (key: string): boolean {
    return this.at.has(key)
  }

  /** Sets (or moves) when `key` is due. */
  set (key: string, time: number): void {
    this.at.set(key, time)
    this.push([time, key])
    // Stale entries pile up when keys move often: rebuild from the map once they outnumber the live ones.
    if (this.heap.length > 2 * this.at.size + 64) {
      this.heap = []
      for (const [k, t] of this.at) this.push([t, k])
    }
  }

  delete (key: string): void {
    this.at.delete(key)
  }

  clear (): void {
    this.at.clear()
    this.heap = []
  }

  keys (): IterableIterator<string> {
    return this.at.keys()
  }

  /** The earliest due time, or `undefined` when nothing is due. */
  peek (): [number, string] | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!
      if (this.at.get(top[1]) === top[0]) return top
      this.pop()
    }
    return undefined
  }

  /** Removes and returns the earliest (time, key) if it is due by `now`. */
  takeDue (now: number): string | undefined {
    const top = this.peek()
    if (top === undefined || top[0] > now) return undefined
    this.pop()
    this.at.delete(top[1])
    return top[1]
  }

  private push (entry: [number, string]): void {
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]![0] <= heap[i]![0]) break
      ;[heap[parent], heap[i]] = [heap[i]!, heap[parent]!]
      i = parent
    }
  }

  private pop (): void {
    const heap = this.heap
    const last = heap.pop()!
    if (heap.length === 0) return
    heap[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let smallest = i
      if (l < heap.length && heap[l]![0] < heap[smallest]![0]) smallest = l
      if (r < heap.length && heap[r]![0] < heap[smallest]![0]) smallest = r
      if (smallest === i) break
      ;[heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!]
      i = smallest
    }
  }
}
