/**
 * Kiln's node for the browser: everything a page needs to run a node, in one module that `build.mjs` bundles into
 * `dist/kiln.js`. Core, the tile and rules doctypes, did:key signing (WebCrypto Ed25519) and IndexedDB storage; the
 * browser variants of signing and codec are chosen by their package.json conditions when the bundle is built.
 * @packageDocumentation
 */
export { createNode, memoryStorage, type KilnNode, type NodeInit, type DocSnapshot } from '@kiln/core'
export { tile, makeGenesis, makeUpdate, type TileContent } from '@kiln/doctype-tile'
export { rulesDoctype, makeRulesGenesis, makeRulesUpdate } from '@kiln/rules'
export {
  keyDidSigner, randomSeed, seedFromHex, seedToHex, createVerifier, createThreadpoolVerifier, signDagJWS
} from '@kiln/signing'
export { browserStorage, type BrowserStorageInit } from '@kiln/storage-browser'
export { DocID, CommitID } from '@kiln/docid'
export { KilnError, InvalidSignatureError, UnauthorizedSignerError, StorageError } from '@kiln/interface'
export { libp2pNetwork, type Libp2pNetwork, type Libp2pNetworkInit } from '@kiln/network-libp2p'
