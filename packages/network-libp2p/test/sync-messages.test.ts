import * as dagCbor from '@ipld/dag-cbor'
import { describe, expect, it } from 'vitest'
import { decodeSyncMessage, encodeSyncMessage, MAX_SYNC_MESSAGE_BYTES, syncKeySpace, type SyncMessage } from '../src/index.js'
import { keysOf } from './sync-fixtures.js'

const refusal = (name: string): unknown => expect.objectContaining({ name })

describe('sync message codec', () => {
  it('round-trips every message type', () => {
    const keys = keysOf(3)
    const messages: SyncMessage[] = [
      { type: 'hello', version: [1, 0], network: 'n', interests: [syncKeySpace()] },
      { type: 'ranges', items: [{ ...syncKeySpace(), keys }] },
      { type: 'want', keys },
      { type: 'blocks', entries: [] },
      { type: 'done' },
      { type: 'error', reason: 'why' }
    ]
    for (const message of messages) expect(decodeSyncMessage(encodeSyncMessage(message))).toEqual(message)
  })

  it('refuses unknown types, extra fields, unsorted keys and non-canonical bytes with CodecError', () => {
    const keys = keysOf(3)
    const bad: unknown[] = [
      { type: 'hi' },
      { type: 'done', extra: 1 },
      { type: 'want', keys: [keys[1], keys[0]] },
      { type: 'want', keys: [new Uint8Array(10)] },
      { type: 'ranges', items: [{ start: syncKeySpace().end, end: syncKeySpace().start, count: 0, hash: new Uint8Array(32) }] },
      { type: 'ranges', items: [{ ...syncKeySpace(), count: 1, hash: new Uint8Array(31) }] },
      { type: 'hello', version: [1], network: 'n', interests: [] }
    ]
    for (const value of bad) expect(() => decodeSyncMessage(dagCbor.encode(value))).toThrow(refusal('CodecError'))
    expect(() => decodeSyncMessage(Uint8Array.of(0xff))).toThrow(refusal('CodecError'))
    // a count written as a float is the same value in another encoding
    const float = dagCbor.encode({ type: 'ranges', items: [{ ...syncKeySpace(), count: 1.5, hash: new Uint8Array(32) }] })
    expect(() => decodeSyncMessage(float)).toThrow(refusal('CodecError'))
  })

  it('refuses oversized messages and lists with LimitExceededError', () => {
    expect(() => decodeSyncMessage(new Uint8Array(MAX_SYNC_MESSAGE_BYTES + 1))).toThrow(refusal('LimitExceededError'))
    const keys = keysOf(1001).sort(Buffer.compare)
    expect(() => decodeSyncMessage(dagCbor.encode({ type: 'want', keys }))).toThrow(refusal('LimitExceededError'))
    expect(() => encodeSyncMessage({ type: 'want', keys })).toThrow(refusal('LimitExceededError'))
  })
})
