import type { ContentCondition, DocIndexRecord, QueryFilter, TimeRange } from '@kiln/interface'
import { valueAt } from './content-path.js'
import { compareCodePoints, jsonEquals } from './json-values.js'

/** Whether `record` matches `filter`, exactly as the comments of `QueryFilter` and `ContentCondition` define it. */
export function matchesFilter (record: DocIndexRecord, filter: QueryFilter): boolean {
  if ('and' in filter) return filter.and.every((member) => matchesFilter(record, member))
  if ('or' in filter) return filter.or.some((member) => matchesFilter(record, member))
  if ('not' in filter) return !matchesFilter(record, filter.not)
  if ('doctype' in filter) return record.doctype === filter.doctype
  if ('controller' in filter) return record.controllers.includes(filter.controller)
  if ('family' in filter) return record.family === filter.family
  if ('tags' in filter) {
    const tags = filter.tags
    return 'all' in tags ? tags.all.every((tag) => record.tags.includes(tag)) : tags.any.some((tag) => record.tags.includes(tag))
  }
  if ('schema' in filter) {
    const schema = filter.schema
    return 'doc' in schema ? record.schemaDoc === schema.doc : record.schemaCommit === schema.commit
  }
  if ('linksTo' in filter) return record.links.includes(filter.linksTo)
  if ('content' in filter) return meetsCondition(valueAt(record.content, filter.content.path), filter.content)
  if ('created' in filter) return inRange(record.createdAt, filter.created)
  if ('updated' in filter) return inRange(record.updatedAt, filter.updated)
  return record.anchoredAt !== undefined && inRange(record.anchoredAt, filter.anchored)
}

/** Whether the value at a content path (`undefined`: missing) meets `condition`. */
export function meetsCondition (value: unknown, condition: ContentCondition): boolean {
  const present = value !== undefined
  if ('equalTo' in condition) return present && jsonEquals(value, condition.equalTo)
  if ('notEqualTo' in condition) return !(present && jsonEquals(value, condition.notEqualTo))
  if ('in' in condition) return present && condition.in.some((v) => jsonEquals(value, v))
  if ('notIn' in condition) return !(present && condition.notIn.some((v) => jsonEquals(value, v)))
  if ('isNull' in condition) return condition.isNull === (!present || value === null)
  if ('exists' in condition) return condition.exists === present
  if ('gt' in condition) return compareSameType(value, condition.gt, (c) => c > 0)
  if ('gte' in condition) return compareSameType(value, condition.gte, (c) => c >= 0)
  if ('lt' in condition) return compareSameType(value, condition.lt, (c) => c < 0)
  return compareSameType(value, condition.lte, (c) => c <= 0)
}

/** Compares `value` with `bound` when both are numbers or both strings (by code point); any other value fails. */
function compareSameType (value: unknown, bound: number | string, test: (comparison: number) => boolean): boolean {
  if (typeof bound === 'number') return typeof value === 'number' && test(value < bound ? -1 : value > bound ? 1 : 0)
  return typeof value === 'string' && test(compareCodePoints(value, bound))
}

function inRange (time: number, range: TimeRange): boolean {
  return (range.after === undefined || time > range.after) && (range.before === undefined || time < range.before)
}
