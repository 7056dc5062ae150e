import { CodecError } from '@kiln/interface'
// The harness is imported by name but not declared in package.json (see fuzz.test.ts).
import { fc, fuzzTest, mutatedBytes, mutatedString } from '@kiln/interface-tests/fuzz'
import { describe, expect, it } from 'vitest'
import * as browser from '../dist/platform/bytes.browser.js'
import * as node from '../dist/platform/bytes.node.js'

// The browser build's byte helpers (bytes.browser.ts, chosen by the `browser` condition) against Node's (Buffer):
// the decoders are fuzzed differentially. Callers accept a string only when decoding it and encoding the bytes again
// gives the string back (the canonical form), so both variants must accept the same strings with the same bytes.

type Variant = typeof node

/** The bytes a caller accepts for `text` with `variant`, or a CodecError when it refuses it (not canonical). */
function decodeCanonical (variant: Variant, text: string, url: boolean): Uint8Array {
  const bytes = url ? variant.fromBase64urlLenient(text) : variant.fromBase64Lenient(text)
  const again = url ? variant.toBase64url(bytes) : variant.toBase64(bytes)
  if (again !== text && (url || again.replace(/=+$/, '') !== text)) throw new CodecError('not canonical')
  return bytes
}

function agree (text: string, url: boolean): Uint8Array {
  let fromNode: Uint8Array | Error
  let fromBrowser: Uint8Array | Error
  try { fromNode = decodeCanonical(node, text, url) } catch (err) { fromNode = err as Error }
  try { fromBrowser = decodeCanonical(browser, text, url) } catch (err) { fromBrowser = err as Error }
  if (fromNode instanceof Error || fromBrowser instanceof Error) {
    if (!(fromNode instanceof Error && fromBrowser instanceof Error)) {
      throw new Error(`Node ${fromNode instanceof Error ? 'refuses' : 'accepts'} ${JSON.stringify(text)}, the browser build does not`)
    }
    throw fromNode
  }
  expect(fromBrowser).toEqual(fromNode)
  return fromNode
}

const bytes = fc.uint8Array({ maxLength: 80 })

describe('the browser byte helpers agree with Node\'s', () => {
  it('encode any bytes as Node does: base64, base64url, latin1, and find the same byte strings', () => {
    fc.assert(fc.property(bytes, bytes, (a, b) => {
      expect(browser.toBase64(a)).toBe(node.toBase64(a))
      expect(browser.toBase64url(a)).toBe(node.toBase64url(a))
      expect(browser.latin1String(a)).toBe(node.latin1String(a))
      expect(browser.includesBytes(a, b)).toBe(node.includesBytes(a, b))
      const inside = a.subarray(a.length >> 2, a.length >> 1)
      expect(browser.includesBytes(a, inside)).toBe(true)
    }), { seed: 16, numRuns: 2_000 })
  })

  it('count UTF-8 bytes as Node does, lone surrogates included', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ maxLength: 4 }).map((s) => `${s}\ud800`), (text, lone) => {
      expect(browser.utf8ByteLength(text)).toBe(node.utf8ByteLength(text))
      expect(browser.utf8ByteLength(lone)).toBe(node.utf8ByteLength(lone))
    }), { seed: 16, numRuns: 2_000 })
  })

  fuzzTest({
    name: 'codec browser base64 decoder against Node\'s',
    inputs: mutatedString(bytes.map((b) => node.toBase64(b))),
    run: (text) => agree(text, false),
    errors: ['CodecError']
  })

  fuzzTest({
    name: 'codec browser base64url decoder against Node\'s',
    inputs: fc.oneof(mutatedString(bytes.map((b) => node.toBase64url(b))), mutatedBytes(bytes).map((b) => node.toBase64url(b))),
    run: (text) => agree(text, true),
    errors: ['CodecError']
  })
})
