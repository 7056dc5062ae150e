/** One Server-Sent Event: its type (`message` when the stream names none), its data lines joined by `\n`, its last id. */
export interface ServerSentEvent {
  event: string
  data: string
  id?: string
}

/**
 * Parses a `text/event-stream` body into its events, following the HTML standard's rules: lines end in CRLF, LF or CR
 * (also when split across chunks), `:` lines are comments (keepalives), one space after `field:` is dropped, `data`
 * lines accumulate, a blank line dispatches, and an event cut off by the end of the stream is dropped.
 */
export async function * parseEventStream (chunks: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder('utf-8')
  const pending = new EventBuilder()
  let buffer = ''
  let atStart = true
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true })
    if (atStart && buffer.length > 0) {
      if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1)
      atStart = false
    }
    let start = 0
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer[i]
      if (c !== '\n' && c !== '\r') continue
      // A CR at the end of the buffer may be the first half of a CRLF split across chunks: wait for the next one.
      if (c === '\r' && i === buffer.length - 1) break
      const line = buffer.slice(start, i)
      if (c === '\r' && buffer[i + 1] === '\n') i++
      start = i + 1
      const event = pending.line(line)
      if (event !== undefined) yield event
    }
    buffer = buffer.slice(start)
  }
}

/** The fields of the event being read, until a blank line dispatches it. */
class EventBuilder {
  private data: string[] = []
  private type = ''
  private lastId?: string

  /** Takes one line; returns the event a blank line completes. */
  line (line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') this.data.push(value)
    else if (field === 'event') this.type = value
    else if (field === 'id' && !value.includes('\0')) this.lastId = value
    // `retry` and unknown fields are ignored: reconnection is the client's own policy.
    return undefined
  }

  private dispatch (): ServerSentEvent | undefined {
    const data = this.data
    const type = this.type
    this.data = []
    this.type = ''
    if (data.length === 0) return undefined
    const event: ServerSentEvent = { event: type === '' ? 'message' : type, data: data.join('\n') }
    if (this.lastId !== undefined) event.id = this.lastId
    return event
  }
}
