#!/usr/bin/env node
// Runs every bench/*.bench.mjs in turn. Each prints its figures as `bench <name>: <value> <unit>` lines, with the
// baseline it compares to; none fails on timing.
import { readdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'

const dir = fileURLToPath(new URL('.', import.meta.url))
const only = process.argv.slice(2)
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.mjs')).sort()
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
for (const file of files) {
  console.log(`# ${file}`)
  const mod = await import(pathToFileURL(join(dir, file)).href)
  await mod.default()
}
