// Catch-up sync's reconciliation (docs/sync.md): what a session costs between two equal nodes and between nodes that
// differ by a few keys, over an in-memory channel (the figures are the protocol's, not a transport's), and how long a
// range summary of 10,000 keys takes.
import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { memorySyncKeyStore, summariseSyncKeys, syncChannelPair, syncKey, syncNetworkRange, syncReconcile } from '@kiln/network-libp2p'
import { CID } from 'multiformats/cid'
import { create as digestOf } from 'multiformats/hashes/digest'
import { report, reportCount } from './measure.mjs'

const KEYS = 10_000
const cidOf = (label) => CID.create(1, dagCbor.code, digestOf(0x12, createHash('sha256').update(label).digest()))
const keys = Array.from({ length: KEYS }, (_, i) => syncKey({ network: 'bench', family: '', genesis: cidOf(`doc ${Math.floor(i / 10)}`), height: i % 10, commit: cidOf(`commit ${i}`) }))

async function session (a, b) {
  const [ca, cb] = syncChannelPair()
  const interests = [syncNetworkRange('bench')]
  const [mine] = await Promise.all([
    syncReconcile({ role: 'initiator', network: 'bench', store: a, interests, channel: ca }),
    syncReconcile({ role: 'responder', network: 'bench', store: b, interests, channel: cb })
  ])
  return mine
}

export default async function syncBench () {
  const equal = await session(memorySyncKeyStore(keys), memorySyncKeyStore(keys))
  reportCount('sync.rounds_when_equal', equal.rounds, 'rounds', `two nodes holding the same ${KEYS} keys`)
  reportCount('sync.bytes_when_equal', equal.bytesSent + equal.bytesReceived, 'bytes', 'the whole session, hellos and dones included')
  const differ = await session(memorySyncKeyStore(keys), memorySyncKeyStore(keys.filter((_, i) => i % 1000 !== 7)))
  reportCount('sync.rounds_10_missing', differ.rounds, 'rounds', `${KEYS} keys against ${KEYS - 10}: the 10 missing found`)
  reportCount('sync.bytes_10_missing', differ.bytesSent + differ.bytesReceived, 'bytes')
  summariseSyncKeys(keys.slice(0, 100))
  const start = performance.now()
  summariseSyncKeys(keys)
  report('sync.summary_10k_ms', performance.now() - start, 'ms', `the count and hash of ${KEYS} keys`)
}
