/**
 * Kiln's peer-to-peer network on libp2p 3: TCP and WebSockets, noise, yamux, identify, ping and gossipsub, with
 * Ceramic's pubsub messages (UPDATE, QUERY, RESPONSE, KEEPALIVE) on one topic per network, and every block the node
 * holds served over helia's bitswap. `createNode({ network: libp2pNetwork({ bootstrap: [...] }) })`.
 * @packageDocumentation
 */
// First: libp2p needs these on Node 20 before any of its modules runs.
import '#platform/polyfills'

export { libp2pNetwork, DEFAULT_LISTEN, DEFAULT_NETWORK, MAX_BLOCK_BYTES, type Libp2pNetwork, type Libp2pNetworkInit } from './network.js'
export { decodeMessage, encodeMessage, queryId, MessageType, MAX_MESSAGE_BYTES, MAX_RESPONSE_TIPS, type PubsubMessage, type UpdateMessage, type QueryMessage, type ResponseMessage, type KeepaliveMessage } from './messages.js'
export type { TipAnnouncement, Network, NetworkComponents, NetworkInfo } from '@kiln/interface'
export { loadOrCreatePeerKey } from '#platform/peer-key'
export { DEFAULT_PEER_RATES, DEFAULT_BAN_POLICY, type PeerRates, type BanPolicy } from './peer-limits.js'

// Catch-up sync's transport-independent core (docs/sync.md): keys, range summaries, the key store, messages, sessions.
export { syncKey, parseSyncKey, compareKeys as compareSyncKeys, inSyncRange, syncKeySpace, networkRange as syncNetworkRange, familyRange as syncFamilyRange, documentRange as syncDocumentRange, syncDocumentHash, SYNC_KEY_VERSION, SYNC_KEY_PREFIX_BYTES, MAX_SYNC_KEY_BYTES, MAX_SYNC_HEIGHT, type SyncRange, type SyncKeyParts, type ParsedSyncKey } from './sync/keys.js'
export { syncKeyHash, SyncSummer, summariseSyncKeys, combineSyncSummaries, syncSummariesEqual, SYNC_HASH_BYTES, type SyncSummary } from './sync/summary.js'
export { memorySyncKeyStore, type SyncKeyStore } from './sync/store.js'
export { encodeSyncMessage, decodeSyncMessage, isSyncKeysItem, SYNC_PROTOCOL_VERSION, MAX_SYNC_MESSAGE_BYTES, MAX_SYNC_MESSAGE_ITEMS, MAX_SYNC_NETWORK_BYTES, MAX_SYNC_REASON_BYTES, type SyncMessage, type SyncHelloMessage, type SyncRangesMessage, type SyncRangeItem, type SyncSummaryItem, type SyncKeysItem, type SyncWantMessage, type SyncBlocksMessage, type SyncBlock, type SyncDoneMessage, type SyncErrorMessage } from './sync/messages.js'
export { syncChannelPair, type SyncChannel } from './sync/channel.js'
export { normaliseSyncFilter, syncFilterOf, syncFilterMatches, filteredSyncKeyStore, genesisFactsOfBlocks, SyncDocumentIndex, MAX_SYNC_FILTER_ENTRIES, MAX_SYNC_FILTER_STRING_BYTES, type SyncFilter, type SyncDocumentFacts } from './sync/interests.js'
export { streamSyncChannel, SYNC_PROTOCOL } from './sync/stream-channel.js'
export { SyncScheduler, DEFAULT_SYNC_SCHEDULE, SOON_COST_FACTOR, type SyncSchedule, type SyncRun, type PeerSyncStatus } from './sync/scheduler.js'
export { SYNC_BLOCKS_PROTOCOL, MAX_WANTED_PER_STREAM, serveBlocks as serveSyncBlocks, fetchWanted as fetchSyncWanted, type FetchOutcome as SyncFetchOutcome } from './sync/transfer.js'
export { reconcile as syncReconcile, normaliseSyncRanges, intersectSyncRanges, DEFAULT_SYNC_LIMITS, DEFAULT_SYNC_SPLITTING, type SyncLimits, type SyncSplitting, type SyncSessionInit, type SyncOutcome } from './sync/session.js'
