import { describe, expect, it } from 'vitest'
import { streamSyncChannel } from '../src/index.js'
import type { Stream } from '@libp2p/interface'

// The framing of sync streams, on a stand-in stream that delivers bytes in chunks cut anywhere, prefixes included.

/** A stream whose reading yields `chunks` and whose sends are recorded. */
function chunkedStream (chunks: Uint8Array[]): Stream {
  return {
    async * [Symbol.asyncIterator] () { for (const chunk of chunks) yield chunk },
    send: () => true,
    onDrain: async () => {},
    close: async () => {},
    abort: () => {}
  } as unknown as Stream
}

function framed (frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + 4 + f.length, 0))
  let at = 0
  for (const frame of frames) {
    new DataView(out.buffer).setUint32(at, frame.length)
    out.set(frame, at + 4)
    at += 4 + frame.length
  }
  return out
}

describe('sync stream frames', () => {
  it('reads back every frame whatever the chunk boundaries, prefixes split across chunks included', async () => {
    const frames = [Uint8Array.of(1), new Uint8Array(70_000).fill(2), new Uint8Array(0), Uint8Array.from({ length: 300 }, (_, i) => i % 256)]
    const bytes = framed(frames)
    for (const size of [1, 3, 5, 4096, 65_536, bytes.length]) {
      const chunks: Uint8Array[] = []
      for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.slice(at, at + size))
      const read: Uint8Array[] = []
      for await (const frame of streamSyncChannel(chunkedStream(chunks)).receive()) read.push(frame)
      expect(read, `chunks of ${size}`).toEqual(frames)
    }
  })

  it('refuses a stream that ends inside a frame, by name', async () => {
    const bytes = framed([new Uint8Array(10)]).slice(0, 9)
    const reading = (async () => { for await (const frame of streamSyncChannel(chunkedStream([bytes])).receive()) void frame })()
    await expect(reading).rejects.toMatchObject({ name: 'CodecError' })
  })
})
