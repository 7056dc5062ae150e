// `kiln link eth` when an anchor of the link document lands between the proof's signature and the write: the node
// refuses the proof as older than the anchor, and the CLI signs a fresh one and sends it again.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { run, type CliIO } from '@kiln/cli'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import { accountLink } from '@kiln/doctype-account-link'
import { httpApi, type HttpApi } from '@kiln/http-server'
import { seedToHex } from '@kiln/signing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const ethKey = `0x${'4c'.repeat(32)}`
const seed = seedToHex(new Uint8Array(32).fill(0x2b))

let node: KilnNode
let api: HttpApi
let front: Server
let url: string
/** The commits the front received, and whether it refused each. */
let commits: string[]

beforeEach(async () => {
  commits = []
  node = await createNode({ doctypes: [accountLink()], storage: memoryStorage() })
  api = httpApi({ port: 0 })({ node })
  await api.start()
  // A front that passes every request to the node's API, but answers the first commit as the node does when an
  // anchor landed after the proof was signed.
  front = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks)
        if (req.method === 'POST' && req.url === '/api/v0/commits' && commits.push('refused') === 1) {
          const proofTime = Math.floor(Date.now() / 1000)
          res.writeHead(422, { 'content-type': 'application/json' })
          res.end(JSON.stringify({
            error: `The link proof has timestamp ${proofTime}, older than the document's latest anchor (${proofTime + 1}): sign a new one`,
            name: 'DoctypeRuleError',
            details: { timestamp: proofTime, anchor: proofTime + 1 }
          }))
          return
        }
        if (req.method === 'POST' && req.url === '/api/v0/commits') commits[commits.length - 1] = 'passed'
        const answer = await fetch(`${api.url}${req.url ?? '/'}`, {
          method: req.method,
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          ...(body.length > 0 ? { body } : {})
        })
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
        res.end(Buffer.from(await answer.arrayBuffer()))
      })().catch((err: unknown) => { res.writeHead(599); res.end(String(err)) })
    })
  })
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`
})

afterEach(async () => {
  front.closeAllConnections()
  await new Promise<void>((resolve) => front.close(() => { resolve() }))
  await api.stop()
  await node.stop()
})

describe('kiln link eth when the proof went stale', () => {
  it('signs a fresh proof and links, after the node refused the first as older than an anchor', async () => {
    let out = ''
    let err = ''
    const io: CliIO = { out: { write: (chunk: string | Uint8Array) => { out += String(chunk) } }, err: { write: (chunk: string) => { err += chunk } }, env: {} }
    const code = await run(['link', 'eth', '--eth-key', ethKey, '--seed', seed, '--url', url, '--json'], io)
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(commits).toEqual(['refused', 'passed'])
    const { streamId, did } = JSON.parse(out) as { streamId: string, did: string }
    expect((await node.load(streamId)).state.content).toBe(did)
  })
})
