#!/usr/bin/env node
// Compares two V8 heap snapshots (KILN_SOAK_HEAP_SNAPSHOTS writes one per checkpoint): the kinds of objects whose
// count or size grew the most from the first to the second. What keeps growing from lap to lap is where a leak
// hides. Usage: node bench/soak/heap-diff.mjs <before.heapsnapshot> <after.heapsnapshot> [rows, default 30]
import { readFileSync } from 'node:fs'

/** Count and self size per kind of node: `object Foo` (by constructor), `closure bar`, `string`, `array`, … */
function summarize (path) {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'))
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const { nodes, strings } = snapshot
  const kinds = new Map()
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]]
    // Strings and numbers are grouped by type alone; objects, closures and the rest by their name too.
    const named = !['string', 'concatenated string', 'sliced string', 'number'].includes(type)
    const key = named ? `${type} ${strings[nodes[i + nameAt]].slice(0, 80)}` : type
    const kind = kinds.get(key) ?? { count: 0, size: 0 }
    kind.count++
    kind.size += nodes[i + sizeAt]
    kinds.set(key, kind)
  }
  return kinds
}

const [before, after, rowsArg] = process.argv.slice(2)
if (before === undefined || after === undefined) {
  console.error('usage: node bench/soak/heap-diff.mjs <before.heapsnapshot> <after.heapsnapshot> [rows]')
  process.exit(2)
}
const rows = Number(rowsArg ?? 30)
const a = summarize(before)
const b = summarize(after)
const diffs = [...new Set([...a.keys(), ...b.keys()])].map((key) => {
  const x = a.get(key) ?? { count: 0, size: 0 }
  const y = b.get(key) ?? { count: 0, size: 0 }
  return { key, count: y.count - x.count, size: y.size - x.size, total: y.count }
})
const total = (m) => [...m.values()].reduce((s, k) => s + k.size, 0)
console.log(`self size ${(total(a) / 1e6).toFixed(2)} MB → ${(total(b) / 1e6).toFixed(2)} MB`)
for (const [title, by] of [['by size', (d) => d.size], ['by count', (d) => d.count]]) {
  console.log(`\ngrew most ${title}:`)
  for (const d of diffs.sort((p, q) => by(q) - by(p)).slice(0, rows)) {
    console.log(`${String(d.count).padStart(8)} objects ${String((d.size / 1024).toFixed(1)).padStart(9)} KB  (${d.total} now)  ${d.key}`)
  }
}
