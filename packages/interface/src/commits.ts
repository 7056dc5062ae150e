import type { CID } from 'multiformats/cid'

/** The header of a genesis record; `controllers` are the DIDs allowed to sign the document's commits. */
export interface GenesisHeader {
  controllers: string[]
  family?: string
  tags?: string[]
  /** CommitID string of the schema document the content must follow. */
  schema?: string
  /** Random bytes or string that makes an otherwise identical genesis unique; absent for deterministic documents. */
  unique?: string | Uint8Array
  forbidControllerChange?: boolean
  /**
   * Kiln: CommitID string of the rules document whose rules govern every update (see `docs/rules.md`). An update may
   * change it only as those rules allow.
   */
  rules?: string
}

/** The payload of a genesis commit. Signed when it carries `data`, unsigned dag-cbor otherwise. */
export interface GenesisRecord<Data = unknown> {
  header: GenesisHeader
  data?: Data
}

/** The header changes an update may carry; `{}` when nothing changes. */
export type UpdateHeader = Partial<Pick<GenesisHeader, 'controllers' | 'schema' | 'family' | 'tags' | 'rules'>> & {
  /**
   * Kiln: the evidence an update cites for its document's rules, by name: a CommitID string of another document,
   * read at that commit. Belongs to the commit, not to the metadata.
   */
  evidence?: Record<string, string>
}

/** The payload of an update commit: always signed; `data` is doctype-specific (a JSON-Patch for tiles). */
export interface UpdateRecord<Data = unknown> {
  id: CID
  prev: CID
  header?: UpdateHeader
  data: Data
}

/** An anchor commit: unsigned dag-cbor pointing at the proof and the path from the Merkle root to `prev`. */
export interface AnchorRecord {
  id: CID
  prev: CID
  proof: CID
  path: string
}

/** The proof block an anchor commit points at. `chainId` is CAIP-2 (`eip155:1`, `bip122:…`, `inmemory:12345`). */
export interface AnchorProof {
  chainId: string
  root: CID
  txHash: CID
  txType?: string
  [extension: string]: unknown
}

/** One signature of a general-form JWS, strings in base64url. */
export interface JWSSignature {
  protected: string
  signature: string
  header?: Record<string, unknown>
}

/** A DAG-JWS in general form: the payload is the base64url of a CID's bytes; `link` is that CID. */
export interface DagJWS {
  payload: string
  signatures: JWSSignature[]
  link?: CID
}

/** A signed commit as it travels: the JWS envelope and the dag-cbor block its payload links to. */
export interface SignedCommit {
  jws: DagJWS
  linkedBlock: Uint8Array
  cacaoBlock?: Uint8Array
}

/** What a commit can be before it is applied. */
export type Commit = GenesisRecord | UpdateRecord | AnchorRecord | SignedCommit

/** An IPLD block: its CID and its bytes. */
export interface Block {
  cid: CID
  bytes: Uint8Array
}
