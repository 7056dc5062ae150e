import type { DocIndexRecord } from '@kiln/interface'

/**
 * A backend's own copy of an index record, as it stores it: its JSON form (a value's `toJSON` applied, `undefined`
 * properties dropped), checked. Throws `TypeError` naming the field for a record a backend must not store; the
 * backend turns that into the `StorageError` that fails the batch.
 */
export function storedIndexRecord (record: DocIndexRecord): DocIndexRecord {
  if (record === null || typeof record !== 'object') throw new TypeError('the index record is not an object')
  const copy = JSON.parse(JSON.stringify(record) ?? 'null') as DocIndexRecord
  const strings = (value: unknown, field: string): void => {
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new TypeError(`its ${field} is not an array of strings`)
  }
  const time = (value: unknown, field: string): void => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`its ${field} is not a finite number of milliseconds`)
  }
  if (typeof record.doctype !== 'number' || !Number.isSafeInteger(record.doctype) || record.doctype < 0) throw new TypeError('its doctype is not a doctype code')
  strings(record.controllers, 'controllers')
  strings(record.tags, 'tags')
  strings(record.links, 'links')
  for (const field of ['family', 'schemaDoc', 'schemaCommit'] as const) {
    if (record[field] !== undefined && typeof record[field] !== 'string') throw new TypeError(`its ${field} is not a string`)
  }
  time(record.createdAt, 'createdAt')
  time(record.updatedAt, 'updatedAt')
  if (record.anchoredAt !== undefined) time(record.anchoredAt, 'anchoredAt')
  if (copy.content === undefined) copy.content = null
  return copy
}
