import type { ServerResponse } from 'node:http'

/**
 * Writes values to an event-stream response as fast as its socket drains, and no faster: while the socket is full, at
 * most one value waits, and a newer value replaces it. A slow client therefore gets the latest value when it catches
 * up, and never costs more memory than one value and one chunk in the socket's buffer.
 */
export class LatestValueWriter<T> {
  private readonly raw: ServerResponse
  private readonly format: (value: T) => string | undefined
  private waiting: { value: T } | undefined
  private full = false

  /** `format` turns a value into its chunk, when it is written; `undefined` skips it. */
  constructor (raw: ServerResponse, format: (value: T) => string | undefined) {
    this.raw = raw
    this.format = format
    raw.on('drain', () => {
      this.full = false
      this.flush()
    })
  }

  /** True while the socket has not drained what was written. */
  get blocked (): boolean {
    return this.full
  }

  /** Writes `value` now if the socket takes it, else when it drains, unless a newer value comes first. */
  offer (value: T): void {
    this.waiting = { value }
    if (!this.full) this.flush()
  }

  /** Writes a comment line (a keepalive), unless the socket is full: then data is on its way anyway. */
  comment (text: string): void {
    if (this.full || !this.open) return
    if (!this.raw.write(`: ${text}\n\n`)) this.full = true
  }

  private get open (): boolean {
    return !this.raw.destroyed && !this.raw.writableEnded
  }

  private flush (): void {
    const waiting = this.waiting
    if (waiting === undefined || !this.open) return
    this.waiting = undefined
    const chunk = this.format(waiting.value)
    if (chunk !== undefined && !this.raw.write(chunk)) this.full = true
  }
}
