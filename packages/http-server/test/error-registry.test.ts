import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { errorStatuses } from '@kiln/http-server'
import * as anchorMock from '@kiln/anchor-mock'
import * as core from '@kiln/core'
import * as tile from '@kiln/doctype-tile'
import * as iface from '@kiln/interface'
import { errorClasses, KilnError } from '@kiln/interface'
import { describe, expect, it } from 'vitest'

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url))

/** One error class declared in a package's source. */
interface DeclaredError {
  className: string
  parent: string
  /** The `name` its instances carry, when the class declares one. */
  name?: string
  where: string
}

function sourceFiles (dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return entry.endsWith('.ts') && !entry.endsWith('.d.ts') ? [path] : []
  })
}

/** The body of the class whose `{` is at `open`: up to the matching brace. */
function bodyAt (text: string, open: number): string {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++
    else if (text[i] === '}' && --depth === 0) return text.slice(open, i + 1)
  }
  return text.slice(open)
}

/** Every class that extends another in the `src` of every package, with the name it declares. */
function declaredClasses (): DeclaredError[] {
  const found: DeclaredError[] = []
  for (const pkg of readdirSync(PACKAGES)) {
    const src = join(PACKAGES, pkg, 'src')
    let files: string[]
    try {
      files = sourceFiles(src)
    } catch {
      continue
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      for (const match of text.matchAll(/\bclass\s+(\w+)\s+extends\s+(\w+)[^{]*\{/g)) {
        const body = bodyAt(text, match.index + match[0].length - 1)
        const name = /\bname(?:\s*:\s*string)?\s*=\s*'(\w+)'/.exec(body)?.[1]
        found.push({ className: match[1]!, parent: match[2]!, ...(name === undefined ? {} : { name }), where: `${pkg}/src/${file.slice(src.length + 1)}` })
      }
    }
  }
  return found
}

/** The classes that are `KilnError` or descend from it, by following `extends` through every package. */
function kilnErrorClasses (all: DeclaredError[]): DeclaredError[] {
  const family = new Set(['KilnError'])
  let grew = true
  while (grew) {
    grew = false
    for (const c of all) {
      if (family.has(c.parent) && !family.has(c.className)) { family.add(c.className); grew = true }
    }
  }
  return all.filter((c) => family.has(c.className))
}

describe('the error table covers every error a Kiln package declares', () => {
  const declared = declaredClasses()
  const errors = kilnErrorClasses(declared)

  it('finds the error classes of the interface and of the plugins (the scan itself works)', () => {
    const names = errors.map((e) => e.name)
    for (const name of ['KilnError', 'DocumentNotFoundError', 'InvalidAccountIdError', 'InvalidMerkleBatchError', 'UsageError']) {
      expect(names).toContain(name)
    }
    // Every class the interface registers at runtime is found in its source too.
    for (const name of Object.keys(errorClasses)) expect(names, name).toContain(name)
  })

  it('has a status for every KilnError subclass in packages/*/src', () => {
    const missing = errors.filter((e) => e.name === undefined || !Object.hasOwn(errorStatuses, e.name))
      .map((e) => `${e.name ?? e.className} (${e.where})`)
    expect(missing, 'add these names to packages/http-server/src/errors-table.ts with a deliberate status').toEqual([])
  })

  it('finds each error class declaring its own name, equal to the class name', () => {
    const unnamed = errors.filter((e) => e.name !== e.className).map((e) => `${e.className} (${e.where}) is named ${e.name ?? 'by its parent'}`)
    expect(unnamed).toEqual([])
  })

  it('finds no error class that extends Error without KilnError', () => {
    // The fuzz harness's own failure is a plain Error on purpose: were it a KilnError, it would count as a refusal.
    const harness = new Set(['FuzzFailure (interface-tests/src/fuzz.ts)'])
    const stray = declared.filter((c) => /^(Error|TypeError|RangeError)$/.test(c.parent) && c.className !== 'KilnError' && !harness.has(`${c.className} (${c.where})`))
      .map((c) => `${c.className} (${c.where})`)
    expect(stray).toEqual([])
  })

  it('has a status for every class the interface registers for the client', () => {
    for (const name of Object.keys(errorClasses)) expect(errorStatuses[name], name).toBeTypeOf('number')
  })

  it('has a status for every KilnError class the packages it can import export at runtime', () => {
    const exported = Object.entries({ ...iface, ...core, ...tile, ...anchorMock })
      .filter(([, value]) => typeof value === 'function' && (value === KilnError || value.prototype instanceof KilnError))
      .map(([, Class]) => new (Class as typeof KilnError)('probe').name)
    expect(exported).toContain('InvalidMockAnchorOptionError')
    expect(exported.filter((name) => !Object.hasOwn(errorStatuses, name))).toEqual([])
  })

  it('lists no name that no package declares', () => {
    const names = new Set(errors.map((e) => e.name))
    expect(Object.keys(errorStatuses).filter((name) => !names.has(name))).toEqual([])
  })
})
