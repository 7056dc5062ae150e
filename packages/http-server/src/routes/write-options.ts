import type { WriteOptions } from '@kiln/interface'

/** Schema of the `opts` of the write routes: the options Kiln reads are booleans; others (`sync`, …) are ignored. */
export const writeOptionsSchema = {
  type: 'object',
  properties: {
    anchor: { type: 'boolean' },
    pin: { type: 'boolean' },
    publish: { type: 'boolean' },
    anchorChain: { type: 'string', minLength: 3, maxLength: 64 }
  }
} as const

/** The write options a request's `opts` sets; everything else in it is ignored. */
export function writeOptions (opts: Record<string, unknown> | undefined): WriteOptions {
  const out: WriteOptions = {}
  for (const key of ['anchor', 'pin', 'publish'] as const) {
    const value = opts?.[key]
    if (typeof value === 'boolean') out[key] = value
  }
  // Kiln's addition: the chain to anchor on, among the node's (its first by default).
  if (typeof opts?.anchorChain === 'string') out.anchorChain = opts.anchorChain
  return out
}
