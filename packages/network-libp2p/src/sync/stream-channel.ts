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
      // Chunks are kept as they come and joined only once a whole frame is there: a 1 MiB frame in 64 KiB chunks is
      // copied once, not once per chunk.
      const pending: Uint8Array[] = []
      let pendingBytes = 0
      const take = (length: number): Uint8Array => {
        const out = new Uint8Array(length)
        let at = 0
        while (at < length) {
          const head = pending[0]!
          const need = length - at
          if (head.length <= need) {
            out.set(head, at)
            at += head.length
            pending.shift()
          } else {
            out.set(head.subarray(0, need), at)
            pending[0] = head.subarray(need)
            at += need
          }
        }
        pendingBytes -= length
        return out
      }
      /** The length prefix of the next frame, read across chunks without consuming it (`pendingBytes` ≥ 4). */
      const peekLength = (): number => {
        const prefix = new Uint8Array(PREFIX)
        let at = 0
        for (const chunk of pending) {
          const n = Math.min(chunk.length, PREFIX - at)
          prefix.set(chunk.subarray(0, n), at)
          at += n
          if (at === PREFIX) break
        }
        return new DataView(prefix.buffer).getUint32(0)
      }
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
        if (bytes.length === 0) continue
        pending.push(bytes)
        pendingBytes += bytes.length
        while (pendingBytes >= PREFIX) {
          const length = peekLength()
          if (length > MAX_SYNC_MESSAGE_BYTES) {
            throw new LimitExceededError(`The peer announced a sync frame of ${length} bytes, over the ${MAX_SYNC_MESSAGE_BYTES}-byte limit`, { details: { bytes: length, limit: MAX_SYNC_MESSAGE_BYTES } })
          }
          if (pendingBytes < PREFIX + length) break
          take(PREFIX)
          yield take(length)
        }
      }
      if (pendingBytes > 0) throw new CodecError(`The sync stream ended inside a frame (${pendingBytes} bytes left over)`)
    },
    close () {
      stream.close().catch(() => { stream.abort(new CodecError('The sync stream could not be closed')) })
    }
  }
}
