import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'

const exec = promisify(execFile)
const bin = resolve(import.meta.dirname, '../bin/kiln.js')
const recorder = pathToFileURL(resolve(import.meta.dirname, 'fixtures/record-imports.mjs')).href

/** The heavy parts only some commands need, and how to recognise them in a resolved URL. */
const HEAVY: Record<string, RegExp> = {
  ganache: /\/node_modules\/ganache\//,
  ethers: /\/node_modules\/ethers\//,
  '@kiln/anchor-ethereum': /\/packages\/anchor-ethereum\//,
  '@kiln/anchor-bitcoin': /\/packages\/anchor-bitcoin\//,
  // the warehouse mirror loads only for --backup, kiln backup and kiln restore
  '@kiln/backup': /\/packages\/backup\//,
  // the PostgreSQL driver loads only for a daemon storing or mirroring there, kiln backup and kiln restore
  pg: /\/node_modules\/pg\//,
  // libp2p and helia load only for a daemon on a network (--p2p-listen)
  libp2p: /\/node_modules\/(libp2p|helia|@libp2p\/[^/]+)\//
}

/** The heavy parts among the modules a log of `record-imports.mjs` lists. */
async function heavyIn (log: string): Promise<string[]> {
  const lines = (await readFile(log, 'utf8')).split('\n').filter((line) => line !== '')
  expect(lines.some((line) => line.includes('/packages/cli/dist/cli.js')), 'the recorder saw the CLI itself load').toBe(true)
  return Object.entries(HEAVY)
    .filter(([name, url]) => lines.some((line) => { const [specifier, resolved] = line.split('\t'); return specifier === name || url.test(resolved ?? '') }))
    .map(([name]) => name)
}

describe('the kiln CLI loads ganache, ethers and the chain anchors only in the commands that use them', () => {
  const dirs: string[] = []
  afterEach(async () => { for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true }) })

  async function tempDir (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-lazy-'))
    dirs.push(dir)
    return dir
  }

  /** Runs `kiln ...args` with the import recorder; returns the exit code and the log of resolved modules. */
  async function kiln (dir: string, name: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number, log: string, stderr: string }> {
    const log = join(dir, `${name}.log`)
    try {
      const { stderr } = await exec(process.execPath, ['--import', recorder, bin, ...args], { env: { ...process.env, ...env, KILN_IMPORT_LOG: log } })
      return { code: 0, log, stderr }
    } catch (err) {
      const e = err as { code: number, stderr: string }
      return { code: e.code, log, stderr: e.stderr }
    }
  }

  it('kiln --help loads none of them', async () => {
    const dir = await tempDir()
    const { code, log } = await kiln(dir, 'help', ['--help'])
    expect(code).toBe(0)
    expect(await heavyIn(log)).toEqual([])
  })

  // a daemon and three CLI processes: on a loaded machine that takes longer than the default 30 s
  it('kiln daemon --anchor mock and kiln create against it load none of them', { timeout: 120_000 }, async () => {
    const dir = await tempDir()
    const daemonLog = join(dir, 'daemon.log')
    const daemon = spawn(process.execPath, ['--import', recorder, bin, 'daemon', '--anchor', 'mock', '--p2p-listen', 'none', '--port', '0', '--host', '127.0.0.1', '--data-dir', join(dir, 'data'), '--json', '--log-level', 'warn'], {
      env: { ...process.env, KILN_IMPORT_LOG: daemonLog },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    const exited = once(daemon, 'exit')
    try {
      let url: string | undefined
      for await (const line of createInterface({ input: daemon.stdout })) {
        const event = JSON.parse(line) as { event?: string, url?: string }
        if (event.event === 'listening') { url = event.url; break }
      }
      expect(url, 'the daemon said where it listens').toBeDefined()
      const { seed } = JSON.parse((await exec(process.execPath, [bin, 'did', 'create', '--json'])).stdout) as { seed: string }
      const create = await kiln(dir, 'create', ['create', '{"title":"light"}', '--seed', seed, '--json'], { KILN_URL: url! })
      expect(create.code, create.stderr).toBe(0)
      expect(await heavyIn(create.log)).toEqual([])
    } finally {
      daemon.kill('SIGTERM')
      await exited
    }
    expect(await heavyIn(daemonLog)).toEqual([])
  })

  it('kiln verify, which checks Bitcoin anchors, does load @kiln/anchor-bitcoin: the recorder sees lazy imports', async () => {
    const dir = await tempDir()
    const { code, log, stderr } = await kiln(dir, 'verify', ['verify', '--bitcoin-network', 'nonet', join(dir, 'none.car')])
    expect(code).not.toBe(0)
    expect(stderr).toContain('--bitcoin-network must be one of')
    expect(await heavyIn(log)).toContain('@kiln/anchor-bitcoin')
  })
})
