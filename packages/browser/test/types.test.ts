import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

// The types a web developer gets: a browser project (DOM libraries, no Node types, the `browser` condition, as
// Vite's and esbuild's templates set it up) type-checks its use of @kiln/browser, and the Node-only parts never leak
// into Kiln's own declarations.
const project = fileURLToPath(new URL('./fixtures/web-project/', import.meta.url))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

async function check (...args: string[]): Promise<string> {
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', project, ...args], { cwd: project })
    return ''
  } catch (err) {
    return (err as { stdout?: string }).stdout ?? String(err)
  }
}

describe('@kiln/browser in a browser TypeScript project', () => {
  it('type-checks a page that creates, updates and watches a document on the network, without Node types', async () => {
    expect(await check()).toBe('')
  }, 60_000)

  it('has no error in Kiln\'s own declarations when they are checked too (skipLibCheck off): only dependencies\' typings need Node', async () => {
    const errors = (await check('--skipLibCheck', 'false')).split('\n').filter((line) => /error TS/.test(line))
    // Kiln's declarations resolve to the packages' dist/ (workspace links), never under node_modules/.
    expect(errors.filter((line) => !line.includes('node_modules/'))).toEqual([])
  }, 60_000)

  it('refuses a page that misuses the API (the check is real)', async () => {
    const output = await check('--noEmit', '--lib', 'ES2023')
    // Without the DOM library, `document` is unknown: the project is checked, not skipped.
    expect(output).toMatch(/app\.mts\(\d+,\d+\): error TS2584: Cannot find name 'document'/)
  }, 60_000)
})
