import {
  AnchorStatus, CodecError,
  type AnchorProof, type DocMetadata, type DocState, type LogEntry, type ProvisionalCommit, type VoidedCommit
} from '@kiln/interface'
import { CID } from 'multiformats/cid'
import { parseCID } from './cid.js'
import { bytesToBase64 } from './json.js'

/** A document state in the JSON form of Ceramic's HTTP API. */
export interface DocStateJSON {
  type: number
  /** The doctype's name (Ceramic's for codes 0–4). */
  doctype?: string
  content: unknown
  metadata: Record<string, unknown>
  signature: number
  /** The enum name: `NOT_REQUESTED`, `PENDING`, `PROCESSING`, `ANCHORED`, `FAILED`, `REPLACED`. */
  anchorStatus: keyof typeof AnchorStatus
  anchorProof?: { chainId: string, root: string, txHash: string, txType?: string, [extension: string]: unknown }
  log: Array<{ cid: string, type: number, timestamp?: number }>
  /** Kiln: commits of a document with rules accepted under conditions an anchor has not settled yet. */
  provisional?: ProvisionalCommit[]
  /** Kiln: commits voided by a missed deadline. */
  voided?: VoidedCommit[]
}

const STATUS_NAMES = Object.keys(AnchorStatus) as Array<keyof typeof AnchorStatus>

function jsonValue (value: unknown): unknown {
  const cid = CID.asCID(value)
  if (cid !== null) return cid.toString()
  if (value instanceof Uint8Array) return bytesToBase64(value)
  if (Array.isArray(value)) return value.map(jsonValue)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]))
  }
  return value
}

/** Writes a state as Ceramic's HTTP API does: CIDs as strings, the anchor status by name, the doctype's name. */
export function docStateToJSON (state: DocState, doctype?: string): DocStateJSON {
  const json: DocStateJSON = {
    type: state.type,
    content: state.content,
    metadata: jsonValue(state.metadata) as Record<string, unknown>,
    signature: state.signature,
    anchorStatus: STATUS_NAMES.find((name) => AnchorStatus[name] === state.anchorStatus) ?? 'NOT_REQUESTED',
    log: state.log.map((entry) => entry.timestamp === undefined
      ? { cid: entry.cid.toString(), type: entry.type }
      : { cid: entry.cid.toString(), type: entry.type, timestamp: entry.timestamp })
  }
  if (doctype !== undefined) json.doctype = doctype
  if (state.anchorProof !== undefined) json.anchorProof = jsonValue(state.anchorProof) as DocStateJSON['anchorProof']
  if (state.provisional !== undefined) json.provisional = state.provisional
  if (state.voided !== undefined) json.voided = state.voided
  return json
}

function fail (message: string): never {
  throw new CodecError(`Invalid document state: ${message}`)
}

/** Reads a state from its JSON form; malformed input is a `CodecError`. */
export function docStateFromJSON (json: unknown): DocState {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('not an object')
  const value = json as Partial<DocStateJSON> & { next?: { content?: unknown, metadata?: Record<string, unknown> } }
  if (typeof value.type !== 'number') fail('type must be a number')
  if (value.metadata === null || typeof value.metadata !== 'object') fail('metadata must be an object')
  if (typeof value.signature !== 'number') fail('signature must be a number')
  const status = typeof value.anchorStatus === 'number' ? value.anchorStatus : AnchorStatus[value.anchorStatus as keyof typeof AnchorStatus]
  if (status === undefined || !Object.values(AnchorStatus).includes(status as AnchorStatus)) fail(`unknown anchorStatus ${String(value.anchorStatus)}`)
  if (!Array.isArray(value.log) || value.log.length === 0) fail('log must be a non-empty list')
  const log: LogEntry[] = value.log.map((entry, i) => {
    if (entry === null || typeof entry !== 'object') fail(`log[${i}] is not an object`)
    const out: LogEntry = { cid: parseCID(entry.cid, `log[${i}].cid`), type: entry.type as LogEntry['type'] }
    if (typeof entry.timestamp === 'number') out.timestamp = entry.timestamp
    return out
  })
  // Ceramic nodes may send pending changes as `next`; what clients show is `next ?? current`.
  const state: DocState = {
    type: value.type,
    content: value.next?.content ?? value.content,
    metadata: (value.next?.metadata ?? value.metadata) as DocMetadata,
    signature: value.signature as DocState['signature'],
    anchorStatus: status as AnchorStatus,
    log
  }
  if (value.anchorProof !== undefined && value.anchorProof !== null) {
    const proof = value.anchorProof
    state.anchorProof = { ...proof, root: parseCID(proof.root, 'anchorProof.root'), txHash: parseCID(proof.txHash, 'anchorProof.txHash') } as AnchorProof
  }
  if (Array.isArray(value.provisional) && value.provisional.length > 0) state.provisional = value.provisional
  if (Array.isArray(value.voided) && value.voided.length > 0) state.voided = value.voided
  return state
}
