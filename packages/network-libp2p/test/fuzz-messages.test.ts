import { fc, fuzzInputs, fuzzTest, mutatedJson, mutatedString } from '@kiln/interface-tests/fuzz'
import { DocID } from '@kiln/docid'
import { describe, expect } from 'vitest'
import { decodeMessage, encodeMessage, queryId, type PubsubMessage } from '../src/index.js'
import { blockOf } from './fixtures.js'

// The decoder of the pubsub topic: whatever a peer publishes is read by decodeMessage before anything else sees it.
// What it accepts must encode back to a message that decodes to the same thing, with ids and tips in canonical form.

const tips = await Promise.all([1, 2, 3].map(async (i) => (await blockOf({ tip: i })).cid))
const streams = await Promise.all([1, 2].map(async (i) => new DocID('tile', (await blockOf({ doc: i })).cid).toString()))
const valid: unknown[] = [
  { typ: 0, stream: streams[0], tip: tips[0]!.toString() },
  { typ: 0, stream: streams[1], tip: tips[1]!.toString(), model: streams[0] },
  { typ: 1, id: await queryId(streams[0]!), stream: streams[0] },
  { typ: 2, id: await queryId(streams[1]!), tips: { [streams[0]!]: tips[2]!.toString(), [streams[1]!]: tips[0]!.toString() } },
  { typ: 3, ts: 1_700_000_000_000, ver: '2.46.0', ipfsVer: '0.18.0' }
]
const encoder = new TextEncoder()

describe('pubsub messages', () => {
  fuzzTest({
    name: 'network.pubsub-message',
    inputs: fc.oneof(
      fuzzInputs(fc.constantFrom(...valid), mutatedJson, fc.jsonValue({ maxDepth: 3 })).map((json) => JSON.stringify(json) ?? 'null'),
      fuzzInputs(fc.constantFrom(...valid.map((json) => JSON.stringify(json))), mutatedString, fc.string({ maxLength: 300 }))
    ).map((text) => encoder.encode(text)),
    run: (bytes) => decodeMessage(bytes),
    errors: ['CodecError', 'LimitExceededError'],
    accepted: (_bytes, message) => {
      expect(decodeMessage(encodeMessage(message as PubsubMessage))).toEqual(message)
    }
  })
})
