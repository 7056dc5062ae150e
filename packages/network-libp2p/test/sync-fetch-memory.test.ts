import { DocID } from '@kiln/docid'
import type { Block, SyncSource } from '@kiln/interface'
import { describe, expect, it } from 'vitest'
import {
  compareSyncKeys, decodeSyncMessage, encodeSyncMessage, fetchSyncWanted, MAX_SYNC_MESSAGE_BYTES, parseSyncKey, syncChannelPair, type SyncChannel
} from '../src/index.js'
import { cidOf, hexOf, keyOf } from './sync-fixtures.js'

// A peer answering a fetch with far more bytes than any cap: the node reads no further while what it received and has
// not applied yet is over `maxPendingBytes`, so the bytes it holds stay bounded however much the peer sends.
describe('fetching wanted keys from a peer', () => {
  it('holds a bounded number of received, unapplied bytes however much the peer sends', async () => {
    const cap = 2 * MAX_SYNC_MESSAGE_BYTES
    const docOf = new Map<string, string>()
    const keys = Array.from({ length: 96 }, (_, i) => {
      const key = keyOf(Math.floor(i / 4), i % 4)
      docOf.set(hexOf(key), new DocID('tile', cidOf(`genesis ${Math.floor(i / 4)}`)).toString())
      return key
    }).sort(compareSyncKeys)
    const [node, peer] = syncChannelPair()
    let read = 0
    let applied = 0
    let held = 0
    const counting: SyncChannel = {
      send: node.send,
      close: node.close,
      async * receive () {
        for await (const frame of node.receive()) {
          read += frame.length
          held = Math.max(held, read - applied)
          yield frame
        }
      }
    }
    // A slow pipeline: each apply takes a turn of the event loop, so the peer could run far ahead of it.
    const source: SyncSource = {
      commits: async function * () {},
      onCommit: () => () => {},
      blocksOf: async () => [],
      async apply (_docId: string, _tip, blocks: Block[]) {
        await new Promise<void>((resolve) => { setImmediate(resolve) }) // timing: plays a pipeline slower than the peer
        applied += blocks.reduce((n, b) => n + b.bytes.length, 0)
      }
    }
    const pad = new Uint8Array(240 * 1024)
    const serving = (async () => {
      for await (const frame of peer.receive()) {
        const message = decodeSyncMessage(frame)
        if (message.type !== 'want') return
        for (const key of message.keys) {
          const blocks = [0, 1, 2, 3].map((n) => ({ cid: n === 0 ? parseSyncKey(key).commit : cidOf(`pad ${hexOf(key)} ${n}`), bytes: pad }))
          await peer.send(encodeSyncMessage({ type: 'blocks', entries: [{ key, doc: docOf.get(hexOf(key))!, blocks }] }))
        }
        await peer.send(encodeSyncMessage({ type: 'done' }))
      }
    })()
    const outcome = await fetchSyncWanted(counting, keys, source, { maxPendingBytes: cap })
    await serving
    expect(outcome).toMatchObject({ received: 96, applied: 96, documents: 24, refused: 0, failed: 0 })
    // about 90 MiB went through; at most the cap and the message being read were held at once
    expect(read).toBeGreaterThan(80 * MAX_SYNC_MESSAGE_BYTES)
    expect(held).toBeLessThanOrEqual(cap + MAX_SYNC_MESSAGE_BYTES)
  })
})
