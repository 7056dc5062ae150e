import { encodeJWS, encodeRecord, isSignedCommit } from '@kiln/codec'
import type { Commit } from '@kiln/interface'
import type { CID } from 'multiformats/cid'

/** The CID a commit will have in the log: its dag-jose envelope's when signed, its record's otherwise. */
export async function commitCidOf (commit: Commit): Promise<CID> {
  return isSignedCommit(commit) ? (await encodeJWS(commit.jws)).cid : (await encodeRecord(commit)).cid
}
