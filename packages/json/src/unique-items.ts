import { _, type Ajv, type AnySchemaObject, type CodeKeywordDefinition, type KeywordCxt } from 'ajv'
import { getSchemaTypes } from 'ajv/dist/compile/validate/dataType.js'
import type { EvaluationMeter } from './evaluation-budget.js'

// ajv's `uniqueItems` compares items pairwise with deep equality unless the items' schema gives them a scalar type:
// quadratic, 6 s for a 256 KiB array of small objects. Kiln keeps ajv's code where ajv is linear (its scalar path,
// whose quirks decide verdicts too) and replaces the pairwise loop with one pass over canonical JSON.

/**
 * Canonical JSON of a plain JSON value: object keys sorted, numbers as `JSON.stringify` writes them. Two values have
 * the same canonical JSON exactly when ajv's deep equality (fast-deep-equal) holds between them: numbers compare as
 * JavaScript numbers (`1` and `1.0` are one number, `0` and `-0` both print `0`), strings by their code units,
 * arrays in order, objects by their keys whatever their order.
 */
export function canonicalJson (value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null'
  let out: string
  if (Array.isArray(value)) {
    out = '['
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i])
    return `${out}]`
  }
  const keys = Object.keys(value).sort()
  out = '{'
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`
  }
  return `${out}}`
}

/** Where ajv's pairwise loop stops: the last item equal to an earlier one (`i`), and the last such earlier item (`j`). */
export interface Duplicate {
  i: number
  j: number
}

/**
 * The pair of equal items ajv's pairwise loop reports, or `null` when all are distinct, in one pass: ajv scans `i`
 * down from the end and `j` down from `i - 1`, so it reports the largest `i` equal to an earlier item, with the
 * nearest such `j`. `charge` is told the steps of each item (4, plus 1 per 2 characters of its canonical JSON) before the next is read.
 */
export function findDuplicate (items: readonly unknown[], charge: (steps: number) => void): Duplicate | null {
  const last = new Map<string, number>()
  let found: Duplicate | null = null
  for (let i = 0; i < items.length; i++) {
    const key = canonicalJson(items[i])
    charge(4 + (key.length >> 1))
    const j = last.get(key)
    if (j !== undefined) found = { i, j }
    last.set(key, i)
  }
  return found
}

/** Whether ajv takes its linear path: the items' schema (`items`) gives them scalar types only. */
function ajvIsLinear (parentSchema: AnySchemaObject): boolean {
  // as ajv decides it: any truthy `items`, even `true` or a list (which have no `type`)
  const itemTypes = parentSchema.items as unknown ? getSchemaTypes(parentSchema.items as AnySchemaObject) : []
  return itemTypes.length > 0 && !itemTypes.some((t) => t === 'object' || t === 'array')
}

/**
 * `uniqueItems` with ajv's verdicts, messages and params in linear time, charging `meter` for the canonical JSON;
 * `ajvDefinition` is ajv's own, whose message it keeps and whose code it runs where that is linear.
 */
function uniqueItemsKeyword (ajvDefinition: CodeKeywordDefinition, meter: EvaluationMeter): CodeKeywordDefinition {
  return {
    ...ajvDefinition,
    // `$data` is off in Kiln's ajv instances
    $data: false,
    code (cxt: KeywordCxt) {
      const { gen, data, schema, parentSchema } = cxt
      if (schema !== true || ajvIsLinear(parentSchema)) {
        ajvDefinition.code(cxt)
        return
      }
      const find = gen.scopeValue('func', { ref: (items: unknown[]) => findDuplicate(items, (steps) => { meter.charge(steps) }) })
      const found = gen.const('duplicate', _`${find}(${data})`)
      const i = gen.let('i', _`${found} === null ? 0 : ${found}.i`)
      const j = gen.let('j', _`${found} === null ? 0 : ${found}.j`)
      cxt.setParams({ i, j })
      cxt.fail(_`${found} !== null`)
    }
  }
}

/** Replaces ajv's `uniqueItems` in `ajv` with the linear one, in the same place among the keywords of arrays. */
export function replaceUniqueItems (ajv: Ajv, meter: EvaluationMeter): void {
  const group = ajv.RULES.rules.find((g) => g.rules.some((rule) => rule.keyword === 'uniqueItems'))
  const index = group?.rules.findIndex((rule) => rule.keyword === 'uniqueItems') ?? -1
  const original = group?.rules[index]?.definition
  if (group === undefined || original === undefined || !('code' in original)) throw new TypeError('ajv: the uniqueItems keyword is expected to be defined')
  const next = group.rules[index + 1]?.keyword
  ajv.removeKeyword('uniqueItems')
  ajv.addKeyword({ ...uniqueItemsKeyword(original as CodeKeywordDefinition, meter), ...(next === undefined ? {} : { before: next }) })
}
