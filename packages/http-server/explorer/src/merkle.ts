// The anchor check the page runs itself: from the proof block to the Merkle root, down the anchor commit's path to a
// leaf that must be the anchored commit. Every block is fetched raw from the node and checked against its CID first,
// so that a node (or a store) that altered one is caught here, not trusted.
import { decodeCbor, isCidLink, type CborValue } from './cbor.js'
import { checkBlockHash, cidToString } from './cid.js'

/** The verdict shown beside an anchor proof. */
export type Verdict = { ok: true, steps: number } | { ok: false, reason: string }

/** The anchor commit as the log route gives it (CIDs as strings). */
export interface AnchorCommitJSON { id?: unknown, prev?: unknown, proof?: unknown, path?: unknown }

/** Reads a block's bytes by CID string. */
export type FetchBlock = (cid: string) => Promise<Uint8Array>

/** The longest path walked, as @kiln/anchor-merkle's verifier bounds it. */
const MAX_PATH_DEPTH = 64

/** Fetches `cid`, checks its hash and decodes it; a failure is the reason. */
async function readNode (cid: string, fetchBlock: FetchBlock): Promise<{ value: CborValue } | { reason: string }> {
  let bytes: Uint8Array
  try {
    bytes = await fetchBlock(cid)
  } catch (err) {
    return { reason: `block ${cid} cannot be read: ${err instanceof Error ? err.message : String(err)}` }
  }
  const mismatch = await checkBlockHash(cid, bytes)
  if (mismatch !== undefined) return { reason: mismatch }
  const decoded = decodeCbor(bytes)
  if (!decoded.ok) return { reason: `block ${cid} is not DAG-CBOR: ${decoded.reason}` }
  return { value: decoded.value }
}

/**
 * Verifies the Merkle inclusion of an anchor: the proof block hashes to `commit.proof` and names a root, and walking
 * `commit.path` ("0/1/…", 0 = left) from that root through hash-checked nodes ends at `commit.prev`.
 */
export async function verifyAnchor (commit: AnchorCommitJSON, fetchBlock: FetchBlock): Promise<Verdict> {
  const { prev, proof } = commit
  const path = commit.path ?? ''
  if (typeof prev !== 'string' || typeof proof !== 'string') return { ok: false, reason: 'the anchor commit has no prev or proof CID' }
  if (typeof path !== 'string' || !/^([01](\/[01])*)?$/.test(path)) return { ok: false, reason: `malformed Merkle path ${JSON.stringify(path)}` }
  const steps = path === '' ? [] : path.split('/')
  if (steps.length > MAX_PATH_DEPTH) return { ok: false, reason: `the Merkle path has ${steps.length} steps, more than ${MAX_PATH_DEPTH}` }

  const proofNode = await readNode(proof, fetchBlock)
  if ('reason' in proofNode) return { ok: false, reason: proofNode.reason }
  const root = (proofNode.value as { root?: unknown } | null)?.root
  if (!isCidLink(root)) return { ok: false, reason: `proof ${proof} names no Merkle root` }

  let current = cidToString(root.cid)
  for (const [depth, step] of steps.entries()) {
    const node = await readNode(current, fetchBlock)
    if ('reason' in node) return { ok: false, reason: `Merkle node at depth ${depth}: ${node.reason}` }
    if (!Array.isArray(node.value) || node.value.length < 2 || node.value.length > 3) {
      return { ok: false, reason: `Merkle node ${current} at depth ${depth} is not [left, right]` }
    }
    const child = node.value[step === '0' ? 0 : 1]
    if (!isCidLink(child)) return { ok: false, reason: `the path leads to an empty branch at depth ${depth}` }
    current = cidToString(child.cid)
  }
  if (current !== prev) return { ok: false, reason: `the path ends at ${current}, not at the anchored commit ${prev}` }
  return { ok: true, steps: steps.length }
}
