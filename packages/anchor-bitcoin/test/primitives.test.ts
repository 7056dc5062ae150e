import { describe, it, expect } from 'vitest'
import { Block, Transaction } from 'bitcoinjs-lib'
import { bitcoinCoreHeaderSource, merkleBranch, merkleRootFromBranch, targetFromBits } from '@kiln/anchor-bitcoin'
import { rejection } from './fixtures/bitcoin.js'

describe('targetFromBits', () => {
  it('decodes compact targets as Bitcoin Core does', () => {
    expect(targetFromBits(0x1d00ffff)).toBe(0xffffn << 208n)
    expect(targetFromBits(0x207fffff)).toBe(0x7fffffn << 232n)
    // Block 100 000 of mainnet.
    expect(targetFromBits(0x1b04864c)).toBe(0x04864cn << 192n)
    expect(targetFromBits(0x03123456)).toBe(0x123456n)
    expect(targetFromBits(0x02123456)).toBe(0x1234n)
  })

  it('gives no target for zero, negative or overflowing bits', () => {
    for (const bits of [0, 0x1d000000, 0x04923456, 0x01803456, 0x23000001 * 2, 0xff123456]) {
      expect(targetFromBits(bits), bits.toString(16)).toBeUndefined()
    }
  })
})

describe('Merkle branches', () => {
  it('lead from every transaction to the root bitcoinjs-lib computes, for blocks of 1 to 9 transactions', () => {
    for (let size = 1; size <= 9; size++) {
      const txs = Array.from({ length: size }, (_, i) => {
        const tx = new Transaction()
        tx.addInput(new Uint8Array(32).fill(i + 1), i)
        tx.addOutput(Uint8Array.from([0x51]), BigInt(i))
        return tx
      })
      const root = Block.calculateMerkleRoot(txs)
      const hashes = txs.map((t) => t.getHash())
      hashes.forEach((hash, index) => {
        expect(Buffer.from(merkleRootFromBranch(hash, merkleBranch(hashes, index), index)), `${index} of ${size}`).toEqual(Buffer.from(root))
      })
    }
  })
})

describe('bitcoinCoreHeaderSource (against a fake fetch: no Bitcoin Core node in these tests)', () => {
  type Answer = { status: number, body: unknown }
  function fakeFetch (answer: Answer, seen: Array<{ url: string, init: RequestInit }>): typeof fetch {
    return (async (url: string, init: RequestInit) => {
      seen.push({ url, init })
      return new Response(JSON.stringify(answer.body), { status: answer.status })
    }) as unknown as typeof fetch
  }

  it('asks getblockheader with basic auth and returns the confirmations', async () => {
    const seen: Array<{ url: string, init: RequestInit }> = []
    const source = bitcoinCoreHeaderSource({
      rpcUrl: 'http://127.0.0.1:18443/',
      auth: { username: 'kiln', password: 'secret' },
      fetch: fakeFetch({ status: 200, body: { result: { confirmations: 7 }, error: null, id: 'kiln' } }, seen)
    })
    expect(await source.confirmations('ab'.repeat(32))).toBe(7)
    expect(seen[0]!.url).toBe('http://127.0.0.1:18443/')
    expect(JSON.parse(seen[0]!.init.body as string)).toMatchObject({ method: 'getblockheader', params: ['ab'.repeat(32), true] })
    expect((seen[0]!.init.headers as Record<string, string>).authorization).toBe(`Basic ${Buffer.from('kiln:secret').toString('base64')}`)
  })

  it('reports an unknown block (RPC error -5) as undefined and other errors as BitcoinRpcError', async () => {
    const unknown = bitcoinCoreHeaderSource({ rpcUrl: 'http://node/', fetch: fakeFetch({ status: 500, body: { result: null, error: { code: -5, message: 'Block not found' } } }, []) })
    expect(await unknown.confirmations('cd'.repeat(32))).toBeUndefined()
    const failing = bitcoinCoreHeaderSource({ rpcUrl: 'http://node/', fetch: fakeFetch({ status: 401, body: { result: null, error: { code: -32600, message: 'nope' } } }, []) })
    expect((await rejection(failing.confirmations('cd'.repeat(32)))).name).toBe('BitcoinRpcError')
    const down = bitcoinCoreHeaderSource({ rpcUrl: 'http://node/', fetch: (async () => { throw new TypeError('fetch failed') }) as unknown as typeof fetch })
    expect((await rejection(down.confirmations('cd'.repeat(32)))).name).toBe('BitcoinRpcError')
  })
})
