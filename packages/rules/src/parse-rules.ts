import { parseDocOrCommitID, type DocOrCommitID } from '@kiln/docid'
import { InvalidRulesError } from '@kiln/interface'
import { cloneJson, describeIssues, schemaValidator, type ContentValidator } from '@kiln/json'
import { rulesMetaSchema } from './meta-schema.js'
import { EVIDENCE_NAME, MAX_LIST, MAX_RULES, MAX_RULES_BYTES, MAX_RULES_DEPTH, MAX_STRING, RULE_NAME } from './limits.js'
import { escapeSegment, pointerSegments } from './pointer.js'
import { compileRuleSchema } from './schemas.js'
import type { EvidenceCondition, HowClause, PatchOpName, Rule, RuleSet, WhenClause, WhoClause } from './types.js'
import { utf8ByteLength } from '@kiln/codec'

const OPS: readonly PatchOpName[] = ['add', 'remove', 'replace', 'move', 'copy', 'test']

/** `did:<method>:<method-specific id>`, the characters DID syntax allows. */
const DID = /^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$/

/** A metadata pseudo-path: `#` and a header field name. */
const PSEUDO_PATH = /^#[a-zA-Z][a-zA-Z0-9_]{0,63}$/

type Json = Record<string, unknown>

function invalid (path: string, message: string): never {
  throw new InvalidRulesError(`Invalid rules at ${path === '' ? '(root)' : path}: ${message}`, { details: { path } })
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

/**
 * Checks that `value` is plain JSON nested at most {@link MAX_RULES_DEPTH} levels, without recursion (a hostile
 * document may nest far deeper than the stack allows), then that its JSON is at most {@link MAX_RULES_BYTES} bytes.
 */
function checkJsonShape (value: unknown): void {
  const stack: Array<[unknown, string, number]> = [[value, '', 0]]
  while (stack.length > 0) {
    const [node, path, depth] = stack.pop()!
    if (node === null || typeof node === 'boolean' || typeof node === 'string') continue
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) invalid(path, `${String(node)} is not a JSON number`)
      continue
    }
    if (typeof node !== 'object') invalid(path, `${typeof node} is not JSON`)
    if (depth + 1 > MAX_RULES_DEPTH) invalid(path, `the rules nest deeper than ${MAX_RULES_DEPTH} levels of objects and arrays`)
    if (Array.isArray(node)) {
      if (Object.getPrototypeOf(node) !== Array.prototype) invalid(path, 'an array subclass is not JSON')
      for (let i = 0; i < node.length; i++) stack.push([node[i], `${path}/${i}`, depth + 1])
      continue
    }
    const proto = Object.getPrototypeOf(node)
    if (proto !== Object.prototype && proto !== null) invalid(path, 'only plain objects are JSON')
    for (const key of Object.keys(node)) {
      if (key === '__proto__') invalid(`${path}/__proto__`, 'the key "__proto__" is not allowed')
      stack.push([(node as Json)[key], `${path}/${escapeSegment(key)}`, depth + 1])
    }
  }
  const bytes = utf8ByteLength(JSON.stringify(value))
  if (bytes > MAX_RULES_BYTES) invalid('', `the rules are ${bytes} bytes as JSON, more than the ${MAX_RULES_BYTES} bytes allowed`)
}

function object (value: unknown, path: string, what: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(path, `${what} must be an object, not ${describe(value)}`)
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) invalid(`${path}/${escapeSegment(key)}`, `unknown field ${JSON.stringify(key)} in ${what} (allowed: ${allowed.join(', ')})`)
  }
  return value as Json
}

function list (value: unknown, path: string, what: string, min = 1): unknown[] {
  if (!Array.isArray(value)) invalid(path, `${what} must be an array, not ${describe(value)}`)
  if (value.length < min) invalid(path, `${what} must have at least ${min} ${min === 1 ? 'entry' : 'entries'}`)
  if (value.length > MAX_LIST) invalid(path, `${what} has ${value.length} entries, more than the ${MAX_LIST} allowed`)
  return value
}

function string (value: unknown, path: string, what: string): string {
  if (typeof value !== 'string') invalid(path, `${what} must be a string, not ${describe(value)}`)
  if (value.length > MAX_STRING) invalid(path, `${what} is ${value.length} characters, more than the ${MAX_STRING} allowed`)
  return value
}

function did (value: unknown, path: string): string {
  const text = string(value, path, 'a DID')
  if (!DID.test(text)) invalid(path, `${describe(text)} is not a DID (did:<method>:<id>)`)
  return text
}

function didList (value: unknown, path: string, what: string): string[] {
  const dids = list(value, path, what).map((item, i) => did(item, `${path}/${i}`))
  const seen = new Set<string>()
  dids.forEach((d, i) => {
    if (seen.has(d)) invalid(`${path}/${i}`, `${d} is listed twice in ${what}`)
    seen.add(d)
  })
  return dids
}

function docId (value: unknown, path: string): string {
  const text = string(value, path, 'doc')
  let id: DocOrCommitID | undefined
  try {
    id = parseDocOrCommitID(text)
  } catch {
    id = undefined
  }
  // a CommitID names a version: the rule names the document, and the update pins the commit in header.evidence
  if (id === undefined || id.toString() !== id.baseID.toString()) {
    invalid(path, `${describe(text)} is not a DocID (the evidence must name a document; the update pins the commit)`)
  }
  return id.toString()
}

function evidenceName (value: unknown, path: string): string {
  const text = string(value, path, 'an evidence name')
  if (!EVIDENCE_NAME.test(text)) invalid(path, `${describe(text)} is not an evidence name (a letter, then up to 63 letters, digits, _ or -)`)
  return text
}

function pathPattern (value: unknown, path: string): string {
  const text = string(value, path, 'a path pattern')
  if (text.startsWith('#')) {
    if (!PSEUDO_PATH.test(text)) invalid(path, `${describe(text)} is not a metadata path (#controllers, #rules, #tags, #family, #schema, ...)`)
    return text
  }
  const segments = pointerSegments(text)
  if (segments === undefined) invalid(path, `${describe(text)} is not a JSON Pointer ("" or "/a/b", ~0 for ~ and ~1 for /) nor a metadata path such as "#rules"`)
  if (segments.length > 32) invalid(path, `${describe(text)} has ${segments.length} segments, more than the 32 allowed`)
  return text
}

function patternList (value: unknown, path: string, what: string): string[] {
  const patterns = list(value, path, what).map((item, i) => pathPattern(item, `${path}/${i}`))
  patterns.forEach((p, i) => { if (patterns.indexOf(p) !== i) invalid(`${path}/${i}`, `${JSON.stringify(p)} is listed twice in ${what}`) })
  return patterns
}

function timestamp (value: unknown, path: string, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) invalid(path, `${what} must be a whole number of unix seconds, not ${describe(value)}`)
  return value
}

const WHO_FORMS = ['anyOf', 'allOf', 'threshold', 'membersOf', 'capability', 'controllers']

function who (value: unknown, path: string): WhoClause {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(path, `a who clause must be an object, not ${describe(value)}`)
  const keys = Object.keys(value)
  const form = keys.find((k) => WHO_FORMS.includes(k))
  if (form === undefined) invalid(path, `a who clause needs one of ${WHO_FORMS.join(', ')}`)
  const v = value as Json
  switch (form) {
    case 'threshold': {
      const clause = object(v, path, 'a threshold clause', ['threshold', 'of'])
      if (clause.of === undefined) invalid(`${path}/of`, 'a threshold clause needs "of", the DIDs whose signatures count')
      const of = didList(clause.of, `${path}/of`, '"of"')
      const k = clause.threshold
      if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1 || k > of.length) {
        invalid(`${path}/threshold`, `threshold must be a whole number from 1 to ${of.length} (the number of DIDs in "of"), not ${describe(k)}`)
      }
      return { kind: 'threshold', threshold: k, of }
    }
    case 'anyOf':
    case 'allOf': {
      object(v, path, `an ${form} clause`, [form])
      const items = list(v[form], `${path}/${form}`, `"${form}"`)
      if (form === 'anyOf' && items.every((item) => typeof item === 'string')) {
        return { kind: 'signers', anyOf: didList(items, `${path}/anyOf`, '"anyOf"') }
      }
      const clauses = items.map((item, i) => {
        if (typeof item === 'string') invalid(`${path}/${form}/${i}`, `"${form}" mixes DIDs and clauses: list DIDs in their own { "anyOf": [...] } clause`)
        return who(item, `${path}/${form}/${i}`)
      })
      return { kind: form, clauses }
    }
    case 'membersOf': {
      object(v, path, 'a membersOf clause', ['membersOf'])
      const m = object(v.membersOf, `${path}/membersOf`, 'membersOf', ['evidence', 'doc', 'path'])
      const evidence = evidenceName(m.evidence, `${path}/membersOf/evidence`)
      const doc = docId(m.doc, `${path}/membersOf/doc`)
      const pointer = string(m.path, `${path}/membersOf/path`, 'path')
      if (pointerSegments(pointer) === undefined || pointer.split('/').includes('*')) {
        invalid(`${path}/membersOf/path`, `${describe(pointer)} is not a JSON Pointer to the members list (such as "/members")`)
      }
      return { kind: 'membersOf', evidence, doc, path: pointer }
    }
    case 'capability': {
      object(v, path, 'a capability clause', ['capability'])
      if (v.capability === true) return { kind: 'capability' }
      if (v.capability === false) invalid(`${path}/capability`, 'capability: false requires nothing: remove the clause')
      const c = object(v.capability, `${path}/capability`, 'capability', ['issuers'])
      const issuers = didList(c.issuers, `${path}/capability/issuers`, '"issuers"')
      issuers.forEach((d, i) => { if (!d.startsWith('did:pkh:')) invalid(`${path}/capability/issuers/${i}`, `${d} is not a did:pkh: capabilities are issued by blockchain accounts`) })
      return { kind: 'capability', issuers }
    }
    default: {
      object(v, path, 'a controllers clause', ['controllers'])
      if (v.controllers !== true) invalid(`${path}/controllers`, `controllers must be true, not ${describe(v.controllers)}`)
      return { kind: 'controllers' }
    }
  }
}

function how (value: unknown, path: string): HowClause {
  const h = object(value, path, 'how', ['paths', 'ops', 'appendOnly', 'compareAndSet', 'transition'])
  const result: { -readonly [K in keyof HowClause]: HowClause[K] } = { appendOnly: false, compareAndSet: false }
  if (h.paths !== undefined) result.paths = patternList(h.paths, `${path}/paths`, 'how.paths')
  if (h.ops !== undefined) {
    const ops = list(h.ops, `${path}/ops`, 'ops').map((op, i) => {
      if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) invalid(`${path}/ops/${i}`, `${describe(op)} is not a JSON Patch operation (${OPS.join(', ')})`)
      if (h.ops !== undefined && (h.ops as unknown[]).indexOf(op) !== i) invalid(`${path}/ops/${i}`, `${op} is listed twice`)
      return op as PatchOpName
    })
    result.ops = ops
  }
  for (const flag of ['appendOnly', 'compareAndSet'] as const) {
    if (h[flag] !== undefined && typeof h[flag] !== 'boolean') invalid(`${path}/${flag}`, `${flag} must be true or false, not ${describe(h[flag])}`)
    result[flag] = h[flag] === true
  }
  if (result.appendOnly && result.ops !== undefined && !result.ops.includes('add')) {
    invalid(`${path}/ops`, 'appendOnly allows only "add" operations, but ops does not list "add"')
  }
  if (result.compareAndSet && result.ops !== undefined && !result.ops.includes('test')) {
    invalid(`${path}/ops`, 'compareAndSet needs "test" operations, but ops does not list "test"')
  }
  if (h.transition !== undefined) result.transition = compileRuleSchema(h.transition, `${path}/transition`)
  return result
}

function when (value: unknown, path: string): WhenClause {
  const w = object(value, path, 'when', ['evidence', 'notBefore', 'notAfter'])
  const result: { -readonly [K in keyof WhenClause]: WhenClause[K] } = { evidence: [] }
  if (w.evidence !== undefined) {
    result.evidence = list(w.evidence, `${path}/evidence`, 'when.evidence').map((item, i): EvidenceCondition => {
      const at = `${path}/evidence/${i}`
      const c = object(item, at, 'an evidence condition', ['evidence', 'doc', 'require'])
      const condition: { -readonly [K in keyof EvidenceCondition]: EvidenceCondition[K] } = {
        evidence: evidenceName(c.evidence, `${at}/evidence`),
        doc: docId(c.doc, `${at}/doc`)
      }
      if (c.require !== undefined) condition.require = compileRuleSchema(c.require, `${at}/require`)
      return condition
    })
  }
  if (w.notBefore !== undefined) result.notBefore = timestamp(w.notBefore, `${path}/notBefore`, 'notBefore')
  if (w.notAfter !== undefined) result.notAfter = timestamp(w.notAfter, `${path}/notAfter`, 'notAfter')
  if (result.notBefore !== undefined && result.notAfter !== undefined && result.notAfter < result.notBefore) {
    invalid(`${path}/notAfter`, `notAfter (${result.notAfter}) is before notBefore (${result.notBefore}): no time is in the window`)
  }
  return result
}

function rule (value: unknown, path: string): Rule {
  const r = object(value, path, 'a rule', ['name', 'description', 'paths', 'who', 'how', 'when'])
  const name = string(r.name, `${path}/name`, 'name')
  if (!RULE_NAME.test(name)) invalid(`${path}/name`, `${describe(name)} is not a rule name (a letter, then up to 63 letters, digits, _ . or -)`)
  const result: { -readonly [K in keyof Rule]: Rule[K] } = { name }
  if (r.description !== undefined) result.description = string(r.description, `${path}/description`, 'description')
  if (r.paths !== undefined) result.paths = patternList(r.paths, `${path}/paths`, 'paths')
  if (r.who !== undefined) result.who = who(r.who, `${path}/who`)
  if (r.how !== undefined) result.how = how(r.how, `${path}/how`)
  if (r.when !== undefined) result.when = when(r.when, `${path}/when`)
  return result
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const item of Object.values(value)) deepFreeze(item)
  }
  return value
}

let compiledMetaSchema: ContentValidator | undefined

/** The rules meta-schema, compiled once. */
function metaSchema (): ContentValidator {
  compiledMetaSchema ??= schemaValidator({ cacheSize: 1 }).compile(rulesMetaSchema, 'the rules meta-schema')
  return compiledMetaSchema
}

/**
 * Parses the content of a rules document into a {@link RuleSet}: checks it against the rules meta-schema and the
 * semantic checks (unique names, thresholds within their lists, compilable and safe JSON Schemas, the bounds).
 * Throws `InvalidRulesError` whose `details.path` is the JSON Pointer of the offending value.
 */
export function parseRules (content: unknown): RuleSet {
  checkJsonShape(content)
  // a copy: the rule set is frozen, and the caller's value must stay theirs
  content = cloneJson(content)
  const top = object(content, '', 'a rule set', ['version', 'rules', 'default', 'description'])
  if (top.version !== 1) invalid('/version', `version must be 1, not ${describe(top.version)}`)
  if (!Array.isArray(top.rules)) invalid('/rules', `rules must be an array, not ${describe(top.rules)}`)
  if (top.rules.length > MAX_RULES) invalid('/rules', `there are ${top.rules.length} rules, more than the ${MAX_RULES} allowed`)
  if (top.default !== undefined && top.default !== 'deny' && top.default !== 'allow') {
    invalid('/default', `default must be "deny" or "allow", not ${describe(top.default)}`)
  }
  if (top.description !== undefined) string(top.description, '/description', 'description')
  const rules = top.rules.map((item, i) => rule(item, `/rules/${i}`))
  const names = new Map<string, number>()
  rules.forEach((r, i) => {
    const first = names.get(r.name)
    if (first !== undefined) invalid(`/rules/${i}/name`, `the name ${JSON.stringify(r.name)} is already used by /rules/${first}`)
    names.set(r.name, i)
  })
  // the published meta-schema must agree: a rule set it refuses is refused, at the first path it names
  const issues = metaSchema()(content)
  if (issues.length > 0) invalid(issues[0]!.path, `the rules do not match the rules meta-schema: ${describeIssues(issues)}`)
  return deepFreeze({ version: 1, default: top.default === 'allow' ? 'allow' : 'deny', rules })
}
