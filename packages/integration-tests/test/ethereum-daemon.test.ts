import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { makeGenesis, makeUpdate } from '@kiln/doctype-tile'
import { httpClient } from '@kiln/http-client'
import { AnchorStatus, type DocState } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { describe, expect, it } from 'vitest'
import { KILN_BIN, startDaemon } from './fixtures/daemon.js'
import { dataDir } from './fixtures/node.js'

const exec = promisify(execFile)
const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xe7) })

async function anchored (url: string, id: string): Promise<DocState> {
  for await (const { state } of httpClient({ url }).watch(id, { signal: AbortSignal.timeout(30_000) })) {
    if (state.anchorStatus === AnchorStatus.ANCHORED) return state
  }
  throw new Error(`${id} was not anchored`)
}

/** The timestamp of the block that holds the transaction `txHash`, asked of the chain at `rpcUrl`. */
async function blockTimestampOf (rpcUrl: string, txHash: string): Promise<number> {
  const rpc = async <T>(method: string, params: unknown[]): Promise<T> => {
    const res = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
    return ((await res.json()) as { result: T }).result
  }
  const tx = await rpc<{ blockNumber: string }>('eth_getTransactionByHash', [txHash])
  const block = await rpc<{ timestamp: string }>('eth_getBlockByNumber', [tx.blockNumber, false])
  return Number(block.timestamp)
}

describe('a daemon anchoring on its own Ethereum dev chain (ganache)', () => {
  it('anchors with block time, keeps its chain across a restart, and exports proofs kiln verify checks on the chain', async () => {
    const dir = await dataDir()
    try {
      let daemon = await startDaemon(['--data-dir', dir.path, '--anchor', 'ethereum-dev', '--anchor-interval', '200'], 60_000)
      const client = httpClient({ url: daemon.url })
      const created = await client.createDocument('tile', (await makeGenesis({ chain: 'ethereum' }, {}, alice)).commit, { anchor: false })
      await client.applyCommit(created.id, (await makeUpdate(created.state, { chain: 'ethereum', v: 2 }, alice)).commit)
      const state = await anchored(daemon.url, created.id.toString())
      expect(state.anchorProof?.chainId).toBe('eip155:1337')
      expect(state.anchorProof?.txType).toBe('f(bytes32)')
      const txHash = `0x${Buffer.from(state.anchorProof!.txHash.multihash.digest).toString('hex')}`
      expect(state.log[state.log.length - 1]!.timestamp).toBe(await blockTimestampOf(daemon.ethRpc!, txHash))
      expect(await client.chains()).toEqual(['eip155:1337'])
      await daemon.stop()

      // Restarted: the chain (kept in the data directory) still holds the anchor transaction.
      daemon = await startDaemon(['--data-dir', dir.path, '--anchor', 'ethereum-dev', '--anchor-interval', '200'], 60_000)
      try {
        expect((await httpClient({ url: daemon.url }).load(created.id)).state).toEqual(state)
        const car = join(dir.path, 'eth.car')
        await exec(process.execPath, [KILN_BIN, 'export', created.id.toString(), '--url', daemon.url, '--out', car])
        const verified = JSON.parse((await exec(process.execPath, [KILN_BIN, 'verify', car, '--eth-rpc', daemon.ethRpc!, '--json'])).stdout) as { ok: boolean, notes: string[] }
        expect(verified).toEqual({ ok: true, commits: expect.any(Array) as unknown, notes: [] })
        const pathOnly = JSON.parse((await exec(process.execPath, [KILN_BIN, 'verify', car, '--json'])).stdout) as { ok: boolean, notes: string[] }
        expect(pathOnly.notes.join(' ')).toContain('eip155:1337: Merkle paths checked')
      } finally {
        expect(await daemon.stop()).toBe(0)
      }
    } finally {
      await dir.remove()
    }
  }, 120_000)

  it('anchors on several chains at once: the first by default, another when a write names it', async () => {
    const dir = await dataDir()
    const daemon = await startDaemon(['--data-dir', dir.path, '--anchor', 'mock,ethereum-dev', '--anchor-interval', '200'], 60_000)
    try {
      const client = httpClient({ url: daemon.url })
      expect(await client.chains()).toEqual(['inmemory:12345', 'eip155:1337'])
      const onMock = await client.createDocument('tile', (await makeGenesis({ chain: 'default' }, {}, alice)).commit)
      const onEth = await client.createDocument('tile', (await makeGenesis({ chain: 'named' }, {}, alice)).commit, { anchorChain: 'eip155:1337' })
      expect((await anchored(daemon.url, onMock.id.toString())).anchorProof?.chainId).toBe('inmemory:12345')
      expect((await anchored(daemon.url, onEth.id.toString())).anchorProof?.chainId).toBe('eip155:1337')

      const genesis = await makeGenesis({ chain: 'unknown' }, {}, alice)
      await expect(client.createDocument('tile', genesis.commit, { anchorChain: 'eip155:1' })).rejects.toMatchObject({ name: 'UnsupportedChainError' })
      await expect(client.requestAnchor(onMock.id, { chainId: 'bip122:000000000019d6689c085ae165831e93' })).rejects.toMatchObject({ name: 'UnsupportedChainError' })
    } finally {
      expect(await daemon.stop()).toBe(0)
      await dir.remove()
    }
  }, 120_000)
})
