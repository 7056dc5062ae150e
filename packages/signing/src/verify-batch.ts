import type { SignatureAlgorithm } from '@kiln/interface'

/** One signature for a worker to check: the key is already resolved and matched, only the curve arithmetic is left. */
export interface SignatureJob {
  alg: SignatureAlgorithm
  publicKey: Uint8Array
  signingInput: Uint8Array
  signature: Uint8Array
}

/** What the pool posts to a worker: a batch of jobs packed into one buffer, which is transferred, not copied. */
export interface BatchMessage {
  id: number
  count: number
  bytes: ArrayBuffer
}

/** What a worker posts back: `ready` once it listens, then per batch one byte per job, 1 when the signature verifies. */
export type WorkerMessage = { type: 'ready' } | { type: 'results', id: number, results: ArrayBuffer }

// Each job is the alg (one byte, its index here) then the public key, the signing input and the signature, each as a
// little-endian u32 length followed by the bytes. One flat buffer costs one transfer where an array of typed arrays
// would be cloned field by field.
const ALGS: readonly SignatureAlgorithm[] = ['EdDSA', 'ES256K']

/** Packs jobs into one buffer for {@link decodeBatch}. */
export function encodeBatch (jobs: readonly SignatureJob[]): ArrayBuffer {
  let size = 0
  for (const job of jobs) size += 13 + job.publicKey.length + job.signingInput.length + job.signature.length
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  let offset = 0
  const put = (field: Uint8Array): void => {
    view.setUint32(offset, field.length, true)
    bytes.set(field, offset + 4)
    offset += 4 + field.length
  }
  for (const job of jobs) {
    bytes[offset++] = ALGS.indexOf(job.alg)
    put(job.publicKey)
    put(job.signingInput)
    put(job.signature)
  }
  return bytes.buffer
}

/** Unpacks `count` jobs from a buffer made by {@link encodeBatch}; the fields are views into it. */
export function decodeBatch (buffer: ArrayBuffer, count: number): SignatureJob[] {
  const bytes = new Uint8Array(buffer)
  const view = new DataView(buffer)
  let offset = 0
  const take = (): Uint8Array => {
    const length = view.getUint32(offset, true)
    const field = bytes.subarray(offset + 4, offset + 4 + length)
    offset += 4 + length
    return field
  }
  const jobs: SignatureJob[] = []
  for (let i = 0; i < count; i++) {
    const alg = ALGS[bytes[offset++] as number] as SignatureAlgorithm
    jobs.push({ alg, publicKey: take(), signingInput: take(), signature: take() })
  }
  return jobs
}
