import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const exec = promisify(execFile)
const bin = resolve(import.meta.dirname, '../bin/kiln.js')

async function kiln (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('kiln command', () => {
  it('prints its version and the Kiln packages it is built from as JSON', async () => {
    const { code, stdout } = await kiln('version', '--json')
    expect(code).toBe(0)
    const info = JSON.parse(stdout) as { version: string, node: string, packages: Array<{ name: string, version: string }> }
    expect(info.node).toBe(process.version)
    expect(info.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['@kiln/interface', '@kiln/core', '@kiln/http-server', '@kiln/storage-level']))
    for (const p of info.packages) expect(p.version).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('answers --help for a command', async () => {
    const { code, stdout } = await kiln('daemon', '--help')
    expect(code).toBe(0)
    expect(stdout).toContain('Usage: kiln daemon')
  })

  it('exits non-zero with a one-line message on an unknown command', async () => {
    const { code, stderr } = await kiln('frobnicate')
    expect(code).toBe(2)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain('unknown command "frobnicate"')
  })

  it('exits non-zero on an unknown option', async () => {
    const { code, stderr } = await kiln('version', '--bogus')
    expect(code).toBe(1)
    expect(stderr).toContain('bogus')
  })
})
