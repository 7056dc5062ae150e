import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
// @ts-expect-error plain ESM script without types
import { checkReferences } from '../scripts/check-references.mjs'

const repoRoot = resolve(import.meta.dirname, '..')

function workspace (packages: Record<string, { deps?: string[], refs?: string[] }>, rootRefs: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-refs-'))
  writeFileSync(join(root, 'tsconfig.json'), JSON.stringify({ references: rootRefs.map((p) => ({ path: `packages/${p}` })) }))
  for (const [dir, { deps = [], refs = [] }] of Object.entries(packages)) {
    mkdirSync(join(root, 'packages', dir), { recursive: true })
    const dependencies = Object.fromEntries(deps.map((d) => [`@kiln/${d}`, '*']))
    writeFileSync(join(root, 'packages', dir, 'package.json'), JSON.stringify({ name: `@kiln/${dir}`, dependencies }))
    writeFileSync(join(root, 'packages', dir, 'tsconfig.json'), JSON.stringify({ references: refs.map((r) => ({ path: `../${r}` })) }))
  }
  return root
}

describe('project references', () => {
  const made: string[] = []
  afterEach(() => { for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true }) })

  it('match the dependencies of every package in this repository', () => {
    expect(checkReferences(repoRoot)).toEqual([])
  })

  it('reports a dependency that the tsconfig does not reference', () => {
    const root = workspace({ a: {}, b: { deps: ['a'] } }, ['a', 'b'])
    made.push(root)
    expect(checkReferences(root)).toEqual(['@kiln/b depends on packages/a but its tsconfig does not reference it'])
  })

  it('reports a reference to a package that is not a dependency', () => {
    const root = workspace({ a: {}, b: { refs: ['a'] } }, ['a', 'b'])
    made.push(root)
    expect(checkReferences(root)).toEqual(['@kiln/b references packages/a but does not depend on it'])
  })

  it('accepts a reference to a sub-project inside the package itself', () => {
    const root = workspace({ a: {}, b: { refs: ['b/page'] } }, ['a', 'b'])
    made.push(root)
    expect(checkReferences(root)).toEqual([])
  })

  it('reports a package the root tsconfig does not build', () => {
    const root = workspace({ a: {}, b: {} }, ['a'])
    made.push(root)
    expect(checkReferences(root)).toEqual(['tsconfig.json does not reference packages/b'])
  })
})
