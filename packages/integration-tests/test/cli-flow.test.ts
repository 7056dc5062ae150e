import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { makeGenesis } from '@kiln/doctype-tile'
import { httpClient } from '@kiln/http-client'
import { keyDidSigner, seedFromHex } from '@kiln/signing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KILN_BIN, startDaemon, type DaemonProcess } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'
import { startReceiver } from './fixtures/webhook-receiver.js'

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
    // Both DIDs are made before the daemon starts (the admin DID must be, as a user would make it), side by side: a
    // `kiln` run spends most of its time loading its modules, on a core of its own.
    const didCreate = async (): Promise<{ did: string, seed: string }> => JSON.parse((await exec(process.execPath, [KILN_BIN, 'did', 'create', '--json'])).stdout) as { did: string, seed: string }
    const [made, user] = await Promise.all([didCreate(), didCreate()])
    adminSeed = made.seed
    seed = user.seed
    daemon = await startDaemon(['--data-dir', dir.path, '--anchor-interval', '300', '--admin-did', made.did])
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

    // Three reads of the anchored document, side by side.
    const [shown, commits, state] = await Promise.all([
      kilnJSON('show', created.streamId),
      kilnJSON<{ commits: Array<{ cid: string }> }>('commits', created.streamId),
      kilnJSON<{ state: { log: Array<{ cid: string }> } }>('state', created.streamId)
    ])
    expect(shown).toEqual({ streamId: created.streamId, content: { title: 'hello, kiln' } })
    expect(commits.commits.length).toBe(updated.state.log.length)
    const genesisCommit = state.state.log[0]!.cid
    expect(genesisCommit).toBe(commits.commits[0]!.cid)

    await kilnJSON('pin', 'add', created.streamId, '--seed', adminSeed)
    const pins = await kilnJSON<{ pinnedStreamIds: string[] }>('pin', 'ls', '--seed', adminSeed)
    expect(pins.pinnedStreamIds).toContain(created.streamId)
    await kilnJSON('pin', 'rm', created.streamId, '--seed', adminSeed)
    expect((await kilnJSON<{ pinnedStreamIds: string[] }>('pin', 'ls', '--seed', adminSeed)).pinnedStreamIds).not.toContain(created.streamId)
  })

  it('adds a webhook that receives a signed delivery of a matching write, lists it with its counts, and removes it', async () => {
    const receiver = await startReceiver('ok')
    try {
      const created = await kilnJSON<{ id: string, secret: string, filter: Record<string, string> }>('hooks', 'add', '--url', receiver.url, '--family', 'cli-hooks', '--seed', adminSeed)
      expect(created.filter).toEqual({ family: 'cli-hooks' })
      await receiver.setSecret(created.secret)
      const doc = await kilnJSON<{ streamId: string }>('create', '{"hooked":true}', '--family', 'cli-hooks', '--no-anchor', '--seed', seed)
      await receiver.until((received) => received.some((r) => r.docId === doc.streamId))
      expect(receiver.received.filter((r) => r.docId === doc.streamId).every((r) => r.verified)).toBe(true)
      const { hooks } = await kilnJSON<{ hooks: Array<{ id: string, pending: number, delivered: number }> }>('hooks', 'list', '--seed', adminSeed)
      expect(hooks.map((h) => h.id)).toEqual([created.id])
      expect(JSON.stringify(hooks)).not.toContain(created.secret)
      const refused = await kiln('hooks', 'add', '--url', 'ftp://127.0.0.1/', '--seed', adminSeed)
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toContain('http: or https:')
      await kilnJSON('hooks', 'remove', created.id, '--seed', adminSeed)
      expect((await kilnJSON<{ hooks: unknown[] }>('hooks', 'list', '--seed', adminSeed)).hooks).toEqual([])
    } finally {
      await receiver.close()
    }
  })

  it('publishes a schema, creates a document that follows it, refuses one that does not, and links an Ethereum account', async () => {
    const profile = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
      required: ['name'],
      additionalProperties: false
    }
    const published = await kilnJSON<{ streamId: string, commitId: string, state: { type: number } }>('schema', 'create', JSON.stringify(profile), '--seed', seed)
    expect(published.state.type).toBe(64)
    expect(published.commitId).toMatch(/^k/)

    // Independent of each other, so side by side: a document that follows the schema, one that does not, one naming
    // the schema's stream rather than a commit of it, the schema's state, and the account link.
    const ethKey = '0x' + '11'.repeat(32)
    const [alice, bad, bare, schemaState, linked] = await Promise.all([
      kilnJSON<{ state: { content: unknown, metadata: { schema: string } } }>('create', '--schema', published.commitId, '{"name":"Alice","age":30}', '--seed', seed),
      kiln('create', '--schema', published.commitId, '{"name":"Bob","age":"old"}', '--seed', seed),
      kiln('create', '--schema', published.streamId, '{"name":"Carol"}', '--seed', seed),
      kilnJSON<{ state: { metadata: { controllers: string[] } } }>('state', published.streamId),
      kilnJSON<{ account: string, did: string }>('link', 'eth', '--eth-key', ethKey, '--seed', seed)
    ])
    expect(alice.state.metadata.schema).toBe(published.commitId)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('SchemaValidationError')
    expect(bad.stderr).toContain('/age must be integer')
    expect(bare.code).toBe(1)

    const did = schemaState.state.metadata.controllers[0]
    expect(linked.did).toBe(did)
    expect(linked.account).toMatch(/^eip155:1:0x[0-9a-f]{40}$/)
    expect(await kilnJSON<{ did: string }>('link', 'show', linked.account)).toMatchObject({ did })
    const unlinked = await kilnJSON<{ did: string | null }>('link', 'eth', '--eth-key', ethKey, '--unlink')
    expect(unlinked.did).toBeNull()
  })

  it('queries the documents by family, tag and content, pages with --all, and lists backlinks', async () => {
    type Page = { items: Array<{ streamId: string, content: { n: number } }>, pageInfo: { hasNextPage: boolean, endCursor?: string }, count?: number }
    // The documents are made over HTTP in this process; only the commands under test run as `kiln`.
    const client = httpClient({ url: daemon.url })
    const signer = keyDidSigner({ seed: seedFromHex(seed) })
    const create = async (content: Record<string, unknown>, tags: string[] = []): Promise<string> =>
      (await client.createDocument('tile', (await makeGenesis(content, { family: 'cli-query', tags }, signer)).commit, { anchor: false })).id.toString()
    const target = await create({ title: 'linked to' })
    const made: string[] = []
    for (let n = 0; n < 3; n++) made.push(await create({ n, ref: `ceramic://${target}` }, [`n${n}`]))
    const [byContent, paged, tagged, backlinks, bad] = await Promise.all([
      kilnJSON<Page>('query', '--family', 'cli-query', '--where', '/n=1'),
      kilnJSON<Page>('query', '{"filter":{"content":{"path":"/n","exists":true}}}', '--family', 'cli-query', '--sort', '/n', '--desc', '--first', '1', '--all', '--count'),
      kilnJSON<Page>('query', '--any-tag', 'n0', '--any-tag', 'n2'),
      kilnJSON<Page>('backlinks', target),
      kiln('query', '{"filter":{"content":{"path":"/n","near":1}}}')
    ])
    expect(byContent.items.map((item) => item.streamId)).toEqual([made[1]])
    expect(paged.items.map((item) => item.content.n)).toEqual([2, 1, 0])
    expect(paged.count).toBe(3)
    expect(paged.pageInfo.hasNextPage).toBe(false)
    expect(tagged.items.map((item) => item.streamId).sort()).toEqual([made[0], made[2]].sort())
    expect(backlinks.items.map((item) => item.streamId)).toEqual(made)
    // A query the node refuses is one line on stderr and a non-zero exit.
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('InvalidQueryError')
  }, 60_000) // five `kiln` processes side by side on two cores

  it('fails with one line and a non-zero exit on bad input', async () => {
    const cases = [['show', 'not-a-doc-id'], ['update', 'kjzl6cwe1jw147dvq16zluojmraqvwdmbh61dx9e0c59i344lcrsgqfohexp60s', '{}', '--seed', seed], ['create', '{not json', '--seed', seed], ['create', '{"a":1}'], ['pin', 'ls', '--seed', seed]]
    const results = await Promise.all(cases.map(async (args) => await kiln(...args)))
    cases.forEach((args, i) => {
      expect(results[i]!.code, args.join(' ')).not.toBe(0)
      expect(results[i]!.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
    })
  })
})
