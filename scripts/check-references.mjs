#!/usr/bin/env node
// Fails when a package's tsconfig `references` do not match its @kiln/* dependencies, or when the root tsconfig
// does not reference every package: `tsc -b` then builds in the wrong order, or not at all.
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join, resolve, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const readJSON = (file) => JSON.parse(readFileSync(file, 'utf8'))

/** Returns one message per mismatch found in the workspace rooted at `root`; empty when all agree. */
export function checkReferences (root) {
  const problems = []
  // Every workspace folder (`packages/*`, `examples/*`) that has a package.json.
  const dirs = ['packages', 'examples'].flatMap((folder) => {
    const parent = join(root, folder)
    if (!existsSync(parent)) return []
    return readdirSync(parent, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(parent, d.name, 'package.json')))
      .map((d) => join(parent, d.name))
  })
  const byName = new Map(dirs.map((dir) => [readJSON(join(dir, 'package.json')).name, dir]))
  const built = dirs.filter((dir) => existsSync(join(dir, 'tsconfig.json')))

  const rootRefs = new Set((readJSON(join(root, 'tsconfig.json')).references ?? []).map((r) => resolve(root, r.path)))
  for (const dir of built) {
    if (!rootRefs.has(dir)) problems.push(`tsconfig.json does not reference ${relative(root, dir)}`)
  }
  for (const ref of rootRefs) {
    if (!built.includes(ref)) problems.push(`tsconfig.json references ${relative(root, ref)}, which is not a package`)
  }

  for (const dir of built) {
    const pkg = readJSON(join(dir, 'package.json'))
    const deps = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies }
    const wanted = new Set(Object.keys(deps).filter((name) => byName.has(name)).map((name) => byName.get(name)))
    const refs = new Set((readJSON(join(dir, 'tsconfig.json')).references ?? []).map((r) => resolve(dir, r.path)))
    for (const dep of wanted) {
      if (!refs.has(dep)) problems.push(`${pkg.name} depends on ${relative(root, dep)} but its tsconfig does not reference it`)
    }
    for (const ref of refs) {
      // A sub-project of the package itself (http-server's browser page, `explorer/`) is built with it, not a dependency.
      if (ref.startsWith(dir + sep)) continue
      if (!wanted.has(ref)) problems.push(`${pkg.name} references ${relative(root, ref)} but does not depend on it`)
    }
  }
  return problems
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
  const problems = checkReferences(root)
  for (const p of problems) console.error(`references: ${p}`)
  if (problems.length > 0) process.exit(1)
  console.log('references: every package references exactly its Kiln dependencies')
}
