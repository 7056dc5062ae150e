import { InvalidDocIDError } from '@kiln/interface'
import { base32 } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { varint } from 'multiformats'

/** The multicodec code every DocID and CommitID starts with (Ceramic's `STREAMID_CODEC`). */
export const DOCID_CODEC = 0xce

/**
 * Longest string form accepted. Base36 decoding is quadratic in the length, and these strings arrive in HTTP paths;
 * real ids are under 300 characters (two sha2-512 CIDs fit in about 220).
 */
export const MAX_STRING_LENGTH = 2048

/** Longest value quoted in an error message or its details. */
const MAX_SHOWN_LENGTH = 512

/** The parts of a DocID or CommitID: `commit` is `undefined` for a DocID and `null` for the genesis commit. */
export interface DocRefParts {
  type: number
  genesis: CID
  commit: CID | null | undefined
}

/** Which kind of id a caller asked for; decoding rejects the other kind. */
export type ExpectedKind = 'DocID' | 'CommitID' | 'any'

/** An `InvalidDocIDError` with `details: { value }`; `value` is quoted in the message, clipped when very long. */
export function invalidDocID (what: string, value: string, reason: string, cause?: unknown): InvalidDocIDError {
  const shown = value.length > MAX_SHOWN_LENGTH ? `${value.slice(0, MAX_SHOWN_LENGTH)}…` : value
  return new InvalidDocIDError(`Invalid ${what} ${JSON.stringify(shown)}: ${reason}`, {
    cause,
    details: { value: shown }
  })
}

/** A short description of a value that is neither a string nor bytes, for error messages. */
export function describe (value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  return typeof value
}

/** Checks that `code` can be a doctype code in a DocID: a non-negative safe integer. */
export function checkTypeCode (code: unknown): number {
  if (typeof code !== 'number' || !Number.isSafeInteger(code) || code < 0) {
    throw invalidDocID('doctype code', describe(code), 'must be a non-negative integer')
  }
  return code
}

/** Coerces a CID or its string form (base32, base58btc) to a CID; anything else is an `InvalidDocIDError`. */
export function toCID (value: unknown, what: string): CID {
  let cid = CID.asCID(value)
  if (cid === null) {
    if (typeof value !== 'string') throw invalidDocID(what, describe(value), 'expected a CID or a CID string')
    cid = parseCIDString(value, 'not a CID', failure(what, value))
  }
  if (!isWellFormedV0(cid)) throw invalidDocID(what, cid.toString(), 'a CIDv0 digest must be 32 bytes')
  return cid
}

/** Normalises a commit argument: `null`, `undefined`, `0` and `'0'` (and the genesis CID itself) mean the genesis commit. */
export function toCommit (genesis: CID, commit: unknown): CID | null {
  if (commit === null || commit === undefined || commit === 0 || commit === '0') return null
  if (typeof commit === 'number') throw invalidDocID('commit', String(commit), 'a commit number can only be 0 (the genesis commit)')
  const cid = toCID(commit, 'commit')
  return cid.equals(genesis) ? null : cid
}

/** The binary form: `varint(0xce) ‖ varint(type) ‖ genesis CID` then nothing (DocID), `0x00` (genesis) or the commit CID. */
export function encodeParts (type: number, genesis: CID, commit: CID | null | undefined): Uint8Array {
  const head = varint.encodingLength(DOCID_CODEC) + varint.encodingLength(type)
  const tail = commit === undefined ? 0 : commit === null ? 1 : commit.bytes.length
  const bytes = new Uint8Array(head + genesis.bytes.length + tail)
  varint.encodeTo(DOCID_CODEC, bytes, 0)
  varint.encodeTo(type, bytes, varint.encodingLength(DOCID_CODEC))
  bytes.set(genesis.bytes, head)
  if (commit !== undefined && commit !== null) bytes.set(commit.bytes, head + genesis.bytes.length)
  // a genesis marker is the 0x00 the array was allocated with
  return bytes
}

/** The base36 string form of binary `bytes`. */
export function encodeString (bytes: Uint8Array): string {
  return base36.encode(bytes)
}

/** Decodes the binary form; rejects a wrong prefix, truncation, a bad CID, trailing bytes and the unexpected kind. */
export function decodeBytes (input: unknown, expected: ExpectedKind): DocRefParts {
  if (!(input instanceof Uint8Array)) {
    throw invalidDocID(titleOf(expected), describe(input), 'expected bytes (a Uint8Array)')
  }
  const fail = failure(`${titleOf(expected)} bytes`, toHex(input))
  // a copy, so that a caller reusing its buffer cannot change the CIDs decoded from it
  return checkKind(decodeParts(new Uint8Array(input), fail), expected, fail)
}

/** Decodes `k…`, `ceramic://k…` and the legacy `/ceramic/k…`, each optionally followed by `?commit=<cid|0>`. */
export function decodeString (input: unknown, expected: ExpectedKind): DocRefParts {
  const title = titleOf(expected)
  if (typeof input !== 'string') throw invalidDocID(title, describe(input), 'expected a string')
  const fail = failure(title, input)
  if (input.length === 0) throw fail('empty string')
  if (input.length > MAX_STRING_LENGTH) throw fail(`longer than ${MAX_STRING_LENGTH} characters`)

  let rest = input
  if (rest.startsWith('ceramic://')) rest = rest.slice('ceramic://'.length)
  else if (rest.startsWith('/ceramic/')) rest = rest.slice('/ceramic/'.length)
  const queryAt = rest.indexOf('?')
  const id = queryAt === -1 ? rest : rest.slice(0, queryAt)
  const query = queryAt === -1 ? undefined : rest.slice(queryAt + 1)

  if (id.length === 0) throw fail('no id after the prefix')
  if (id[0] !== base36.prefix) throw fail(`not multibase base36 (must start with '${base36.prefix}')`)
  let bytes: Uint8Array
  try {
    bytes = base36.decode(id)
  } catch (err) {
    throw fail(`not valid base36 (${messageOf(err)})`, err)
  }
  // multiformats' base36 reads a character above U+00FF as some digit instead of refusing it
  if (base36.encode(bytes) !== id) throw fail('not valid base36 (a character outside its alphabet)')
  const parts = decodeParts(bytes, fail)
  return checkKind(query === undefined ? parts : withCommitQuery(parts, query, fail), expected, fail)
}

type Fail = (reason: string, cause?: unknown) => InvalidDocIDError

function failure (what: string, value: string): Fail {
  return (reason, cause) => invalidDocID(what, value, reason, cause)
}

function titleOf (expected: ExpectedKind): string {
  return expected === 'any' ? 'DocID or CommitID' : expected
}

function checkKind (parts: DocRefParts, expected: ExpectedKind, fail: Fail): DocRefParts {
  if (expected === 'DocID' && parts.commit !== undefined) {
    throw fail('this is a CommitID, not a DocID (use CommitID.fromString, CommitID.fromBytes or parseDocOrCommitID)')
  }
  if (expected === 'CommitID' && parts.commit === undefined) {
    throw fail('no commit: this is a DocID, not a CommitID (use docID.atCommit or parseDocOrCommitID)')
  }
  return parts
}

function decodeParts (bytes: Uint8Array, fail: Fail): DocRefParts {
  if (bytes.length === 0) throw fail('empty')
  const [codec, afterCodec] = readVarint(bytes, 0, 'the DocID codec', fail)
  if (codec !== DOCID_CODEC) {
    throw fail(`does not start with the DocID codec 0x${DOCID_CODEC.toString(16)} (found 0x${codec.toString(16)})`)
  }
  if (afterCodec === bytes.length) throw fail('ends before the doctype code')
  const [type, afterType] = readVarint(bytes, afterCodec, 'the doctype code', fail)
  if (afterType === bytes.length) throw fail('ends before the genesis CID')
  const [genesis, afterGenesis] = readCID(bytes, afterType, 'genesis CID', fail)

  if (afterGenesis === bytes.length) return { type, genesis, commit: undefined }
  if (bytes[afterGenesis] === 0) {
    const extra = bytes.length - afterGenesis - 1
    if (extra > 0) throw fail(`${extra} trailing byte(s) after the genesis commit marker 0x00`)
    return { type, genesis, commit: null }
  }
  const [commit, afterCommit] = readCID(bytes, afterGenesis, 'commit CID', fail)
  if (afterCommit !== bytes.length) throw fail(`${bytes.length - afterCommit} trailing byte(s) after the commit CID`)
  // Ceramic's rule: a commit equal to the genesis is the genesis commit, printed with 0x00
  return { type, genesis, commit: commit.equals(genesis) ? null : commit }
}

function withCommitQuery (parts: DocRefParts, query: string, fail: Fail): DocRefParts {
  const match = /^commit=([^&=]+)$/.exec(query)
  if (match === null) throw fail('the only query accepted is ?commit=<cid|0>')
  if (parts.commit !== undefined) throw fail('a CommitID cannot take a ?commit= parameter as well')
  const value = match[1] as string
  if (value === '0') return { ...parts, commit: null }
  if (/^[0-9]+$/.test(value)) throw fail('a commit number can only be 0 (the genesis commit)')
  const commit = parseCIDString(value, '?commit= is neither 0 nor a CID', fail)
  if (!isWellFormedV0(commit)) throw fail('?commit= is a CIDv0 whose digest is not 32 bytes')
  return { ...parts, commit: commit.equals(parts.genesis) ? null : commit }
}

/**
 * Parses a CID string (base32 `b…`, base58btc `z…` or a CIDv0 `Qm…`) written the one way its base writes
 * its bytes. multiformats' base36 and base58btc decoders read a character above U+00FF as some digit instead of
 * refusing it, its base32 decoder skips trailing `=`, and a CID it parses prints as the string it came from: so the
 * bytes are encoded again and must give back the input, and the CID is rebuilt from its bytes to print canonically.
 */
function parseCIDString (value: string, notACID: string, fail: Fail): CID {
  let cid: CID
  try {
    cid = CID.decode(CID.parse(value).bytes)
  } catch (err) {
    throw fail(`${notACID} (${messageOf(err)})`, err)
  }
  // CID.parse reads these three forms only
  const spelled = value[0] === 'Q' ? base58btc.encode(cid.bytes).slice(1)
    : value[0] === base58btc.prefix ? base58btc.encode(cid.bytes)
      : base32.encode(cid.bytes)
  if (spelled !== value) throw fail(`${notACID} in the canonical spelling of its base (${JSON.stringify(spelled)})`)
  return cid
}

/** Reads a canonical (shortest-form) varint that fits a safe integer; returns the value and the next offset. */
function readVarint (bytes: Uint8Array, offset: number, what: string, fail: Fail): [number, number] {
  let value: number
  let length: number
  try {
    [value, length] = varint.decode(bytes, offset)
  } catch (err) {
    throw fail(`truncated varint in ${what} at byte ${offset}`, err)
  }
  if (!Number.isSafeInteger(value)) throw fail(`varint in ${what} at byte ${offset} is too large`)
  // a padded varint would decode to the same value but print differently, breaking the string round trip
  if (varint.encodingLength(value) !== length) throw fail(`varint in ${what} at byte ${offset} is not in shortest form`)
  return [value, offset + length]
}

/** Reads a CID in canonical binary form; returns it and the next offset. */
function readCID (bytes: Uint8Array, offset: number, what: string, fail: Fail): [CID, number] {
  const slice = bytes.subarray(offset)
  let cid: CID
  let rest: Uint8Array
  try {
    [cid, rest] = CID.decodeFirst(slice)
  } catch (err) {
    throw fail(`${what} at byte ${offset} is not a valid CID (${messageOf(err)})`, err)
  }
  const used = slice.length - rest.length
  const mh = cid.multihash
  const canonical = sameBytes(cid.bytes, slice.subarray(0, used)) &&
    varint.encodingLength(mh.code) + varint.encodingLength(mh.size) + mh.size === mh.bytes.length
  if (!canonical) throw fail(`${what} at byte ${offset} is not in canonical binary form`)
  if (!isWellFormedV0(cid)) throw fail(`${what} at byte ${offset} is a CIDv0 whose digest is not 32 bytes`)
  return [cid, offset + used]
}

/** multiformats checks that a CIDv0 uses sha2-256 but not that its digest has sha2-256's 32 bytes. */
function isWellFormedV0 (cid: CID): boolean {
  return cid.version !== 0 || cid.multihash.size === 32
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function toHex (bytes: Uint8Array): string {
  let hex = ''
  for (const byte of bytes.subarray(0, MAX_SHOWN_LENGTH)) hex += byte.toString(16).padStart(2, '0')
  return hex
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
