// The least of DAG-CBOR the page needs to read Kiln's Merkle nodes and anchor proofs: integers, strings, bytes, arrays,
// maps, null, booleans, floats and tag 42 (a CID). No npm import: this file is served to the browser as it compiles.

/** A CID read from tag 42: its binary form (without the leading identity-multibase zero). */
export interface CidLink { readonly cid: Uint8Array }

/** A decoded value. */
export type CborValue = number | bigint | string | boolean | null | Uint8Array | CidLink | CborValue[] | { [key: string]: CborValue }

/** What decoding gives: the value, or why the bytes are not DAG-CBOR this decoder reads. */
export type Decoded = { ok: true, value: CborValue } | { ok: false, reason: string }

const MAX_DEPTH = 64

/** Marks a failed decode; caught in {@link decodeCbor}, never leaves this module. */
class CborFailure {
  constructor (readonly reason: string) {}
}

/** Whether `value` is a tag-42 link. */
export function isCidLink (value: unknown): value is CidLink {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { cid?: unknown }).cid instanceof Uint8Array && Object.keys(value).length === 1
}

/** Decodes one DAG-CBOR value filling all of `bytes`. */
export function decodeCbor (bytes: Uint8Array): Decoded {
  let at = 0
  const fail = (reason: string): never => { throw new CborFailure(`${reason} at byte ${at}`) }
  const take = (n: number): Uint8Array => {
    if (at + n > bytes.length) fail('unexpected end of data')
    const out = bytes.subarray(at, at + n)
    at += n
    return out
  }
  const argument = (info: number): number | bigint => {
    if (info < 24) return info
    if (info === 24) return take(1)[0]!
    if (info === 25) { const b = take(2); return (b[0]! << 8) | b[1]! }
    if (info === 26) { const b = take(4); return ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]! }
    if (info === 27) {
      const b = take(8)
      let n = 0n
      for (const byte of b) n = (n << 8n) | BigInt(byte)
      return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n
    }
    return fail(`unsupported additional information ${info}`)
  }
  const length = (info: number): number => {
    const n = argument(info)
    if (typeof n !== 'number' || n > bytes.length) fail('length beyond the data')
    return n as number
  }
  const item = (depth: number): CborValue => {
    if (depth > MAX_DEPTH) fail('nested too deep')
    const head = take(1)[0]!
    const major = head >> 5
    const info = head & 0x1f
    switch (major) {
      case 0: return argument(info)
      case 1: { const n = argument(info); return typeof n === 'bigint' ? -1n - n : -1 - n }
      case 2: return Uint8Array.from(take(length(info)))
      case 3: return new TextDecoder('utf-8', { fatal: true }).decode(take(length(info)))
      case 4: {
        const n = length(info)
        const out: CborValue[] = []
        for (let i = 0; i < n; i++) out.push(item(depth + 1))
        return out
      }
      case 5: {
        const n = length(info)
        const out: { [key: string]: CborValue } = Object.create(null) as { [key: string]: CborValue }
        for (let i = 0; i < n; i++) {
          const key = item(depth + 1)
          if (typeof key !== 'string') fail('a map key that is not a string')
          if (Object.prototype.hasOwnProperty.call(out, key as string)) fail(`a repeated map key ${JSON.stringify(key)}`)
          out[key as string] = item(depth + 1)
        }
        return out
      }
      case 6: {
        const tag = argument(info)
        if (tag !== 42) fail(`tag ${String(tag)} (DAG-CBOR has only tag 42)`)
        const link = item(depth + 1)
        if (!(link instanceof Uint8Array) || link[0] !== 0) fail('tag 42 that is not a CID')
        return { cid: (link as Uint8Array).subarray(1) }
      }
      default: {
        if (info === 20) return false
        if (info === 21) return true
        if (info === 22) return null
        // A view at the bytes' own offset: `bytes` may be a window into a larger buffer.
        if (info === 27) { const b = take(8); return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0) }
        if (info === 26) { const b = take(4); return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0) }
        return fail(`simple value ${info}`)
      }
    }
  }
  try {
    const value = item(0)
    if (at !== bytes.length) fail('trailing bytes')
    return { ok: true, value }
  } catch (err) {
    if (err instanceof CborFailure) return { ok: false, reason: err.reason }
    if (err instanceof TypeError) return { ok: false, reason: `invalid UTF-8 text at byte ${at}` }
    throw err
  }
}
