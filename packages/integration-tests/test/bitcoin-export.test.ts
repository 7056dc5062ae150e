import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { bitcoinAnchor, outputScript, regtestMiner } from '@kiln/anchor-bitcoin'
import { createNode } from '@kiln/core'
import { AnchorStatus } from '@kiln/interface'
import { keyDidSigner } from '@kiln/signing'
import { levelStorage } from '@kiln/storage-level'
import { makeGenesis, tile } from '@kiln/doctype-tile'
import { networks } from 'bitcoinjs-lib'
import { ECPairFactory } from 'ecpair'
import * as ecc from 'tiny-secp256k1'
import { describe, expect, it } from 'vitest'
import { KILN_BIN } from './fixtures/daemon.js'
import { dataDir, waitForAnchor } from './fixtures/node.js'

const exec = promisify(execFile)
const alice = keyDidSigner({ seed: new Uint8Array(32).fill(0xbc) })

describe('a document anchored in a regtest Bitcoin block', () => {
  it('exports a proof kiln verify checks offline (transaction, branch, proof of work), and refuses it under the mainnet rules', async () => {
    const dir = await dataDir()
    // In-process regtest chain: real blocks, mined to regtest's target by the test's miner (no bitcoind here).
    const miner = regtestMiner()
    const key = ECPairFactory(ecc).makeRandom({ network: networks.regtest })
    miner.fund(outputScript(key.publicKey, 'p2wpkh', networks.regtest), 100_000_000n)
    const node = await createNode({
      doctypes: [tile()],
      storage: levelStorage({ path: join(dir.path, 'store') }),
      anchors: [bitcoinAnchor({ network: 'regtest', signer: key, intervalMs: 100, utxos: miner, broadcaster: miner, blocks: miner, headers: miner.headers })]
    })
    try {
      const { id } = await node.createDocument('tile', (await makeGenesis({ on: 'bitcoin' }, {}, alice)).commit)
      const state = await waitForAnchor(node, id)
      expect(state.anchorStatus).toBe(AnchorStatus.ANCHORED)
      expect(state.anchorProof?.chainId).toBe('bip122:0f9188f13cb7b2c71f2a335e3a4fc328')
      const car = await node.exportDocument(id)
      const path = join(dir.path, 'btc.car')
      await writeFile(path, car)

      const result = JSON.parse((await exec(process.execPath, [KILN_BIN, 'verify', path, '--bitcoin-network', 'regtest', '--json'])).stdout) as { ok: boolean, notes: string[] }
      expect(result.ok).toBe(true)
      expect(result.notes.join(' ')).toContain('proof of work checked')

      // Checked against mainnet's rules, the regtest header's easy target is refused.
      const strict = await exec(process.execPath, [KILN_BIN, 'verify', path]).catch((err: { code: number, stdout: string }) => err)
      expect((strict as { code?: number }).code).toBe(1)
    } finally {
      await node.stop()
      await dir.remove()
    }
  })
})
