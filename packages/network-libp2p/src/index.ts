/**
 * Kiln's peer-to-peer network on libp2p 3: TCP and WebSockets, noise, yamux, identify, ping and gossipsub, with
 * Ceramic's pubsub messages (UPDATE, QUERY, RESPONSE, KEEPALIVE) on one topic per network, and every block the node
 * holds served over helia's bitswap. `createNode({ network: libp2pNetwork({ bootstrap: [...] }) })`.
 * @packageDocumentation
 */
// First: libp2p needs these on Node 20 before any of its modules runs.
import './polyfills.js'

export { libp2pNetwork, DEFAULT_LISTEN, DEFAULT_NETWORK, MAX_BLOCK_BYTES, type Libp2pNetwork, type Libp2pNetworkInit } from './network.js'
export { decodeMessage, encodeMessage, queryId, MessageType, MAX_MESSAGE_BYTES, MAX_RESPONSE_TIPS, type PubsubMessage, type UpdateMessage, type QueryMessage, type ResponseMessage, type KeepaliveMessage } from './messages.js'
export type { TipAnnouncement, Network, NetworkComponents, NetworkInfo } from '@kiln/interface'
export { loadOrCreatePeerKey } from './peer-key.js'
export { DEFAULT_PEER_RATES, DEFAULT_BAN_POLICY, type PeerRates, type BanPolicy } from './peer-limits.js'
