import type { DocHead } from '@kiln/interface'
import { decodeRecord, encodeRecord } from './dag-cbor.js'
import { CodecError } from './errors.js'

const LENGTH_BYTES = 8

/**
 * A document head as storage keeps it: `logLength` as a u64 big-endian, then the rest of the head as dag-cbor. The
 * log length is the one number of a head that grows with every commit; at a fixed width it makes a commit's write the
 * same size at any log length. Encoding starts at this call, so changing `head` afterwards changes nothing written.
 */
export async function encodeHeadRecord (head: DocHead): Promise<Uint8Array> {
  const { logLength, ...rest } = head
  if (!Number.isSafeInteger(logLength) || logLength < 0) {
    throw new CodecError(`A head's logLength must be a non-negative integer, got ${String(logLength)}`, { details: { logLength: String(logLength) } })
  }
  const body = encodeRecord(rest)
  const bytes = new Uint8Array(LENGTH_BYTES + (await body).bytes.byteLength)
  new DataView(bytes.buffer).setBigUint64(0, BigInt(logLength))
  bytes.set((await body).bytes, LENGTH_BYTES)
  return bytes
}

/** The head {@link encodeHeadRecord} wrote (unchecked: the caller checks its shape); `CodecError` on other bytes. */
export async function decodeHeadRecord (bytes: Uint8Array): Promise<unknown> {
  if (bytes.byteLength <= LENGTH_BYTES) throw new CodecError(`A stored head needs more than ${LENGTH_BYTES} bytes, got ${bytes.byteLength}`)
  const rest = await decodeRecord<unknown>(bytes.subarray(LENGTH_BYTES))
  if (rest === null || typeof rest !== 'object' || Array.isArray(rest)) throw new CodecError('A stored head is not a map')
  const stored = new DataView(bytes.buffer, bytes.byteOffset, LENGTH_BYTES).getBigUint64(0)
  if (stored > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError(`A stored head's log length ${stored} is beyond the largest safe integer`, { details: { logLength: stored.toString() } })
  const logLength = Number(stored)
  return { ...rest, logLength }
}
