import { readFileSync } from 'node:fs'
import { compileLinearPattern, MAX_PATTERN_EXPANSION, MAX_PATTERN_LENGTH, MAX_PATTERN_NESTING, MAX_PATTERN_PROGRAM, MAX_SCHEMA_PATTERN_WORK, schemaValidator } from '@kiln/json'
import { fullFormats } from 'ajv-formats/dist/formats.js'
import { describe, expect, it } from 'vitest'
import { thrown } from './fixtures/json.js'

interface PatternVectors {
  accepted: Array<{ pattern: string, matches: string[], nonMatches: string[] }>
  refused: Array<{ pattern: string, reason: string }>
}

/** The shared vectors: which patterns every Kiln node accepts, what they match, and which it refuses. */
const vectors = JSON.parse(readFileSync(new URL('../../../vectors/json-schema-patterns.json', import.meta.url), 'utf8')) as PatternVectors

/** Catastrophic for a backtracking engine: each takes minutes in JavaScript's RegExp on 35 characters. */
const catastrophic: Array<[string, string, boolean]> = [
  ['^(a+)+$', `${'a'.repeat(100_000)}!`, false],
  ['(a|aa)+$', `${'a'.repeat(100_000)}!`, false],
  ['(x+x+)+y', 'x'.repeat(100_000), false],
  ['^(a+)+$', 'a'.repeat(100_000), true],
  ['(x+x+)+y', `${'x'.repeat(100_000)}y`, true]
]

describe('patterns run in linear time (RE2)', () => {
  const validator = schemaValidator()

  it.each(catastrophic)('answers %s on a hostile string of 100 000 characters', (pattern, input, matches) => {
    // A backtracking engine would not finish this in the lifetime of the machine; finishing at all is the test.
    const check = validator.compile({ type: 'string', pattern })
    expect(check(input).length === 0).toBe(matches)
  })

  it('applies patternProperties in linear time too', () => {
    const check = validator.compile({ type: 'object', patternProperties: { '^(a+)+$': { type: 'number' } } })
    expect(check({ [`${'a'.repeat(50_000)}!`]: 'not checked', aaa: 1 })).toEqual([])
    expect(check({ ['a'.repeat(50_000)]: 'x' }).map((i) => i.keyword)).toEqual(['type'])
  })

  it.each(vectors.accepted)('matches what ECMAScript matches for $pattern', ({ pattern, matches, nonMatches }) => {
    const compiled = compileLinearPattern(pattern)
    const reference = new RegExp(pattern, 'u')
    for (const input of matches) {
      expect(compiled.test(input), JSON.stringify(input)).toBe(true)
      expect(reference.test(input)).toBe(true)
    }
    for (const input of nonMatches) {
      expect(compiled.test(input), JSON.stringify(input)).toBe(false)
      // the hostile inputs are long enough to hang the reference engine: it only checks the short ones
      if (input.length < 30) expect(reference.test(input)).toBe(false)
    }
  })

  it.each(vectors.refused)('refuses a schema with the pattern $pattern, naming it', ({ pattern, reason }) => {
    const err = thrown(() => validator.compile({ type: 'string', pattern }))
    expect(err.name).toBe('SchemaValidationError')
    expect(err.message).toContain(`the pattern ${JSON.stringify(pattern)} cannot be used`)
    expect(err.message).toContain(reason)
    expect(err.details).toMatchObject({ pattern, draft: '2020-12' })
  })

  it('refuses a patternProperties key RE2 cannot run, in draft-07 too', () => {
    const err = thrown(() => validator.compile({ $schema: 'http://json-schema.org/draft-07/schema#', patternProperties: { '^(\\w)\\1$': {} } }))
    expect(err.name).toBe('SchemaValidationError')
    expect(err.message).toMatch(/\(draft-07\): the pattern "\^\(\\\\w\)\\\\1\$" cannot be used: it has a backreference/)
  })

  it('refuses a pattern RE2 cannot run even where ajv would not compile it (an unused $defs entry)', () => {
    const err = thrown(() => validator.compile({ $defs: { unused: { anyOf: [{ pattern: '(?=x)' }] } }, type: 'string' }))
    expect(err.message).toContain('the pattern "(?=x)" cannot be used: it has a lookahead')
  })

  it('keeps every compiled program within its size limit', () => {
    expect(compileLinearPattern('^[a-z]{1000}$').programSize).toBeLessThanOrEqual(MAX_PATTERN_PROGRAM)
  })
})

describe('formats', () => {
  const validator = schemaValidator()

  it('accepts as a regex format exactly what it accepts as a pattern', () => {
    const check = validator.compile({ type: 'array', items: { type: 'string', format: 'regex' } })
    expect(check(['^[a-z]+$', '^\\p{L}$', '(a+)+'])).toEqual([])
    const refused = check(['(a)\\1', '(?=a)', '\\Z', '(', 'a{1001}'])
    expect(refused.map((i) => i.path)).toEqual(['/0', '/1', '/2', '/3', '/4'])
    expect(refused[0]!.message).toBe('must match format "regex"')
  })

  /** URLs of every shape ajv-formats' url regex knows: private ranges, userinfo with `@`, ports, unicode hosts. */
  const urls = [
    'http://example.com', 'https://a.b.c/x?y#z', 'ftp://u:p@host.io:21/path', 'http://10.0.0.1', 'http://127.0.0.1:8080/',
    'http://8.8.8.8', 'http://192.168.1.1', 'http://172.16.0.1', 'http://172.32.0.1', 'http://169.254.1.1',
    'http://1.2.3.4/@5.6.7.8', 'http://u@1.2.3.4/@5.6.7.8', 'http://a@b@example.com', 'http://@example.com',
    'http:// example.com', 'http://example.com/a b', 'http://example.com:1', 'http://example.com:123456',
    'http://example.com:65535', 'http://bücher.de', 'HTTPS://EXAMPLE.COM', 'httpſ://example.com', 'http://example',
    'http://-a.com', 'http://a.com.', 'http://223.255.255.254', 'http://224.1.1.1', 'http://a:b:c@d.ef', 'http://a.b:80:80',
    'http://a.bc/\u3000', 'http://a\u3000b.cd', 'http://10.1.1.1234', 'mailto:a@b.c', 'http://a.b@c.de/x@y.zz',
    'http://u@10.0.0.1', 'http://10.0.0.1@8.8.8.8', 'http://8.8.8.8@10.0.0.1', '', 'http://', 'http://:80', 'http://a.bc/:80'
  ]

  it('gives the url verdicts of ajv-formats', () => {
    const check = validator.compile({ type: 'string', format: 'url' })
    const original = fullFormats.url as RegExp
    const verdicts = urls.map((url) => [url, check(url).length === 0])
    expect(verdicts).toEqual(urls.map((url) => [url, original.test(url)]))
    expect(verdicts.filter(([, valid]) => valid).length).toBeGreaterThan(10)
  })

  it('checks a 256 KiB hostile url in linear time (ajv-formats\' own regex is quadratic on it)', () => {
    const check = validator.compile({ type: 'string', format: 'url' })
    for (const hostile of [`http://1.${'f:'.repeat(128 * 1024)}-`, `http://${'a@'.repeat(128 * 1024)}`, `http://${'@'.repeat(256 * 1024)}`]) {
      expect(check(hostile).map((i) => i.keyword)).toEqual(['format'])
    }
    expect(check(`http://u@${'a'.repeat(256 * 1024)}.com/`)).toEqual([])
  })

  it('checks every other string format on long hostile strings', () => {
    const names = Object.keys(fullFormats).filter((name) => !['int32', 'int64', 'float', 'double'].includes(name))
    const check = validator.compile({ type: 'object', properties: Object.fromEntries(names.map((name) => [name, { type: 'string', format: name }])) })
    for (const unit of ['a', '0', ':', '1.', 'a-', '%20', 'a@', '/a', 'f:']) {
      const hostile = `${unit.repeat(Math.ceil(16 * 1024 / unit.length))}!`
      const issues = check(Object.fromEntries(names.map((name) => [name, hostile])))
      expect(issues.every((i) => i.keyword === 'format')).toBe(true)
    }
  })
})

describe('what a pattern may cost to compile', () => {
  const validator = schemaValidator()

  it('refuses a pattern longer than 8192 code points before reading it further', () => {
    const err = thrown(() => compileLinearPattern(`[${'a'.repeat(MAX_PATTERN_LENGTH)}]`))
    expect(err.name).toBe('SchemaValidationError')
    expect(err.message).toMatch(/cannot be used: it is 8194 characters long, more than the limit of 8192$/)
    // the message and details quote the start of the pattern only
    expect(err.message.length).toBeLessThan(1200)
    expect(compileLinearPattern(`[${'a'.repeat(MAX_PATTERN_LENGTH - 2)}]`).test('a')).toBe(true)
  })

  it('refuses groups nested more than 100 deep instead of overflowing the stack', () => {
    const deep = (n: number): string => `${'('.repeat(n)}a${')'.repeat(n)}`
    expect(compileLinearPattern(deep(MAX_PATTERN_NESTING)).test('a')).toBe(true)
    // 3 000 levels overflowed the translation's stack (a RangeError, at a depth that depends on the stack size)
    for (const n of [MAX_PATTERN_NESTING + 1, 3000]) {
      expect(thrown(() => compileLinearPattern(deep(n))).message).toContain('it nests groups more than 100 levels deep')
    }
  })

  it('refuses a pattern that expands past 12 000 instructions before RE2 compiles it', () => {
    // 570 × `a{1000}` (4 KiB) took 6.8 s for RE2 to compile, and was then refused for its size
    const err = thrown(() => compileLinearPattern('a{1000}'.repeat(570)))
    expect(err.details.reason).toBe(`it expands to more than ${MAX_PATTERN_EXPANSION} RE2 instructions`)
    expect(compileLinearPattern('a{1000}').compileWork).toBe(7 + 1000)
  })

  it('answers a regex-format string that nests groups deeply with a verdict or a named error, not a crash', () => {
    const check = validator.compile({ type: 'string', format: 'regex' })
    const deep = (n: number): string => `${'('.repeat(n)}a${')'.repeat(n)}`
    expect(check(deep(MAX_PATTERN_NESTING + 1)).map((i) => i.keyword)).toEqual(['format'])
    expect(check('a{1000}'.repeat(100)).map((i) => i.keyword)).toEqual(['format'])
    // compiling a pattern costs 64 steps per character: more than 6 000 characters pass the budget of the content
    expect(thrown(() => check(deep(3000))).name).toBe('LimitExceededError')
  })

  it('refuses a schema whose patterns cost more than 32 768 units of work to compile, naming the limit', () => {
    // 4 alternations of 800 words, each 4 805 characters expanding to 4 801 instructions (RE2 merges them into 253)
    const keys = Array.from({ length: 4 }, (_, i) => `^(?:${Array.from({ length: 800 }, (_, k) => `k${i}${String(k).padStart(3, '0')}`).join('|')})$`)
    expect(compileLinearPattern(keys[0]!).compileWork).toBe(4805 + 4801)
    const err = thrown(() => validator.compile({ patternProperties: Object.fromEntries(keys.map((key) => [key, true])) }))
    expect(err.name).toBe('SchemaValidationError')
    expect(err.message).toContain(`: its patterns take more than ${MAX_SCHEMA_PATTERN_WORK} units of work to compile`)
    expect(err.details.limit).toBe(MAX_SCHEMA_PATTERN_WORK)
    // a pattern used twice is compiled, and counted, once
    expect(validator.compile({ properties: { a: { pattern: keys[0] }, b: { pattern: keys[0] } } })({ a: 'x' })).toHaveLength(1)
  })
})
