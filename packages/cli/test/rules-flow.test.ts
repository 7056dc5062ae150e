// The team task list of examples/team-tasks, through the CLI against a node's HTTP API: a rules document, a document
// that names it, members appending with --patch, a 2-of-3 close prepared with --out, co-signed and submitted.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, type CliIO } from '@kiln/cli'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { tile } from '@kiln/doctype-tile'
import { httpApi, type HttpApi } from '@kiln/http-server'
import { rulesDoctype } from '@kiln/rules'
import { keyDidSigner, seedToHex } from '@kiln/signing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** A CLI user: the seed they pass to `--seed`, and their DID. */
function user (byte: number): { seed: string, did: string } {
  const seed = new Uint8Array(32).fill(byte)
  return { seed: seedToHex(seed), did: keyDidSigner({ seed }).did }
}
const [owner, admin1, admin2, admin3, member] = [user(0x31), user(0x32), user(0x33), user(0x34), user(0x35)]

let node: KilnNode
let api: HttpApi
let dir: string

beforeAll(async () => {
  node = await createNode({ doctypes: [tile(), rulesDoctype()], storage: memoryStorage() })
  api = httpApi({ port: 0 })({ node })
  await api.start()
  dir = await mkdtemp(join(tmpdir(), 'kiln-rules-cli-'))
})

afterAll(async () => {
  await api?.stop()
  await node?.stop()
  await rm(dir, { recursive: true, force: true })
})

async function kiln (...args: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const io: CliIO = { out: { write: (chunk: string | Uint8Array) => { out += String(chunk) } }, err: { write: (chunk: string) => { err += chunk } }, env: {} }
  const code = await run([...args, '--url', api.url], io)
  return { code, out, err }
}

describe('a document with rules through the CLI', () => {
  it('creates the rules and the list, lets a member append, refuses an edit, closes with two admins', async () => {
    const rules = {
      version: 1,
      rules: [
        { name: 'members-append', paths: ['/tasks'], who: { anyOf: [member.did, admin1.did, admin2.did, admin3.did] }, how: { appendOnly: true } },
        { name: 'admins-close', paths: ['/closed'], who: { threshold: 2, of: [admin1.did, admin2.did, admin3.did] } }
      ]
    }
    await writeFile(join(dir, 'rules.json'), JSON.stringify(rules))
    const created = await kiln('create', '--doctype', 'rules', '--file', join(dir, 'rules.json'), '--seed', owner.seed, '--no-anchor', '--json')
    expect(created.err).toBe('')
    // The version to name: the tip's CommitID, printed with every state.
    const rulesCommit = (JSON.parse(created.out) as { commitId: string }).commitId

    const list = await kiln('create', '{"tasks":[],"closed":false}', '--rules', rulesCommit, '--seed', owner.seed, '--no-anchor', '--json')
    expect(list.code).toBe(0)
    const docId = (JSON.parse(list.out) as { streamId: string }).streamId

    const appended = await kiln('update', docId, '--patch', '[{"op":"add","path":"/tasks/-","value":"write the docs"}]', '--seed', member.seed, '--no-anchor', '--json')
    expect(appended.err).toBe('')
    expect((JSON.parse(appended.out) as { state: { content: unknown } }).state.content).toEqual({ tasks: ['write the docs'], closed: false })

    const edit = await kiln('update', docId, '--patch', '[{"op":"replace","path":"/tasks/0","value":"nothing"}]', '--seed', member.seed, '--no-anchor')
    expect(edit.code).not.toBe(0)
    expect(edit.err).toMatch(/RuleViolationError|members-append/)

    // admin1 prepares the close, admin1 again cannot make it two signatures, admin3 can.
    const file = join(dir, 'close.json')
    expect((await kiln('update', docId, '{"tasks":["write the docs"],"closed":true}', '--seed', admin1.seed, '--out', file)).code).toBe(0)
    const twice = join(dir, 'close-twice.json')
    expect((await kiln('cosign', file, '--seed', admin1.seed, '--out', twice)).code).toBe(0)
    const refused = await kiln('submit', docId, twice, '--no-anchor')
    expect(refused.code).not.toBe(0)
    expect(refused.err).toMatch(/admins-close/)

    expect((await kiln('cosign', file, '--seed', admin3.seed)).code).toBe(0)
    expect((JSON.parse(await readFile(file, 'utf8')) as { jws: { signatures: unknown[] } }).jws.signatures).toHaveLength(2)
    const closed = await kiln('submit', docId, file, '--no-anchor', '--json')
    expect(closed.err).toBe('')
    expect((JSON.parse(closed.out) as { state: { content: unknown } }).state.content).toEqual({ tasks: ['write the docs'], closed: true })
    expect((await node.load(docId)).state.log).toHaveLength(3)
  })
})
