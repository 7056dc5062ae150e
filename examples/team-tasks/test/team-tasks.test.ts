// The walkthrough of this example's README, run as written: the CLI against a node with rules and webhooks, and the
// example's own receiver verifying every delivery's signature.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, type CliIO } from '@kiln/cli'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { tile } from '@kiln/doctype-tile'
import { webhooks } from '@kiln/hooks'
import { httpApi, type HttpApi } from '@kiln/http-server'
import { rulesDoctype } from '@kiln/rules'
import { keyDidSigner, seedToHex } from '@kiln/signing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { teamRules } from '../make-rules.mjs'
import { createReceiver, type Delivery } from '../receiver.mjs'

/** A person of the walkthrough: the seed they pass to `--seed`, and their DID. */
function person (byte: number): { seed: string, did: string } {
  const seed = new Uint8Array(32).fill(byte)
  return { seed: seedToHex(seed), did: keyDidSigner({ seed }).did }
}
const [owner, ana, ben, cy, dee] = [person(0x61), person(0x62), person(0x63), person(0x64), person(0x65)]

let dir: string
let node: KilnNode
let api: HttpApi
let receiver: Server
let secret = ''
const deliveries: Delivery[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-team-tasks-'))
  node = await createNode({ doctypes: [tile(), rulesDoctype()], storage: memoryStorage(), hooks: [webhooks({ path: join(dir, 'hooks') })] })
  api = httpApi({ port: 0, adminDids: [owner.did] })({ node })
  await api.start()
  // The secret is known once the hook is added; the receiver reads it then.
  receiver = createReceiver({ get secret () { return secret }, onDelivery: (delivery) => { deliveries.push(delivery) } })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
})

afterAll(async () => {
  await api?.stop()
  await node?.stop()
  receiver?.closeAllConnections()
  await new Promise<void>((resolve) => { if (receiver === undefined) resolve(); else receiver.close(() => { resolve() }) })
  await rm(dir, { recursive: true, force: true })
})

async function kiln (...args: string[]): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const io: CliIO = { out: { write: (chunk: string | Uint8Array) => { out += String(chunk) } }, err: { write: (chunk: string) => { err += chunk } }, env: { KILN_URL: api.url } }
  const code = await run(args, io)
  return { code, out, err }
}

describe('the team task list walkthrough', () => {
  it('runs as the README says: rules, list, webhook, appends, a refused edit, a 2-of-3 close', async () => {
    await writeFile(join(dir, 'rules.json'), JSON.stringify(teamRules({ admins: [ana.did, ben.did, cy.did], members: [dee.did] })))
    const rules = await kiln('create', '--doctype', 'rules', '--file', join(dir, 'rules.json'), '--seed', owner.seed, '--json')
    expect(rules.err).toBe('')
    const rulesVersion = (JSON.parse(rules.out) as { commitId: string }).commitId

    const list = await kiln('create', '{"title":"Launch","tasks":[],"closed":false}', '--rules', rulesVersion, '--seed', owner.seed, '--json')
    expect(list.code).toBe(0)
    const listId = (JSON.parse(list.out) as { streamId: string }).streamId

    const { port } = receiver.address() as AddressInfo
    const added = await kiln('hooks', 'add', '--url', `http://127.0.0.1:${port}/kiln`, '--doc', listId, '--seed', owner.seed, '--json')
    expect(added.err).toBe('')
    secret = (JSON.parse(added.out) as { secret: string }).secret

    expect((await kiln('update', listId, '--patch', '[{"op":"add","path":"/tasks/-","value":"book the venue"}]', '--seed', dee.seed)).code).toBe(0)
    expect((await kiln('update', listId, '--patch', '[{"op":"add","path":"/tasks/-","value":"print badges"}]', '--seed', ana.seed)).code).toBe(0)

    const edit = await kiln('update', listId, '--patch', '[{"op":"remove","path":"/tasks/0"}]', '--seed', dee.seed)
    expect(edit.code).not.toBe(0)
    expect(edit.err).toContain('members-append')
    const alone = await kiln('update', listId, '{"title":"Launch","tasks":["book the venue","print badges"],"closed":true}', '--seed', dee.seed)
    expect(alone.code).not.toBe(0)
    expect(alone.err).toContain('admins-close')

    const file = join(dir, 'close.json')
    expect((await kiln('update', listId, '{"title":"Launch","tasks":["book the venue","print badges"],"closed":true}', '--seed', ana.seed, '--out', file)).code).toBe(0)
    expect((await kiln('cosign', file, '--seed', cy.seed)).code).toBe(0)
    const closed = await kiln('submit', listId, file, '--json')
    expect(closed.err).toBe('')
    expect((JSON.parse(closed.out) as { state: { content: unknown } }).state.content).toEqual({ title: 'Launch', tasks: ['book the venue', 'print badges'], closed: true })

    // Every accepted write reached the receiver, signed (the receiver refuses any other), the close among them.
    await vi.waitFor(() => {
      expect(deliveries.some((d) => d.docId === listId && (d.state.content as { closed?: boolean }).closed === true)).toBe(true)
    }, { timeout: 10_000 })
    const seen = new Set(deliveries.filter((d) => d.docId === listId).map((d) => (d.state.content as { tasks: string[] }).tasks.length))
    expect(seen).toEqual(new Set([1, 2]))
  })
})
