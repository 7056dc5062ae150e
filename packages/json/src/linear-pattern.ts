import { isKilnError, SchemaValidationError } from '@kiln/interface'
import { RE2JS } from 're2js'

/**
 * ECMAScript patterns (as ajv compiles them, with the `u` flag) translated to RE2 syntax and run by `re2js`, a
 * linear-time engine: a pattern that backtracks catastrophically in JavaScript (`^(a+)+$`) costs no more than any
 * other here. The translation keeps the ECMAScript meaning for every input; what RE2 cannot express (backreferences,
 * lookaround) or bounds differently (a repetition count above 1000) is refused with a reason.
 */

/** The most RE2 instructions one pattern may compile to: a test costs at most this much per character of input. */
export const MAX_PATTERN_PROGRAM = 1200

/**
 * The longest pattern, in code points. RE2's parser takes superlinear time in a long alternation (64 Ki characters of
 * `(a|b)`: 0.75 s), and real patterns are far shorter: the longest address regexes in use are about 6 000.
 */
export const MAX_PATTERN_LENGTH = 8192

/**
 * The deepest nesting of groups in a pattern. The translation reads groups recursively, and real patterns nest a few
 * levels; RE2 itself stops at 1000.
 */
export const MAX_PATTERN_NESTING = 100

/**
 * The most RE2 instructions a pattern may expand to before RE2 merges alternatives with a common prefix, counted from
 * its syntax (`a{1000}` is 1000, `x|y` the sum, `x{2,5}` five copies of `x`). RE2 compiles the whole expansion before
 * its size is known, at about 4 µs per instruction: `a{1000}` written 570 times (4 KiB) took 6.8 s to be refused.
 */
export const MAX_PATTERN_EXPANSION = 12_000

/** A compiled pattern: `test` searches anywhere in the string, as `RegExp.prototype.test` does. */
export interface LinearPattern {
  test(input: string): boolean
  /** The RE2 program's size, in instructions. */
  readonly programSize: number
  /** What compiling it cost, in units of {@link MAX_PATTERN_EXPANSION}: its length in code points plus its expansion. */
  readonly compileWork: number
}

/** A piece of the translation: RE2 source, and how many RE2 instructions it expands to before RE2 simplifies it. */
interface Piece {
  re: string
  size: number
}

/** Stops the translation: the pattern is refused for `reason` (the caller names the pattern). */
function refuse (reason: string): never {
  throw new SchemaValidationError(reason, { details: { reason } })
}

type Ranges = Array<[number, number]>

const MAX_CODE_POINT = 0x10ffff
const MAX_REPEAT = 1000

/** `size`, once it is known not to pass {@link MAX_PATTERN_EXPANSION}: nested repetitions multiply quickly. */
function checkedExpansion (size: number): number {
  if (size > MAX_PATTERN_EXPANSION) refuse(`it expands to more than ${MAX_PATTERN_EXPANSION} RE2 instructions`)
  return size
}

/** ECMAScript's `\s`: WhiteSpace and LineTerminator (wider than RE2's `\s`, which is `[\t\n\f\r ]`). */
const JS_WHITESPACE: Ranges = [
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f],
  [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff]
]

/** What ECMAScript's `.` does not match without the `s` flag (RE2's `.` only leaves out `\n`). */
const JS_LINE_TERMINATORS: Ranges = [[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]]

/** Long General_Category values ECMAScript accepts in `\p{…}`, by the short name RE2 knows. */
const GENERAL_CATEGORIES: Readonly<Record<string, string>> = {
  Letter: 'L', Uppercase_Letter: 'Lu', Lowercase_Letter: 'Ll', Titlecase_Letter: 'Lt', Modifier_Letter: 'Lm',
  Other_Letter: 'Lo', Mark: 'M', Combining_Mark: 'M', Nonspacing_Mark: 'Mn', Spacing_Mark: 'Mc', Enclosing_Mark: 'Me',
  Number: 'N', Decimal_Number: 'Nd', digit: 'Nd', Letter_Number: 'Nl', Other_Number: 'No', Punctuation: 'P',
  punct: 'P', Connector_Punctuation: 'Pc', Dash_Punctuation: 'Pd', Open_Punctuation: 'Ps', Close_Punctuation: 'Pe',
  Initial_Punctuation: 'Pi', Final_Punctuation: 'Pf', Other_Punctuation: 'Po', Symbol: 'S', Math_Symbol: 'Sm',
  Currency_Symbol: 'Sc', Modifier_Symbol: 'Sk', Other_Symbol: 'So', Separator: 'Z', Space_Separator: 'Zs',
  Line_Separator: 'Zl', Paragraph_Separator: 'Zp', Other: 'C', Control: 'Cc', cntrl: 'Cc', Format: 'Cf',
  Surrogate: 'Cs', Private_Use: 'Co', Unassigned: 'Cn'
}

function hex (cp: number): string {
  return `\\x{${cp.toString(16)}}`
}

/** A code point as an RE2 literal: letters and digits as they are, anything else by its number. */
function literal (cp: number): string {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) ? String.fromCodePoint(cp) : hex(cp)
}

function complement (ranges: Ranges): Ranges {
  const out: Ranges = []
  let next = 0
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1])
    next = hi + 1
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT])
  return out
}

function classBody (ranges: Ranges): string {
  return ranges.map(([lo, hi]) => lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`).join('')
}

function isHex (cp: number | undefined): boolean {
  return cp !== undefined && ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x46) || (cp >= 0x61 && cp <= 0x66))
}

function isDigit (cp: number | undefined): boolean {
  return cp !== undefined && cp >= 0x30 && cp <= 0x39
}

/** One escape or character inside a class: a code point (may start or end a range) or a class of its own. */
type ClassAtom = { cp: number } | { set: string }

/** Reads an ECMAScript pattern (already known to be valid with the `u` flag) and writes its RE2 equivalent. */
class Translator {
  private readonly cps: number[]
  private pos = 0
  private depth = 0

  constructor (pattern: string) {
    // with `u`, a pattern is a sequence of code points: a surrogate pair is one character
    this.cps = Array.from(pattern, (c) => c.codePointAt(0)!)
  }

  /** The RE2 source and the expansion, in instructions, counted before RE2 merges anything. */
  translate (): Piece {
    const out = this.disjunction()
    if (this.pos < this.cps.length) this.unexpected()
    return out
  }

  private peek (offset = 0): number | undefined {
    return this.cps[this.pos + offset]
  }

  private is (char: string, offset = 0): boolean {
    return this.peek(offset) === char.codePointAt(0)
  }

  private next (): number {
    const cp = this.cps[this.pos++]
    if (cp === undefined) refuse('it ends unexpectedly')
    return cp
  }

  private unexpected (): never {
    const cp = this.peek()
    refuse(`it has ${cp === undefined ? 'an unexpected end' : `an unexpected ${JSON.stringify(String.fromCodePoint(cp))}`} at character ${this.pos}`)
  }

  private disjunction (): Piece {
    const alternatives = [this.alternative()]
    while (this.is('|')) {
      this.pos++
      alternatives.push(this.alternative())
    }
    // one instruction per alternative but the last chooses between them
    return {
      re: alternatives.map((a) => a.re).join('|'),
      size: checkedExpansion(alternatives.reduce((sum, a) => sum + a.size, alternatives.length - 1))
    }
  }

  private alternative (): Piece {
    let re = ''
    let size = 0
    while (this.pos < this.cps.length && !this.is('|') && !this.is(')')) {
      const term = this.term()
      re += term.re
      size = checkedExpansion(size + term.size)
    }
    return { re, size }
  }

  private term (): Piece {
    if (this.is('^') || this.is('$')) {
      // without the `m` flag both engines anchor at the ends of the whole input
      return { re: String.fromCodePoint(this.next()), size: 1 }
    }
    if (this.is('\\') && (this.is('b', 1) || this.is('B', 1))) {
      // ASCII word boundaries in both engines (no `i` with `u` here)
      this.pos += 2
      return { re: `\\${String.fromCodePoint(this.cps[this.pos - 1]!)}`, size: 1 }
    }
    const atom = this.atom()
    const quantifier = this.quantifier()
    return { re: atom.re + quantifier.re, size: checkedExpansion(quantifier.expand(atom.size)) }
  }

  private refuseWordBoundary (): never {
    refuse('a word boundary with case-insensitive unicode matching has no RE2 equivalent')
  }

  private atom (): Piece {
    const cp = this.next()
    switch (String.fromCodePoint(cp)) {
      case '(':
        return this.group()
      case '.':
        return { re: `[^${classBody(JS_LINE_TERMINATORS)}]`, size: 1 }
      case '[':
        return { re: this.characterClass(), size: 1 }
      case '\\': {
        const atom = this.escape(false)
        return { re: 'cp' in atom ? literal(atom.cp) : atom.set, size: 1 }
      }
      case ')': case ']': case '{': case '}': case '*': case '+': case '?': case '|':
        this.pos--
        return this.unexpected()
      default:
        return { re: literal(cp), size: 1 }
    }
  }

  private group (): Piece {
    if (this.is('?')) {
      if (this.is(':', 1)) {
        this.pos += 2
      } else if (this.is('=', 1) || this.is('!', 1)) {
        refuse(`it has a lookahead (?${String.fromCodePoint(this.peek(1)!)}…), which RE2 cannot run`)
      } else if (this.is('<', 1) && (this.is('=', 2) || this.is('!', 2))) {
        refuse(`it has a lookbehind (?<${String.fromCodePoint(this.peek(2)!)}…), which RE2 cannot run`)
      } else if (this.is('<', 1)) {
        // a named group: the name matters only to backreferences, which are refused
        while (!this.is('>')) this.next()
        this.pos++
      } else {
        this.unexpected()
      }
    }
    // the translation recurses once per level: stop long before the stack does
    if (++this.depth > MAX_PATTERN_NESTING) refuse(`it nests groups more than ${MAX_PATTERN_NESTING} levels deep`)
    // every group becomes non-capturing: only whether the pattern matches is asked
    const inner = this.disjunction()
    this.depth--
    if (!this.is(')')) this.unexpected()
    this.pos++
    return { re: `(?:${inner.re})`, size: inner.size }
  }

  /** The quantifier after an atom (`''` when there is none), and what it makes of the atom's expansion. */
  private quantifier (): { re: string, expand: (size: number) => number } {
    let re: string
    let expand: (size: number) => number
    if (this.is('*') || this.is('+') || this.is('?')) {
      re = String.fromCodePoint(this.next())
      // one copy of the atom and one instruction to loop or skip it
      expand = (size) => size + 1
    } else if (this.is('{')) {
      this.pos++
      const min = this.number()
      let max: number | undefined = min
      if (this.is(',')) {
        this.pos++
        max = this.is('}') ? undefined : this.number()
      }
      if (!this.is('}')) this.unexpected()
      this.pos++
      for (const n of [min, max]) {
        if (n !== undefined && n > MAX_REPEAT) refuse(`it repeats ${n} times ({…}); RE2 allows at most ${MAX_REPEAT}`)
      }
      re = `{${min}${max === min ? '' : `,${max ?? ''}`}}`
      // RE2 writes out `min` copies, then `max - min` optional ones (or one loop when there is no `max`)
      expand = (size) => max === undefined ? Math.max(min, 1) * size + 1 : max * size + (max - min)
    } else {
      return { re: '', expand: (size) => size }
    }
    // a lazy quantifier matches the same strings as a greedy one
    if (this.is('?')) this.pos++
    return { re, expand }
  }

  private number (): number {
    let digits = ''
    while (isDigit(this.peek())) digits += String.fromCodePoint(this.next())
    if (digits === '') this.unexpected()
    return Number(digits)
  }

  private characterClass (): string {
    const negated = this.is('^')
    if (negated) this.pos++
    let body = ''
    while (!this.is(']')) {
      const first = this.classAtom()
      if (this.is('-') && !this.is(']', 1)) {
        this.pos++
        const last = this.classAtom()
        if (!('cp' in first) || !('cp' in last)) refuse('it has a character class range with a class at one end')
        body += classBody([[first.cp, last.cp]])
      } else {
        body += 'cp' in first ? classBody([[first.cp, first.cp]]) : first.set
      }
    }
    this.pos++
    // `[]` matches nothing and `[^]` anything in ECMAScript; an empty RE2 class is not written `[]`
    if (body === '') return negated ? `[${classBody([[0, MAX_CODE_POINT]])}]` : `[^${classBody([[0, MAX_CODE_POINT]])}]`
    return `[${negated ? '^' : ''}${body}]`
  }

  private classAtom (): ClassAtom {
    const cp = this.next()
    if (cp !== 0x5c) return { cp }
    return this.escape(true)
  }

  /** After a backslash: a character (`\n`, `\x41`, `\u{1F600}`, `\.`) or a class (`\d`, `\s`, `\p{L}`). */
  private escape (inClass: boolean): ClassAtom {
    const cp = this.next()
    const char = String.fromCodePoint(cp)
    switch (char) {
      case 'd': case 'D': case 'w': case 'W':
        return { set: `\\${char}` }
      case 's':
        return { set: inClass ? classBody(JS_WHITESPACE) : `[${classBody(JS_WHITESPACE)}]` }
      case 'S': {
        const other = complement(JS_WHITESPACE)
        return { set: inClass ? classBody(other) : `[${classBody(other)}]` }
      }
      case 'p': case 'P':
        return { set: this.property(char === 'P', inClass) }
      case 'k':
        return refuse('it has a named backreference (\\k<…>), which RE2 cannot run')
      case 'f': return { cp: 0x0c }
      case 'n': return { cp: 0x0a }
      case 'r': return { cp: 0x0d }
      case 't': return { cp: 0x09 }
      case 'v': return { cp: 0x0b }
      case 'b': return { cp: 0x08 }
      case 'c': return { cp: this.next() % 32 }
      case 'x': return { cp: this.hexDigits(2) }
      case 'u': return { cp: this.unicodeEscape() }
      case '0':
        if (!isDigit(this.peek())) return { cp: 0 }
        break
      default:
        if (isDigit(cp)) refuse(`it has a backreference (\\${char}), which RE2 cannot run`)
        // with `u`, only syntax characters, `/` and (in a class) `-` may be escaped: they stand for themselves
        return { cp }
    }
    this.pos--
    return this.unexpected()
  }

  private hexDigits (count: number): number {
    let digits = ''
    for (let i = 0; i < count; i++) {
      if (!isHex(this.peek())) this.unexpected()
      digits += String.fromCodePoint(this.next())
    }
    return Number.parseInt(digits, 16)
  }

  private unicodeEscape (): number {
    if (this.is('{')) {
      this.pos++
      let digits = ''
      while (isHex(this.peek())) digits += String.fromCodePoint(this.next())
      if (!this.is('}') || digits === '') this.unexpected()
      this.pos++
      return Number.parseInt(digits, 16)
    }
    const unit = this.hexDigits(4)
    // with `u`, an escaped surrogate pair is the one code point it encodes
    if (unit >= 0xd800 && unit <= 0xdbff && this.is('\\') && this.is('u', 1) && !this.is('{', 2)) {
      const save = this.pos
      this.pos += 2
      const low = this.hexDigits(4)
      if (low >= 0xdc00 && low <= 0xdfff) return 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
      this.pos = save
    }
    return unit
  }

  /** `\p{…}` / `\P{…}`: a General_Category, a Script, or a binary property, under the name RE2 knows it by. */
  private property (negated: boolean, inClass: boolean): string {
    if (!this.is('{')) this.unexpected()
    this.pos++
    let text = ''
    while (!this.is('}')) text += String.fromCodePoint(this.next())
    this.pos++
    if (text === 'ASCII') {
      // a binary property of ECMAScript that RE2 names differently
      const ranges: Ranges = negated ? complement([[0, 0x7f]]) : [[0, 0x7f]]
      return inClass ? classBody(ranges) : `[${classBody(ranges)}]`
    }
    const [key, value] = text.includes('=') ? text.split('=') as [string, string] : [undefined, text]
    let name: string
    if (key === undefined || key === 'General_Category' || key === 'gc') {
      name = GENERAL_CATEGORIES[value] ?? value
    } else if (key === 'Script' || key === 'sc') {
      name = value
    } else {
      refuse(`it uses the Unicode property ${key} (\\p{${text}}), which RE2 does not have`)
    }
    const written = `\\${negated ? 'P' : 'p'}{${name}}`
    try {
      RE2JS.compile(written)
    } catch {
      refuse(`it uses the Unicode property \\p{${text}}, which RE2 does not have`)
    }
    return written
  }
}

/** The ECMAScript `RegExp` syntax check: `undefined` when `pattern` is valid with the `u` flag, else the reason. */
function ecmaScriptSyntaxError (pattern: string): string | undefined {
  try {
    // compiling only parses: nothing is matched, so no backtracking can happen here
    void new RegExp(pattern, 'u')
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

/**
 * Compiles an ECMAScript pattern (valid with the `u` flag) to a linear-time RE2 program that matches the same
 * strings. Throws `SchemaValidationError` (`details: { pattern, reason }`) when it is not a valid pattern, uses what
 * RE2 cannot run, is longer than {@link MAX_PATTERN_LENGTH}, nests deeper than {@link MAX_PATTERN_NESTING}, expands
 * to more than {@link MAX_PATTERN_EXPANSION} or compiles to more than {@link MAX_PATTERN_PROGRAM} instructions.
 * `charge`, when given, is told the work each step will cost (the length, then the expansion) before it is done, and
 * may throw to stop it.
 */
export function compileLinearPattern (pattern: string, charge?: (work: number) => void): LinearPattern {
  try {
    const length = codePointLength(pattern)
    // before anything else reads it: every later step costs more than the length
    if (length > MAX_PATTERN_LENGTH) refuse(`it is ${length} characters long, more than the limit of ${MAX_PATTERN_LENGTH}`)
    charge?.(length)
    const syntaxError = ecmaScriptSyntaxError(pattern)
    if (syntaxError !== undefined) refuse(`it is not a valid regular expression (${syntaxError})`)
    const translated = new Translator(pattern).translate()
    charge?.(translated.size)
    let re: RE2JS
    try {
      re = RE2JS.compile(translated.re)
    } catch (err) {
      // the translation is valid RE2; what is left is RE2's own bounds (e.g. nested repetitions above 1000 in all)
      const message = (err as Error).message.replace(/^error parsing regexp: /, '').replace(/: `.*`$/s, '')
      refuse(`RE2 refuses it (${message})`)
    }
    const programSize = re.programSize()
    if (programSize > MAX_PATTERN_PROGRAM) {
      refuse(`it compiles to ${programSize} RE2 instructions, more than the limit of ${MAX_PATTERN_PROGRAM}`)
    }
    return { test: (input) => re.test(input), programSize, compileWork: length + translated.size }
  } catch (err) {
    // only the refusals of the steps above (what `charge` throws passes through as it is)
    if (!isKilnError(err, 'SchemaValidationError') || typeof err.details.reason !== 'string') throw err
    const reason = err.details.reason
    const quoted = pattern.length > 1000 ? `${JSON.stringify(pattern.slice(0, 1000))}…` : JSON.stringify(pattern)
    throw new SchemaValidationError(`the pattern ${quoted} cannot be used: ${reason}`, {
      details: { pattern: pattern.length > 1000 ? `${pattern.slice(0, 1000)}…` : pattern, reason }
    })
  }
}

/** How many code points `text` has (a surrogate pair is one), without building an array of them. */
function codePointLength (text: string): number {
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1)
      if (low >= 0xdc00 && low <= 0xdfff) i++
    }
    length++
  }
  return length
}

/** Why `pattern` cannot be compiled by {@link compileLinearPattern}, or `undefined` when it can. */
export function linearPatternRefusal (pattern: string, charge?: (work: number) => void): string | undefined {
  try {
    compileLinearPattern(pattern, charge)
    return undefined
  } catch (err) {
    if (isKilnError(err, 'SchemaValidationError')) return String(err.details.reason)
    throw err
  }
}
