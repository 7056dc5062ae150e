import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** A ganache chain started inside the daemon for `--anchor ethereum-dev`: a real EVM on 127.0.0.1, with a contract. */
export interface DevChain {
  rpcUrl: string
  chainId: string
  privateKey: string
  contract: string
  close(): Promise<void>
}

/**
 * Starts ganache (chain id 1337, a funded account from `seed`) on 127.0.0.1, its chain kept under `dir` so anchors
 * still verify after a restart, and deploys the KilnAnchor contract once (its address kept beside the chain).
 * ganache and ethers are loaded here, not when the CLI starts: only `--anchor ethereum-dev` needs them.
 */
export async function startDevChain (seedHex: string, dir: string): Promise<DevChain> {
  const [{ default: ganache }, { deployAnchorContract }] = await Promise.all([import('ganache'), import('@kiln/anchor-ethereum')])
  const privateKey = `0x${seedHex}`
  const server = ganache.server({
    logging: { quiet: true },
    database: { dbPath: dir },
    chain: { chainId: 1337 },
    miner: { blockTime: 0 },
    wallet: { accounts: [{ secretKey: privateKey, balance: '0x3635c9adc5dea00000' }] }
  })
  await server.listen(0, '127.0.0.1')
  const { port } = server.address() as { port: number }
  const rpcUrl = `http://127.0.0.1:${port}`
  try {
    const addressFile = join(dir, 'kiln-anchor-contract')
    let contract = await readFile(addressFile, 'utf8').then((text) => text.trim()).catch(() => undefined)
    if (contract === undefined) {
      contract = await deployAnchorContract({ rpcUrl, privateKey })
      await writeFile(addressFile, `${contract}\n`)
    }
    return { rpcUrl, chainId: 'eip155:1337', privateKey, contract, close: async () => { await server.close() } }
  } catch (err) {
    await server.close()
    throw err
  }
}
