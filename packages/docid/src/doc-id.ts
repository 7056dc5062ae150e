import type { CID } from 'multiformats/cid'
import { CommitID } from './commit-id.js'
import { doctypes, toTypeCode } from './doctypes.js'
import { decodeBytes, decodeString, encodeParts, encodeString, toCID } from './wire.js'

const TAG = Symbol.for('@kiln/docid/DocID')

/**
 * The id of a document: its doctype code and the CID of its genesis record. Byte-compatible with Ceramic's `StreamID`.
 * Immutable; the binary and string forms are computed once, on first use.
 */
export class DocID {
  /** The doctype code (0 tile, 1 caip10-link, …). */
  readonly type: number
  /** The CID of the genesis record. */
  readonly cid: CID
  #bytes: Uint8Array | undefined
  #string: string | undefined

  /** Builds the DocID of the document of doctype `type` (a code or a registered name) whose genesis record is `cid`. */
  constructor (type: number | string, cid: CID | string) {
    this.type = toTypeCode(type)
    this.cid = toCID(cid, 'genesis CID')
  }

  /** Parses `k…`, `ceramic://k…` or `/ceramic/k…`; a CommitID (or a `?commit=`) is rejected, like Ceramic's StreamID. */
  static fromString (input: string): DocID {
    const parts = decodeString(input, 'DocID')
    return new DocID(parts.type, parts.genesis)
  }

  /** Parses the binary form; bytes carrying a commit are rejected, like Ceramic's StreamID. */
  static fromBytes (bytes: Uint8Array): DocID {
    const parts = decodeBytes(bytes, 'DocID')
    return new DocID(parts.type, parts.genesis)
  }

  /** The registered name of {@link type}; throws `UnknownDoctypeError` for a code nobody registered. */
  get typeName (): string {
    return doctypes.nameOf(this.type)
  }

  /** The binary form `varint(0xce) ‖ varint(type) ‖ cid`. Shared and cached: do not mutate it. */
  get bytes (): Uint8Array {
    return (this.#bytes ??= encodeParts(this.type, this.cid, undefined))
  }

  /** This DocID itself (so that a DocID and a CommitID both answer `baseID`). */
  get baseID (): DocID {
    return this
  }

  /** Marks instances so that {@link isDocID} recognises them across copies of this package. */
  get [TAG] (): true {
    return true
  }

  /** The CommitID of this document at `commit`; `0`, `null` or the genesis CID give the genesis CommitID. */
  atCommit (commit: CID | string | 0 | null): CommitID {
    return new CommitID(this.type, this.cid, commit)
  }

  /** True when `other` is a DocID of the same type and genesis CID (a CommitID never equals a DocID). */
  equals (other: unknown): boolean {
    return isDocID(other) && other.type === this.type && other.cid.equals(this.cid)
  }

  /** The multibase base36 string form, `k…`. */
  toString (): string {
    return (this.#string ??= encodeString(this.bytes))
  }

  /** The URL form, `ceramic://k…`. */
  toUrl (): string {
    return `ceramic://${this.toString()}`
  }

  /** The string form, so that `JSON.stringify` writes a DocID as Ceramic's clients expect. */
  toJSON (): string {
    return this.toString()
  }

  /** How Node's `util.inspect` (and so `console.log`) shows a DocID. */
  [Symbol.for('nodejs.util.inspect.custom')] (): string {
    return `DocID(${this.toString()})`
  }
}

/** True when `value` is a {@link DocID} (from this or another copy of the package). */
export function isDocID (value: unknown): value is DocID {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TAG] === true
}
