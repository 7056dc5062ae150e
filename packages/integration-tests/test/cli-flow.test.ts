import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KILN_BIN, startDaemon, type DaemonProcess } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'

const exec = promisify(execFile)

describe('the kiln CLI against a running daemon', () => {
  let daemon: DaemonProcess
  let remove: () => Promise<void>
  let seed: string
  let adminSeed: string

  async function kiln (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
    try {
      const { stdout, stderr } = await exec(process.execPath, [KILN_BIN, ...args], { env: { ...process.env, KILN_URL: daemon.url } })
      return { code: 0, stdout, stderr }
    } catch (err) {
      const e = err as { code: number, stdout: string, stderr: string }
      return { code: e.code, stdout: e.stdout, stderr: e.stderr }
    }
  }
  async function kilnJSON<T> (...args: string[]): Promise<T> {
    const result = await kiln(...args, '--json')
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    return JSON.parse(result.stdout) as T
  }

  beforeAll(async () => {
    const dir = await dataDir()
    remove = dir.remove
    // The admin DID is made before the daemon starts, as a user would.
    const made = JSON.parse((await exec(process.execPath, [KILN_BIN, 'did', 'create', '--json'])).stdout) as { did: string, seed: string }
    adminSeed = made.seed
    daemon = await startDaemon(['--data-dir', dir.path, '--anchor-interval', '300', '--admin-did', made.did])
    seed = (await kilnJSON<{ seed: string }>('did', 'create')).seed
  })
  afterAll(async () => {
    await daemon?.stop()
    await remove?.()
  })

  it('creates, updates, shows, lists commits, waits for the anchor, and pins', async () => {
    type Snapshot = { streamId: string, state: { content: unknown, anchorStatus: string, log: unknown[] } }
    const created = await kilnJSON<Snapshot>('create', '{"title":"hello"}', '--seed', seed)
    expect(created.streamId).toMatch(/^k/)
    expect(created.state.content).toEqual({ title: 'hello' })

    const updated = await kilnJSON<Snapshot>('update', created.streamId, '{"title":"hello, kiln"}', '--seed', seed, '--wait-anchor')
    expect(updated.state.content).toEqual({ title: 'hello, kiln' })
    expect(updated.state.anchorStatus).toBe('ANCHORED')

    expect(await kilnJSON('show', created.streamId)).toEqual({ streamId: created.streamId, content: { title: 'hello, kiln' } })
    const commits = await kilnJSON<{ commits: Array<{ cid: string }> }>('commits', created.streamId)
    expect(commits.commits.length).toBe(updated.state.log.length)

    const genesisCommit = (await kilnJSON<{ state: { log: Array<{ cid: string }> } }>('state', created.streamId)).state.log[0]!.cid
    expect(genesisCommit).toBe(commits.commits[0]!.cid)

    await kilnJSON('pin', 'add', created.streamId, '--seed', adminSeed)
    const pins = await kilnJSON<{ pinnedStreamIds: string[] }>('pin', 'ls', '--seed', adminSeed)
    expect(pins.pinnedStreamIds).toContain(created.streamId)
    await kilnJSON('pin', 'rm', created.streamId, '--seed', adminSeed)
    expect((await kilnJSON<{ pinnedStreamIds: string[] }>('pin', 'ls', '--seed', adminSeed)).pinnedStreamIds).not.toContain(created.streamId)
  })

  it('fails with one line and a non-zero exit on bad input', async () => {
    for (const args of [['show', 'not-a-doc-id'], ['update', 'kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s', '{}', '--seed', seed], ['create', '{not json', '--seed', seed], ['create', '{"a":1}'], ['pin', 'ls', '--seed', seed]]) {
      const result = await kiln(...args)
      expect(result.code, args.join(' ')).not.toBe(0)
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
    }
  })
})
