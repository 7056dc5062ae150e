import { fc, fuzzInputs, fuzzTest, mutatedBytes } from '@kiln/interface-tests/fuzz'
import * as dagCbor from '@ipld/dag-cbor'
import { describe, expect } from 'vitest'
import { decodeSyncMessage, encodeSyncMessage, syncFamilyRange, syncKeySpace, syncNetworkRange, type SyncMessage } from '../src/index.js'
import { cidOf, keysOf } from './sync-fixtures.js'

// The decoder of /kiln/sync/1.0.0: every frame a peer sends is read by decodeSyncMessage before the session sees it.
// What it accepts must encode back to exactly the bytes it came from (one encoding per message), but a `blocks` message,
// which is not re-encoded to compare (its blocks are checked against their CIDs where they are used): what it accepts
// of one must encode to a message that decodes to the same content.

const keys = keysOf(12)
const valid: SyncMessage[] = [
  { type: 'hello', version: [1, 0], network: 'test', interests: [syncNetworkRange('test')] },
  { type: 'hello', version: [1, 1], network: 'test', interests: [syncNetworkRange('test')], filter: { schemas: ['k3y52l7qbv1fry1fp4s0nxdxy', 'kjzl6cwe1jw147'], docs: ['kjzl6cwe1jw145as0el1h6ccdkwzwpw8ctl3arf6zfwvtwz9fnawkbvyd2eimen'] } },
  { type: 'hello', version: [1, 1], network: 'test', interests: [syncNetworkRange('test')], filter: { controllers: ['did:key:z6Mk', 'did:pkh:eip155:1:0xab'] } },
  { type: 'hello', version: [1, 3], network: 'main', interests: [syncFamilyRange('main', 'a'), syncFamilyRange('main', 'b')].sort((a, b) => Buffer.compare(a.start, b.start)) },
  { type: 'ranges', items: [{ ...syncKeySpace(), count: 12, hash: new Uint8Array(32).fill(3) }] },
  { type: 'ranges', items: [{ start: syncKeySpace().start, end: keys[4]!, keys: keys.slice(0, 4) }, { start: keys[4]!, end: syncKeySpace().end, count: 8, hash: new Uint8Array(32).fill(9) }] },
  { type: 'want', keys: keys.slice(2, 5) },
  { type: 'blocks', entries: [{ key: keys[0]!, doc: 'kjzl6cwe1jw145as0el1h6ccdkwzwpw8ctl3arf6zfwvtwz9fnawkbvyd2eimen', blocks: [{ cid: cidOf('a'), bytes: Uint8Array.of(0xa0) }, { cid: cidOf('b'), bytes: new Uint8Array(40) }] }] },
  { type: 'done' },
  { type: 'error', reason: 'LimitExceededError: too many rounds' }
]
const encoded = valid.map(encodeSyncMessage)

/**
 * Hellos with filters of any shape: lists of any strings, in any order, sometimes a list that is not one, so that the
 * filter's caps, order and types are all reached (the generic mutations rarely make a well-formed filter).
 */
const strings = fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.string({ minLength: 250, maxLength: 270 }), fc.constantFrom('a', 'b', 'did:key:z')), { maxLength: 6 })
const filters = fc.record({
  schemas: fc.oneof(strings, strings.map((s) => [...new Set(s)].sort()), fc.constant(Array.from({ length: 1001 }, (_, i) => `s${String(i).padStart(4, '0')}`))),
  controllers: fc.oneof(strings.map((s) => [...new Set(s)].sort()), fc.integer()),
  docs: strings.map((s) => [...new Set(s)].sort())
}, { requiredKeys: [] })
const hellos = filters.map((filter) => dagCbor.encode({ type: 'hello', version: [1, 1], network: 'test', interests: [], filter }))

describe('sync messages', () => {
  fuzzTest({
    name: 'network.sync-message',
    inputs: fuzzInputs(fc.oneof(fc.constantFrom(...encoded), hellos), mutatedBytes, fc.uint8Array({ maxLength: 400 })),
    run: (bytes) => decodeSyncMessage(bytes),
    errors: ['CodecError', 'LimitExceededError'],
    accepted: (bytes, message) => {
      const again = encodeSyncMessage(message as SyncMessage)
      if ((message as SyncMessage).type === 'blocks') expect(decodeSyncMessage(again)).toEqual(message)
      else expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true)
    }
  })
})
