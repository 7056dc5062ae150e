import type { Ajv, Format } from 'ajv'
import addFormats from 'ajv-formats'
import { linearPatternRefusal } from './linear-pattern.js'

/** The schemes ajv-formats' `url` accepts, matched as it does (case-insensitively, with `u`). */
const URL_SCHEME = /^(?:https?|ftp):\/\//iu

/** ECMAScript's `\s` (with `u`), one character at a time. */
const WHITESPACE = /^\s$/u

function isWhitespace (char: string): boolean {
  return WHITESPACE.test(char)
}

/**
 * ajv-formats' `url` in linear time, with the same verdicts. Its regex backtracks quadratically over the optional
 * `user:password@` part (2 s for a 64 KiB string of `f:`), so the string is split here first:
 * `scheme://[userinfo@]host[:port][/path]`, where the userinfo has no whitespace, the host no `@`, `:` or `/`, the
 * port 2 to 5 digits and the path no whitespace. Each place the host may start (after `://` or after an `@`) fixes
 * where it ends, and only `scheme://host` goes through ajv-formats' regex, whose host part then has nothing to backtrack
 * over; hosts of different starts do not overlap, so the whole check reads each character a bounded number of times.
 */
function linearUrl (original: RegExp): (str: string) => boolean {
  return (str) => {
    const scheme = URL_SCHEME.exec(str)?.[0]
    if (scheme === undefined) return false
    const chars = Array.from(str.slice(scheme.length))
    const n = chars.length
    let firstSpace = n
    let lastSpace = -1
    for (let k = 0; k < n; k++) {
      if (isWhitespace(chars[k]!)) {
        if (firstSpace === n) firstSpace = k
        lastSpace = k
      }
    }
    // where the host of a start at k ends: the next `:`, `/` or `@` (an `@` there means this start fails)
    const stop = new Array<number>(n + 1)
    stop[n] = n
    for (let k = n - 1; k >= 0; k--) stop[k] = ':/@'.includes(chars[k]!) ? k : stop[k + 1]!
    const hostFits = (start: number): boolean => {
      const end = stop[start]!
      if (end === start || chars[end] === '@') return false
      let rest = end
      if (chars[rest] === ':') {
        let digits = 0
        while (digits <= 5 && rest + 1 + digits < n && /^\d$/u.test(chars[rest + 1 + digits]!)) digits++
        if (digits < 2 || digits > 5) return false
        rest += 1 + digits
      }
      if (rest < n && (chars[rest] !== '/' || lastSpace >= rest)) return false
      return original.test(scheme + chars.slice(start, end).join(''))
    }
    if (hostFits(0)) return true
    // a userinfo `…@` is at least one character and has no whitespace
    for (let k = 1; k < Math.min(n, firstSpace); k++) {
      if (chars[k] === '@' && hostFits(k + 1)) return true
    }
    return false
  }
}

/**
 * ajv-formats (full mode) with two formats replaced: `regex` accepts what Kiln accepts as a `pattern` (ECMAScript
 * syntax with `u`, runnable by RE2), and `url` is checked in linear time with ajv-formats' verdicts. Compiling a
 * `regex` costs far more per character than the other formats: `charge` is told its work (see `compileLinearPattern`).
 */
export function addKilnFormats (ajv: Ajv, charge?: (work: number) => void): void {
  addFormats.default(ajv)
  ajv.addFormat('regex', (str: string) => linearPatternRefusal(str, charge) === undefined)
  const url = addFormats.default.get('url', 'full') as Format
  if (!(url instanceof RegExp)) throw new TypeError('ajv-formats: the url format is expected to be a regular expression')
  ajv.addFormat('url', linearUrl(url))
}
