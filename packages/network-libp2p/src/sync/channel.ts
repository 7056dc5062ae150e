import { CodecError } from '@kiln/interface'

/**
 * A two-way channel of whole messages (one encoded sync message per frame): what a session needs of a transport.
 * The libp2p stream, with its length-prefixed frames, will be one; {@link syncChannelPair} is one in memory.
 */
export interface SyncChannel {
  /** Sends one frame. */
  send: (frame: Uint8Array) => Promise<void>
  /** The frames the peer sends, in order; ends when either side closes. Read it once. */
  receive: () => AsyncIterable<Uint8Array>
  /** Closes both directions: the peer's `receive` ends once it has read what was sent before. */
  close: () => void
}

/** One direction of a pair: a queue that a reader waits on. */
function queue (): { push: (frame: Uint8Array) => void, end: () => void, read: () => AsyncGenerator<Uint8Array>, ended: () => boolean } {
  const frames: Uint8Array[] = []
  let closed = false
  let wake: (() => void) | undefined
  const notify = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  return {
    push (frame) {
      frames.push(frame)
      notify()
    },
    end () {
      closed = true
      notify()
    },
    ended: () => closed,
    async * read () {
      while (true) {
        const frame = frames.shift()
        if (frame !== undefined) {
          yield frame
          continue
        }
        if (closed) return
        await new Promise<void>((resolve) => { wake = resolve })
      }
    }
  }
}

/** Two connected in-memory channels: what one sends, the other receives. For tests and for running both sides in one process. */
export function syncChannelPair (): [SyncChannel, SyncChannel] {
  const ab = queue()
  const ba = queue()
  const side = (out: ReturnType<typeof queue>, into: ReturnType<typeof queue>): SyncChannel => ({
    async send (frame) {
      if (out.ended()) throw new CodecError('The sync channel is closed')
      out.push(Uint8Array.from(frame))
    },
    receive: () => into.read(),
    close () {
      out.end()
      into.end()
    }
  })
  return [side(ab, ba), side(ba, ab)]
}
