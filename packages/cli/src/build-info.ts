import { readFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The Kiln packages a build of the CLI is made from. */
export const KILN_PACKAGES = [
  '@kiln/interface', '@kiln/docid', '@kiln/codec', '@kiln/signing', '@kiln/core', '@kiln/doctype-tile', '@kiln/doctype-schema',
  '@kiln/doctype-account-link',
  '@kiln/storage-level', '@kiln/anchor-mock', '@kiln/http-server', '@kiln/http-client'
] as const

/** A package name and the version found installed. */
export interface PackageVersion {
  name: string
  version: string
}

/** Reads the version of the package whose entry point `import.meta.resolve(name)` finds. */
export function installedVersion (name: string): PackageVersion {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)))
  while (dir !== dirname(dir)) {
    const file = join(dir, 'package.json')
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string, version?: string }
      if (pkg.name === name) return { name, version: pkg.version ?? 'unknown' }
    }
    dir = dirname(dir)
  }
  return { name, version: 'unknown' }
}

/** The CLI's own version and those of the Kiln packages it was built from. */
export function buildInfo (): { version: string, node: string, packages: PackageVersion[] } {
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return { version: own.version, node: process.version, packages: KILN_PACKAGES.map(installedVersion) }
}
