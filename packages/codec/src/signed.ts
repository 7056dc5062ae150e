import { CodecError, type Block, type DIDSigner, type SignedCommit } from '@kiln/interface'
import { decodeRecord, encodeRecord } from './dag-cbor.js'
import { encodeJWS } from './dag-jose.js'
import { verifyBlock } from './cid.js'

/** A signed commit with both its blocks: the dag-jose envelope (whose CID is the commit's) and the dag-cbor payload. */
export interface SignedBlocks<T = unknown> {
  commit: SignedCommit
  envelope: Block
  payload: Block
  record: T
}

/**
 * Encodes `record` as dag-cbor, has `signer` sign its CID as a DAG-JWS, and encodes the envelope as dag-jose. A signer
 * acting under a CACAO (a did:pkh session) carries its `cacaoBlock`, which the commit then carries too.
 */
export async function signRecord<T> (record: T, signer: Pick<DIDSigner, 'createDagJWS'> & { readonly cacaoBlock?: Block }): Promise<SignedBlocks<T>> {
  const payload = await encodeRecord(record)
  const jws = await signer.createDagJWS(payload.cid)
  const envelope = await encodeJWS(jws)
  const commit: SignedCommit = { jws, linkedBlock: payload.bytes }
  if (signer.cacaoBlock !== undefined) commit.cacaoBlock = signer.cacaoBlock.bytes
  return { commit, envelope, payload, record }
}

/**
 * Re-creates both blocks of a signed commit received in wire form and decodes its payload. The linked block must hash
 * to the CID the JWS payload names. Does not check the signature: that is `@kiln/signing`'s job.
 */
export async function openSignedCommit<T = unknown> (commit: SignedCommit): Promise<SignedBlocks<T>> {
  const envelope = await encodeJWS(commit.jws)
  const link = commit.jws.link
  if (link === undefined) throw new CodecError('Signed commit has no JWS link')
  await verifyBlock(link, commit.linkedBlock)
  const record = await decodeRecord<T>(commit.linkedBlock, link)
  return { commit, envelope, payload: { cid: link, bytes: commit.linkedBlock }, record }
}
