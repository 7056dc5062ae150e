import { checkJsonSize, checkPlainJson, kindOfJson } from '@kiln/json'
import { DoctypeRuleError } from '@kiln/interface'

/** The content of a tile: a plain JSON object. */
export type TileContent = Record<string, unknown>

/** Default limit on a tile's content: 256 KiB of its JSON encoding. */
export const DEFAULT_MAX_CONTENT_BYTES = 256 * 1024

/**
 * Checks that `value` may be a tile's content: plain JSON (the rules `@kiln/json`'s `checkPlainJson` keeps for
 * every JSON doctype), an object, at most `maxBytes` bytes as JSON. Throws `DoctypeRuleError` saying what is wrong.
 */
export function checkTileContent (value: unknown, maxBytes: number): asserts value is TileContent {
  checkPlainJson(value, 'tile content')
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DoctypeRuleError(`tile content must be a JSON object, got ${kindOfJson(value)}`, { details: { found: kindOfJson(value) } })
  }
  checkContentSize(value, maxBytes)
}

/** Throws `DoctypeRuleError` when the JSON encoding of `value` (plain JSON) is longer than `maxBytes` bytes. */
export function checkContentSize (value: unknown, maxBytes: number): void {
  checkJsonSize(value, maxBytes, 'tile content')
}
