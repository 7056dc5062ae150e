/**
 * The one place Kiln records become blocks: dag-cbor for unsigned records, dag-jose for signed ones, sha2-256 CIDs,
 * the shape checks of each commit kind, and the JSON wire forms of Ceramic's HTTP API.
 * @packageDocumentation
 */
export { parseCID, cidFromBytes, verifyBlock, equalBytes } from './cid.js'
export { DAG_CBOR, encodeRecord, decodeRecord } from './dag-cbor.js'
export { DAG_JOSE, encodeJWS, decodeJWS } from './dag-jose.js'
export { signRecord, openSignedCommit, type SignedBlocks } from './signed.js'
export { isSignedCommit, asGenesisRecord, asUpdateRecord, asAnchorRecord, asAnchorProof, unsignedRecordKind } from './commit-shape.js'
export { commitToJSON, commitFromJSON, bytesToBase64, base64ToBytes, type SignedCommitJSON } from './json.js'
export { CodecError, InvalidCommitError } from './errors.js'
export { docStateToJSON, docStateFromJSON, type DocStateJSON } from './state-json.js'
export { encodeCar, decodeCar } from './car.js'
export { encodeHeadRecord, decodeHeadRecord } from './head.js'
/** What the storage engines share: a batch that queues its writes, and the checks of what is queued. */
export { queuedBatch, encodeHeadNow, isPosition, checkPosition, looksLikeDocHead, unstorableWrite, type QueuedWrite, type QueuedBatchInit } from './storage-batch.js'
/**
 * Byte helpers the other packages use instead of Buffer, so that they run in a browser too: Node's native codecs in
 * Node, portable ones in the browser build (package.json `imports`, `browser` condition).
 */
export { utf8ByteLength, includesBytes, latin1String, toBase64url, fromBase64urlLenient } from '#platform/bytes'
export { concatBytes } from './concat-bytes.js'
