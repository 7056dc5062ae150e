import { LimitExceededError, SchemaValidationError } from '@kiln/interface'
import { _, type Ajv, type AnySchemaObject, type CodeKeywordDefinition, type KeywordCxt } from 'ajv'
import { resolveRef, SchemaEnv } from 'ajv/dist/compile/index.js'
import { cloneJson } from './json.js'

// A budget on what one validation may cost, so that no schema can hold the event loop for long whatever content it
// is given. A schema can apply the same subschema many times at the same place (`anyOf` of two `$ref`s to a
// definition that does the same, 30 levels deep: 2^30 evaluations), so its size bounds nothing. Kiln compiles a copy
// of each schema in which every schema position carries the keyword `$kilnCount`: its code, run first whenever ajv
// evaluates that subschema, charges the evaluation (and the work of its keywords that grows with the data) to a meter.
// Past the budget of the validation, `base + perByte × content bytes`, the meter throws `LimitExceededError`. The
// charges depend only on the schema, the content, and ajv's version and options, so every node stops at the same point.

/** The keyword of every schema position in Kiln's copy of a schema: its value is the cost of evaluating it there. */
export const COUNT_KEYWORD = '$kilnCount'

/** Steps every validation may take, however small its content. */
export const BUDGET_BASE = 50_000

/** Steps each byte of content (its UTF-8 JSON) adds to the budget of its validation. */
export const BUDGET_PER_BYTE = 20

/**
 * The most stack ajv's validation functions may use at once, as Kiln estimates it from each function's size (its
 * declarations). A recursive schema nests a call per level of content, and a large function has a large frame: a
 * schema of 500 `anyOf` properties overflows Node's default stack (984 KiB) at 17 levels of content. Kiln stops
 * first, at the same depth on every node; the rest of the stack stays for the code that called the validation.
 */
export const MAX_VALIDATION_STACK = 640 * 1024

/** The frame of one validation function with no declarations, and what each declaration adds (measured: 5–8 bytes). */
const FRAME_BASE = 320
const FRAME_PER_DECLARATION = 8

/** The budget of a validation of `contentBytes` bytes of content, in steps. */
export function validationBudget (contentBytes: number): number {
  return BUDGET_BASE + BUDGET_PER_BYTE * contentBytes
}

/** Steps each error costs: ajv builds an object for it (about 1 µs), and a failing call hands it to its caller. */
const ERROR_STEPS = 10

/**
 * Counts the steps of one validation at a time. Validation is synchronous, so one meter serves every schema an ajv
 * instance compiles: `start` before each validation, `stop` after it.
 */
export class EvaluationMeter {
  used = 0
  limit = Number.POSITIVE_INFINITY
  /** The estimated bytes of stack ajv's functions use now; kept balanced by each function's `finally`. */
  stack = 0
  readonly maxStack = MAX_VALIDATION_STACK
  private contentBytes = 0
  /** Keys of the objects seen in this validation: counting them again would cost what is being charged. */
  private keyCounts = new WeakMap<object, number>()

  /** Starts a validation of `contentBytes` bytes. */
  start (contentBytes: number): void {
    this.used = 0
    this.stack = 0
    this.keyCounts = new WeakMap()
    this.contentBytes = contentBytes
    this.limit = validationBudget(contentBytes)
  }

  stop (): void {
    this.limit = Number.POSITIVE_INFINITY
  }

  charge (steps: number): void {
    this.used += steps
    if (this.used > this.limit) this.exceeded()
  }

  /** One error built by ajv. */
  error (): void {
    this.used += ERROR_STEPS
    if (this.used > this.limit) this.exceeded()
  }

  /** A failing call's errors added to its caller's (ajv concatenated them: quadratic over many calls). */
  append (errors: unknown[] | null, added: unknown[]): unknown[] {
    if (errors === null) return added
    for (const error of added) errors.push(error)
    return errors
  }

  /**
   * One evaluation of a subschema on `data`: `fixed` steps, plus `perChar` per character of a string, `perItem` per
   * item of an array and `perKey` per key of an object.
   */
  step (data: unknown, fixed: number, perChar: number, perItem: number, perKey: number): void {
    let steps = fixed
    if (typeof data === 'string') {
      steps += perChar * data.length
    } else if (typeof data === 'object' && data !== null) {
      if (Array.isArray(data)) {
        steps += perItem * data.length
      } else if (perKey !== 0) {
        let keys = this.keyCounts.get(data)
        if (keys === undefined) {
          keys = Object.keys(data).length
          this.keyCounts.set(data, keys)
        }
        steps += perKey * keys
      }
    }
    this.used += steps
    if (this.used > this.limit) this.exceeded()
  }

  exceeded (): never {
    throw new LimitExceededError(
      `validating ${this.contentBytes} bytes of content against the schema takes more than its budget of ${this.limit} steps (${BUDGET_BASE} + ${BUDGET_PER_BYTE} per byte)`,
      { details: { budget: this.limit, contentBytes: this.contentBytes } }
    )
  }

  tooDeep (): never {
    throw new LimitExceededError(
      `validating the content against the schema nests its calls deeper than the limit of ${MAX_VALIDATION_STACK} bytes of stack`,
      { details: { stackLimit: MAX_VALIDATION_STACK } }
    )
  }
}

/** Values that are data, not schemas: copied as they are, never given `$kilnCount`. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'dependentRequired'])

/** Keywords whose value maps names to schemas: the map is not a schema, its values are. */
const MAP_KEYWORDS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependencies'])

/** Keywords whose work grows with the length of a string (`pattern` is charged where it runs). */
const STRING_KEYWORDS = new Set(['minLength', 'maxLength', 'format', 'formatMinimum', 'formatMaximum', 'formatExclusiveMinimum', 'formatExclusiveMaximum'])

/** Keywords that visit every item of an array. */
const ITEM_KEYWORDS = new Set(['items', 'prefixItems', 'additionalItems', 'contains', 'unevaluatedItems', 'uniqueItems'])

/**
 * Steps per key for each keyword that visits every key of an object: reading the keys of a large object costs about
 * 250 ns each (V8 sorts them, for a 20 000-key object), 2 to 3 steps.
 */
const KEY_STEPS = 3

/** Keywords that visit every key of an object. */
const KEY_KEYWORDS = new Set(['additionalProperties', 'patternProperties', 'propertyNames', 'unevaluatedProperties', 'minProperties', 'maxProperties'])

/**
 * Objects and arrays of Kiln's copies that are not schemas: data (`const`, `enum`, `dependentRequired`), maps of
 * schemas and lists of schemas. A `$ref` to one of them is refused: ajv would evaluate it without `$kilnCount`.
 */
const NOT_SCHEMAS = new WeakSet<object>()

/** What the steps of a comparison with `value` (a `const` or an `enum` entry) are worth: 1 per 16 bytes of it. */
function comparisonSteps (value: unknown): number {
  return 1 + ((JSON.stringify(value) ?? '').length >> 4)
}

/** Marks every object and array of a `const`, `enum` or `dependentRequired` value (a copy) as data. */
function markData (value: unknown): void {
  if (typeof value !== 'object' || value === null) return
  NOT_SCHEMAS.add(value)
  for (const child of Array.isArray(value) ? value : Object.values(value)) markData(child)
}

/**
 * The `$kilnCount` value of a schema object (a copy): `[fixed, perChar, perItem, perKey]`. `keyed` is whether any part
 * of the schema uses `unevaluatedProperties`, whose bookkeeping merges the evaluated keys of an object at every step on
 * it.
 */
function costOf (schema: Record<string, unknown>, keyed: boolean): [number, number, number, number] {
  let fixed = 1
  let perChar = 0
  let perItem = 0
  let perKey = keyed ? KEY_STEPS : 0
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'enum' && Array.isArray(value)) for (const item of value) fixed += comparisonSteps(item)
    if (keyword === 'const') fixed += comparisonSteps(value)
    if (keyword === 'required' && Array.isArray(value)) fixed += value.length
    if (keyword === 'dependentRequired' && typeof value === 'object' && value !== null) {
      for (const list of Object.values(value)) fixed += 1 + (Array.isArray(list) ? list.length : 0)
    }
    if (MAP_KEYWORDS.has(keyword) && keyword !== '$defs' && keyword !== 'definitions' && typeof value === 'object' && value !== null) {
      fixed += Object.keys(value).length
    }
    if (Array.isArray(value) && ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'].includes(keyword)) fixed += value.length
    if (STRING_KEYWORDS.has(keyword)) perChar += 1
    if (ITEM_KEYWORDS.has(keyword)) perItem = 1
    if (KEY_KEYWORDS.has(keyword)) perKey += KEY_STEPS
  }
  return [fixed, perChar, perItem, perKey]
}

/** Copies a value in a schema position (or one that a `$ref` may treat as a schema), adding `$kilnCount` to objects. */
function copySchema (node: unknown, keyed: boolean): unknown {
  if (typeof node !== 'object' || node === null) return node
  if (Array.isArray(node)) {
    // a list of schemas, or an unknown keyword's array: a `$ref` may point at its items, not at the list
    const list = node.map((item) => copySchema(item, keyed))
    NOT_SCHEMAS.add(list)
    return list
  }
  const copy: Record<string, unknown> = {}
  for (const [keyword, value] of Object.entries(node)) {
    // the keyword is Kiln's here: a schema's own value of it (ignored under `strict: false` anyway) is replaced
    if (keyword === COUNT_KEYWORD) continue
    if (DATA_KEYWORDS.has(keyword)) {
      const data = cloneJson(value)
      markData(data)
      copy[keyword] = data
    } else if (MAP_KEYWORDS.has(keyword) && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const map: Record<string, unknown> = {}
      for (const [name, schema] of Object.entries(value)) map[name] = copySchema(schema, keyed)
      NOT_SCHEMAS.add(map)
      copy[keyword] = map
    } else {
      // a schema, a list of them, or an unknown keyword's value: ajv ignores the latter unless a `$ref` points into it,
      // and then it is a schema
      copy[keyword] = copySchema(value, keyed)
    }
  }
  copy[COUNT_KEYWORD] = costOf(copy, keyed)
  return copy
}

/**
 * Kiln's copy of a schema (plain JSON, already checked): every object in a schema position, and every object a
 * `$ref` might treat as one, gets `$kilnCount`, its cost. The schema itself is not touched.
 */
export function countedCopy (schema: AnySchemaObject): AnySchemaObject {
  const keyed = JSON.stringify(schema).includes('"unevaluatedProperties"')
  return copySchema(schema, keyed) as AnySchemaObject
}

/** `$kilnCount`: charges the evaluation of its schema to the meter, before any other keyword of it runs. */
function countKeyword (meter: EvaluationMeter): CodeKeywordDefinition {
  return {
    keyword: COUNT_KEYWORD,
    schemaType: 'array',
    code (cxt: KeywordCxt) {
      const [fixed, perChar, perItem, perKey] = cxt.schema as number[]
      const ref = cxt.gen.scopeValue('obj', { ref: meter })
      cxt.gen.code(_`${ref}.step(${cxt.data}, ${fixed ?? 1}, ${perChar ?? 0}, ${perItem ?? 0}, ${perKey ?? 0})`)
    }
  }
}

/** The value `pointer` (`#` or `#/…`) names in `root`, or `undefined`. */
function atPointer (root: unknown, pointer: string): unknown {
  if (pointer === '#') return root
  let node = root
  for (const token of pointer.slice(2).split('/')) {
    if (typeof node !== 'object' || node === null) return undefined
    const key = decodeURIComponent(token).replaceAll('~1', '/').replaceAll('~0', '~')
    if (!Object.hasOwn(node, key)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

/**
 * Whether `schema` has no keyword ajv evaluates but `$ref` (and Kiln's `$kilnCount`): ajv resolves a `$ref` to such
 * a schema through to where its own `$ref` leads, and recursed without end (a RangeError while compiling) when those
 * lead back to it.
 */
function onlyRef (schema: unknown, rules: Ajv['RULES']['all']): schema is { $ref: string } {
  if (typeof schema !== 'object' || schema === null || typeof (schema as { $ref?: unknown }).$ref !== 'string') return false
  return Object.keys(schema).every((keyword) => keyword === '$ref' || keyword === COUNT_KEYWORD || rules[keyword] === undefined)
}

/**
 * Refuses a `$ref` whose target is a chain of schemas that only `$ref` onwards, back into itself (`$defs: { a: {
 * $ref: '#/$defs/a' } }`): ajv overflowed the stack compiling it, so a node running ajv cannot use the schema. Only
 * chains of JSON pointers into the root are followed.
 */
function checkRefCycle ($ref: string, root: unknown, rules: Ajv['RULES']['all']): void {
  const seen = new Set<unknown>()
  let ref = $ref
  while (ref === '#' || ref.startsWith('#/')) {
    const target = atPointer(root, ref)
    if (!onlyRef(target, rules)) return
    if (seen.has(target)) {
      throw new SchemaValidationError(`$ref ${JSON.stringify($ref)} leads to schemas that only refer onwards, back to themselves (${JSON.stringify(ref)})`, {
        details: { $ref }
      })
    }
    seen.add(target)
    ref = target.$ref
  }
}

/** Refuses a `$ref` that points at data (`const`, `enum`, …) or at a map or list of schemas rather than at a schema. */
function guardRefs (ajv: Ajv): void {
  const rule = ajv.RULES.all.$ref
  if (typeof rule !== 'object') throw new TypeError('ajv: the $ref keyword is expected to be defined')
  const definition = rule.definition as CodeKeywordDefinition
  const code = definition.code
  definition.code = (cxt, ruleType) => {
    const $ref = cxt.schema as string
    const { it } = cxt
    const root = it.schemaEnv.root
    // pointers are read from the root only where no `$id` changed the base (ajv writes the root's base `#` or ``)
    if (it.baseId.replace(/#$/, '') === root.baseId.replace(/#$/, '')) checkRefCycle($ref, root.schema, it.self.RULES.all)
    if (!(($ref === '#' || $ref === '#/') && it.baseId === root.baseId)) {
      const target: unknown = resolveRef.call(it.self, root, it.baseId, $ref)
      const schema = target instanceof SchemaEnv ? target.schema : target
      if (typeof schema === 'object' && schema !== null && NOT_SCHEMAS.has(schema)) {
        throw new SchemaValidationError(`$ref ${JSON.stringify($ref)} points at a value that is not a schema (inside const, enum or dependentRequired, or a map or list of schemas)`, {
          details: { $ref }
        })
      }
    }
    code.call(definition, cxt, ruleType)
  }
}

/** How ajv adds a failing call's errors to its caller's: a new array each time. */
const CONCAT = /vErrors = vErrors === null \? ([\w$.]+) : vErrors\.concat\(\1\);/g

/** Where ajv counts an error it has just built. */
const ERROR_COUNT = /(?<![\w$])errors\+\+;/g

/**
 * ajv's `code.process` hook: wraps each compiled validation function so that the meter knows the stack its calls use
 * (refusing past {@link MAX_VALIDATION_STACK}) and is charged for each error built and handed back, and makes a failing call's errors
 * join its caller's in place (ajv concatenated them into a new array per call: 68 s for 32 000 failing items). ajv
 * writes each function as `…return function validateN(…){…}`; anything else is refused.
 */
export function meteredFunction (source: string, env?: { validateName?: unknown, $async?: boolean, schema?: unknown }): string {
  // asynchronous schemas are refused after compiling, as they cannot be run synchronously
  if (env?.$async === true) return source
  const name = String(env?.validateName)
  const marker = `return function ${name}(`
  const at = source.indexOf(marker)
  if (!/^validate\d+$/.test(name) || at === -1 || source.includes(marker, at + 1)) {
    throw new TypeError(`ajv wrote a validation function (${name}) in a shape Kiln does not know`)
  }
  const body = source.slice(at + marker.length).replace(CONCAT, 'vErrors = meter.append(vErrors, $1);').replace(ERROR_COUNT, 'errors++;meter.error();')
  if (body.includes('.concat(')) throw new TypeError(`ajv wrote a validation function (${name}) that concatenates errors in a way Kiln does not know`)
  const declarations = source.slice(at).match(/\b(?:const|let|var) /g)?.length ?? 0
  const frame = FRAME_BASE + FRAME_PER_DECLARATION * declarations
  // a meta-schema's functions (a schema may `$ref` one) have no `$kilnCount`: each call is charged by its size instead
  const schema = env?.schema
  const counted = typeof schema !== 'object' || schema === null || COUNT_KEYWORD in schema
  const inner = `${name}_kiln`
  return `${source.slice(0, at)}const meter = self.kilnMeter;\n` +
    `const ${inner} = function ${inner}(${body};\n` +
    `const ${name} = function ${name}(data, valCxt) {\n` +
    `  meter.stack += ${frame}\n` +
    '  try {\n' +
    '    if (meter.stack > meter.maxStack) meter.tooDeep()\n' +
    (counted ? '' : `    meter.charge(${1 + (declarations >> 4)})\n`) +
    `    const valid = ${inner}(data, valCxt)\n` +
    // its caller appends them: each level an error passes up copies it once more
    `    if (!valid && ${name}.errors !== null) meter.charge(${name}.errors.length)\n` +
    '    return valid\n' +
    `  } finally { meter.stack -= ${frame} }\n` +
    '};\n' +
    `return ${name}`
}

/**
 * Makes `ajv` (created with {@link meteredFunction} as its `code.process`) charge its validations to `meter`: adds
 * `$kilnCount`, first among the keywords of every schema, and refuses `$ref`s to what is not a schema.
 */
export function meterAjv (ajv: Ajv, meter: EvaluationMeter): void {
  Object.defineProperty(ajv, 'kilnMeter', { value: meter })
  ajv.addKeyword(countKeyword(meter))
  // first of the first group, so that it runs before any keyword that could call another function
  const group = ajv.RULES.rules[0]
  const index = group?.rules.findIndex((rule) => rule.keyword === COUNT_KEYWORD) ?? -1
  if (group === undefined || group.type !== undefined || index === -1) throw new TypeError('ajv: $kilnCount is expected in the untyped group of rules')
  group.rules.unshift(...group.rules.splice(index, 1))
  guardRefs(ajv)
}
