import type { CID } from 'multiformats/cid'
import { DocID } from './doc-id.js'
import { doctypes, toTypeCode } from './doctypes.js'
import { decodeBytes, decodeString, encodeParts, encodeString, toCID, toCommit } from './wire.js'

const TAG = Symbol.for('@kiln/docid/CommitID')

/**
 * The id of one commit of a document: its DocID and the commit's CID, or the genesis marker `0x00`. Byte-compatible
 * with Ceramic's `CommitID`. Immutable; the binary and string forms are computed once, on first use.
 */
export class CommitID {
  /** The doctype code of the document. */
  readonly type: number
  /** The CID of the document's genesis record. */
  readonly cid: CID
  /** The commit's CID, or `null` for the genesis commit. */
  readonly #commit: CID | null
  #bytes: Uint8Array | undefined
  #string: string | undefined
  #baseID: DocID | undefined

  /**
   * Builds the CommitID of the document (`type`, `genesis`) at `commit`; `0`, `null`, omitted or the genesis CID itself
   * give the genesis CommitID.
   */
  constructor (type: number | string, genesis: CID | string, commit: CID | string | 0 | null = null) {
    this.type = toTypeCode(type)
    this.cid = toCID(genesis, 'genesis CID')
    this.#commit = toCommit(this.cid, commit)
  }

  /** Parses `k…`, `ceramic://k…`, or a DocID with `?commit=<cid|0>`; a plain DocID is rejected, like Ceramic's. */
  static fromString (input: string): CommitID {
    const parts = decodeString(input, 'CommitID')
    return new CommitID(parts.type, parts.genesis, parts.commit ?? null)
  }

  /** Parses the binary form; bytes without a commit part are rejected, like Ceramic's CommitID. */
  static fromBytes (bytes: Uint8Array): CommitID {
    const parts = decodeBytes(bytes, 'CommitID')
    return new CommitID(parts.type, parts.genesis, parts.commit ?? null)
  }

  /** The DocID of the document this commit belongs to. */
  get baseID (): DocID {
    return (this.#baseID ??= new DocID(this.type, this.cid))
  }

  /** The registered name of {@link type}; throws `UnknownDoctypeError` for a code nobody registered. */
  get typeName (): string {
    return doctypes.nameOf(this.type)
  }

  /** The commit's CID; for the genesis commit, the genesis CID (as Ceramic answers). */
  get commit (): CID {
    return this.#commit ?? this.cid
  }

  /** True for the genesis commit (written `0x00` in the binary form). */
  get isGenesis (): boolean {
    return this.#commit === null
  }

  /** The binary form: the DocID bytes, then `0x00` or the commit CID. Shared and cached: do not mutate it. */
  get bytes (): Uint8Array {
    return (this.#bytes ??= encodeParts(this.type, this.cid, this.#commit))
  }

  /** Marks instances so that {@link isCommitID} recognises them across copies of this package. */
  get [TAG] (): true {
    return true
  }

  /** The CommitID of the same document at another commit. */
  atCommit (commit: CID | string | 0 | null): CommitID {
    return new CommitID(this.type, this.cid, commit)
  }

  /** True when `other` is a CommitID of the same document and commit (a DocID never equals a CommitID). */
  equals (other: unknown): boolean {
    return isCommitID(other) && other.type === this.type && other.cid.equals(this.cid) && other.commit.equals(this.commit)
  }

  /** The multibase base36 string form, `k…`. */
  toString (): string {
    return (this.#string ??= encodeString(this.bytes))
  }

  /** The URL form, `ceramic://k…`. */
  toUrl (): string {
    return `ceramic://${this.toString()}`
  }

  /** The string form, so that `JSON.stringify` writes a CommitID as Ceramic's clients expect. */
  toJSON (): string {
    return this.toString()
  }

  /** How Node's `util.inspect` (and so `console.log`) shows a CommitID. */
  [Symbol.for('nodejs.util.inspect.custom')] (): string {
    return `CommitID(${this.toString()})`
  }
}

/** True when `value` is a {@link CommitID} (from this or another copy of the package). */
export function isCommitID (value: unknown): value is CommitID {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TAG] === true
}
