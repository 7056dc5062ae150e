import { CodecError, LimitExceededError, TimeoutError } from '@kiln/interface'
import { MAX_SYNC_MESSAGE_BYTES } from './messages.js'
import type { SyncChannel } from './channel.js'
import type { Stream } from '@libp2p/interface'

/** The libp2p protocol of catch-up sync. */
export const SYNC_PROTOCOL = '/kiln/sync/1.0.0'

/** Bytes of the length prefix of a frame: a big-endian u32. */
const PREFIX = 4

/** A chunk as a libp2p stream yields it: bytes, or a list of byte arrays. */
type Chunk = Uint8Array | { subarray: () => Uint8Array }

function bytesOf (chunk: Chunk): Uint8Array {
  return chunk instanceof Uint8Array ? chunk : chunk.subarray()
}

/**
 * A sync channel over a libp2p stream: each frame is a big-endian u32 length then that many bytes. A frame over
 * {@link MAX_SYNC_MESSAGE_BYTES} is refused before it is read whole (`LimitExceededError`). Sending waits for the stream
 * to drain when its buffer is full, so a slow reader slows the writer instead of growing its memory.
 */
export function streamSyncChannel (stream: Stream, options: { inactivityMs?: number } = {}): SyncChannel {
  return {
    async send (frame) {
      if (frame.length > MAX_SYNC_MESSAGE_BYTES) {
        throw new LimitExceededError(`A sync frame of ${frame.length} bytes is over the ${MAX_SYNC_MESSAGE_BYTES}-byte limit`, { details: { bytes: frame.length, limit: MAX_SYNC_MESSAGE_BYTES } })
      }
      const prefix = new Uint8Array(PREFIX)
      new DataView(prefix.buffer).setUint32(0, frame.length)
      if (!stream.send(prefix)) await stream.onDrain()
      if (!stream.send(frame)) await stream.onDrain()
    },
    async * receive () {
      let buffered = new Uint8Array(0)
      const chunks = (stream as AsyncIterable<Chunk>)[Symbol.asyncIterator]()
      while (true) {
        // A peer silent for `inactivityMs` while a frame is awaited has its stream aborted: it holds nothing for long.
        let timer: NodeJS.Timeout | undefined
        const silence = options.inactivityMs === undefined
          ? undefined
          : new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => {
              const err = new TimeoutError(`The peer sent nothing on the sync stream for ${options.inactivityMs} ms`)
              stream.abort(err)
              reject(err)
            }, options.inactivityMs)
          })
        let next: IteratorResult<Chunk>
        try {
          next = silence === undefined ? await chunks.next() : await Promise.race([chunks.next(), silence])
        } finally {
          clearTimeout(timer)
        }
        if (next.done === true) break
        const bytes = bytesOf(next.value)
        const joined = new Uint8Array(buffered.length + bytes.length)
        joined.set(buffered)
        joined.set(bytes, buffered.length)
        buffered = joined
        while (buffered.length >= PREFIX) {
          const length = new DataView(buffered.buffer, buffered.byteOffset, PREFIX).getUint32(0)
          if (length > MAX_SYNC_MESSAGE_BYTES) {
            throw new LimitExceededError(`The peer announced a sync frame of ${length} bytes, over the ${MAX_SYNC_MESSAGE_BYTES}-byte limit`, { details: { bytes: length, limit: MAX_SYNC_MESSAGE_BYTES } })
          }
          if (buffered.length < PREFIX + length) break
          yield buffered.slice(PREFIX, PREFIX + length)
          buffered = buffered.slice(PREFIX + length)
        }
      }
      if (buffered.length > 0) throw new CodecError(`The sync stream ended inside a frame (${buffered.length} bytes left over)`)
    },
    close () {
      stream.close().catch(() => { stream.abort(new CodecError('The sync stream could not be closed')) })
    }
  }
}
