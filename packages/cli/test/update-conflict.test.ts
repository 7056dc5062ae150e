import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { commitFromJSON, docStateToJSON, encodeJWS, isSignedCommit } from '@kiln/codec'
import { run, type CliIO } from '@kiln/cli'
import { createNode, memoryStorage, type KilnNode } from '@kiln/core'
import type { DocID } from '@kiln/docid'
import { makeGenesis, makeUpdate, tile } from '@kiln/doctype-tile'
import type { Commit } from '@kiln/interface'
import { keyDidSigner, seedToHex } from '@kiln/signing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const seed = new Uint8Array(32).fill(7)
const writer = keyDidSigner({ seed })

let node: KilnNode
let server: Server
let url: string
let id: DocID
/** What the fake node did, in order. */
let seen: string[]

/** The answer a node gives when a commit loses the conflict rule. */
function refusal (docId: string, commit: string, tip: string): string {
  return JSON.stringify({ error: `Commit ${commit} loses to the tip ${tip} of ${docId}`, name: 'ConflictingCommitError', details: { docId, commit, tip } })
}

async function cidOf (commit: Commit): Promise<string> {
  if (!isSignedCommit(commit)) throw new Error('expected a signed commit')
  return (await encodeJWS(commit.jws)).cid.toString()
}

beforeEach(async () => {
  seen = []
  node = await createNode({ doctypes: [tile()], storage: memoryStorage() })
  id = (await node.createDocument('tile', (await makeGenesis({ n: 1 }, {}, writer)).commit)).id
  let refused = false
  // A real node behind a fake HTTP front whose first commit arrives just after another write moved the tip.
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      void (async () => {
        seen.push(`${req.method} ${req.url}`)
        if (req.method === 'POST' && req.url === '/api/v0/commits') {
          const commit = commitFromJSON((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { commit: unknown }).commit)
          if (!refused) {
            refused = true
            const current = (await node.load(id)).state
            const moved = (await node.applyCommit(id, (await makeUpdate(current, { n: 1, other: true }, writer)).commit)).state
            res.writeHead(409, { 'content-type': 'application/json' })
            res.end(refusal(id.toString(), await cidOf(commit), moved.log[moved.log.length - 1]!.cid.toString()))
            return
          }
          const { state } = await node.applyCommit(id, commit)
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ streamId: id.toString(), state: docStateToJSON(state, 'tile') }))
          return
        }
        const { state } = await node.load(id)
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ streamId: id.toString(), state: docStateToJSON(state, 'tile') }))
      })().catch((err: unknown) => { res.writeHead(599); res.end(String(err)) })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterEach(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  await node.stop()
})

function captureIO (): CliIO & { stdout: () => string, stderr: () => string } {
  let out = ''
  let err = ''
  return {
    out: { write: (chunk: string | Uint8Array) => { out += String(chunk) } },
    err: { write: (chunk: string) => { err += chunk } },
    env: {},
    stdout: () => out,
    stderr: () => err
  }
}

describe('kiln update when the tip moves', () => {
  it('builds the update again on the tip a 409 names, signs it, and succeeds', async () => {
    const io = captureIO()
    const code = await run(['update', id.toString(), '{"n":3}', '--url', url, '--seed', seedToHex(seed), '--json'], io)
    expect(io.stderr()).toBe('')
    expect(code).toBe(0)
    const printed = JSON.parse(io.stdout()) as { state: { content: unknown, log: Array<{ cid: string }> } }
    expect(printed.state.content).toEqual({ n: 3 })
    const { state } = await node.load(id)
    // genesis, the write that won the race, then this update built on it.
    expect(state.log).toHaveLength(3)
    expect(state.content).toEqual({ n: 3 })
    expect(seen).toEqual([`GET /api/v0/streams/${id.toString()}`, 'POST /api/v0/commits', `GET /api/v0/streams/${id.toString()}`, 'POST /api/v0/commits'])
  })
})
