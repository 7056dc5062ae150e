import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { mockAnchor, mockChainSeedOf, mockChainVerifier } from '@kiln/anchor-mock'
import { createNode, type KilnNode } from '@kiln/core'
import { accountLink } from '@kiln/doctype-account-link'
import { schema } from '@kiln/doctype-schema'
import { tile } from '@kiln/doctype-tile'
import { httpApi, type HttpApi } from '@kiln/http-server'
import type { WarehouseMirror } from '@kiln/backup'
import type { AnchorFactory, DIDSigner, KilnNodeApi, Logger, NetworkFactory, WriteObserverFactory } from '@kiln/interface'
import type { Libp2pNetwork } from '@kiln/network-libp2p'
import { rulesDoctype } from '@kiln/rules'
import { keyDidSigner, randomSeed, seedFromHex, seedToHex } from '@kiln/signing'
import { levelStorage } from '@kiln/storage-level'
import type { DaemonConfig } from './config.js'
import { startDevChain, type DevChain } from './dev-chain.js'
import { ConfigError } from './errors.js'

/** A running daemon: the node, its HTTP API, and what it was made of. */
export interface Daemon {
  node: KilnNode
  api: HttpApi
  did: DIDSigner
  /** The mock chain's DID (its anchors verify against it), when the node anchors there. */
  mockChainDid?: string
  /** The JSON-RPC URL of the ganache chain `--anchor ethereum-dev` started. */
  devChainRpc?: string
  dataDir: string
  /** The node's place on the libp2p network, when it is on one. */
  network?: { peerId: string, addresses: string[], topic: string }
  /** The warehouse mirror (`--backup`), when the node has one. */
  mirror?: WarehouseMirror
  stop(): Promise<void>
}

/**
 * Reads the 32-byte seed stored at `path`, or makes one and stores it (mode 0600). Keys live in the data directory so a
 * restarted node keeps its DID, and the mock chain keeps the key its anchors are verified with.
 */
async function storedSeed (path: string): Promise<Uint8Array> {
  try {
    return seedFromHex((await readFile(path, 'utf8')).trim())
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`Cannot read the key file ${path}: ${(err as Error).message}`, { cause: err })
  }
  const seed = randomSeed()
  await writeFile(path, `${seedToHex(seed)}\n`, { mode: 0o600, flag: 'wx' })
  await chmod(path, 0o600)
  return seed
}

/** The chain id an EVM JSON-RPC endpoint serves (`eth_chainId`), so the anchors' CAIP-2 id is the endpoint's own. */
async function ethChainNumber (rpcUrl: string): Promise<number> {
  try {
    const response = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) })
    const answer = await response.json() as { result?: string }
    const n = Number.parseInt(answer.result ?? '', 16)
    if (!Number.isSafeInteger(n)) throw new ConfigError(`${rpcUrl} answered eth_chainId with ${JSON.stringify(answer)}`)
    return n
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new ConfigError(`Cannot reach the Ethereum JSON-RPC endpoint ${rpcUrl}: ${(err as Error).message}`, { cause: err })
  }
}

/** Assembles and starts the node the CLI runs: tile, schema, account-link and rules doctypes, LevelDB under the data directory or PostgreSQL, the chosen anchor, HTTP. */
export async function startDaemon (config: DaemonConfig, logger: Logger): Promise<Daemon> {
  const dataDir = resolve(config.dataDir)
  await mkdir(dataDir, { recursive: true })
  const did = keyDidSigner({ seed: await storedSeed(join(dataDir, 'node.key')) })
  const anchors: AnchorFactory[] = []
  let mockChainDid: string | undefined
  let devChain: DevChain | undefined
  // In the order given: the first chain anchors writes unless a write names another; every chain verifies its anchors.
  for (const choice of config.anchor) {
    if (choice === 'mock') {
      // On a network, the mock chain is the network's, so every node of it verifies the others' mock anchors; alone,
      // it is this node's own, with its key in the data directory.
      const seed = config.p2pListen.length > 0 ? mockChainSeedOf(config.network) : await storedSeed(join(dataDir, 'mock-chain.key'))
      mockChainDid = keyDidSigner({ seed }).did
      anchors.push(mockAnchor({ intervalMs: config.anchorIntervalMs, seed }))
    } else if (choice === 'ethereum-dev') {
    // The dev chain and its account key live in the data directory: anchors made before a restart verify after it.
    const chainDir = join(dataDir, 'eth-dev-chain')
    await mkdir(chainDir, { recursive: true })
    devChain = await startDevChain(seedToHex(await storedSeed(join(dataDir, 'eth-dev.key'))), chainDir)
    const { ethereumAnchor } = await import('@kiln/anchor-ethereum')
    anchors.push(ethereumAnchor({ rpcUrl: devChain.rpcUrl, chainId: devChain.chainId, privateKey: devChain.privateKey, contract: devChain.contract, intervalMs: config.anchorIntervalMs }))
    } else {
    const rpcUrl = config.ethRpc!
    const chainNumber = await ethChainNumber(rpcUrl)
    // ethers is loaded only by a daemon that anchors on Ethereum
    const { ethereumAnchor } = await import('@kiln/anchor-ethereum')
    anchors.push(ethereumAnchor({
      rpcUrl,
      chainId: `eip155:${chainNumber}`,
      privateKey: config.ethPrivateKey!,
      ...(config.ethContract === undefined ? {} : { contract: config.ethContract }),
      intervalMs: config.anchorIntervalMs,
      confirmations: config.ethConfirmations
    }))
    }
  }
  const stopChain = async (): Promise<void> => { await devChain?.close() }
  // libp2p is loaded only by a daemon that is on a network.
  let network: Libp2pNetwork | undefined
  let networkFactory: NetworkFactory | undefined
  if (config.p2pListen.length > 0) {
    const { libp2pNetwork } = await import('@kiln/network-libp2p')
    const factory = libp2pNetwork({
      network: config.network,
      ...(config.pubsubTopic === undefined ? {} : { topic: config.pubsubTopic }),
      listen: config.p2pListen,
      bootstrap: config.bootstrap,
      peerKeyPath: join(dataDir, 'peer.key'),
      ...(config.syncFamilies === undefined ? {} : { syncFamilies: config.syncFamilies }),
      ...(config.syncSchemas === undefined ? {} : { syncSchemas: config.syncSchemas }),
      ...(config.syncControllers === undefined ? {} : { syncControllers: config.syncControllers }),
      ...(config.syncDocs === undefined ? {} : { syncDocs: config.syncDocs }),
      ...(config.syncPinned === undefined ? {} : { syncPinned: config.syncPinned })
    })
    networkFactory = (components) => (network = factory(components))
  }
  // The PostgreSQL driver is loaded only by a daemon that stores there.
  const storage = config.storage === 'level'
    ? levelStorage({ path: join(dataDir, 'store') })
    : (await import('@kiln/storage-postgres')).postgresStorage({ connectionString: config.storage })
  // pg is loaded only by a daemon that mirrors to a warehouse.
  let mirror: WarehouseMirror | undefined
  const observers: WriteObserverFactory[] = []
  if (config.backup !== undefined) {
    const { warehouseMirror } = await import('@kiln/backup')
    const factory = warehouseMirror({ connectionString: config.backup })
    observers.push((components) => (mirror = factory(components)))
  }
  // Webhooks are always on: with none registered they cost a check per write; the outbox lives in the data dir.
  const { webhooks } = await import('@kiln/hooks')
  const node = await createNode({
    ...(networkFactory === undefined ? {} : { network: networkFactory }),
    observers,
    hooks: [webhooks({ path: join(dataDir, 'hooks') })],
    doctypes: [tile(), schema(), accountLink(), rulesDoctype()],
    storage,
    anchors,
    did,
    logger,
    cacheSize: config.cacheSize,
    durability: config.durability
  })
  let api: HttpApi
  try {
    api = httpApi({
      port: config.port,
      host: config.host,
      adminDids: config.adminDids,
      bodyLimit: config.bodyLimit,
      importBodyLimit: config.importBodyLimit,
      headersTimeoutMs: config.headersTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
      rateLimit: config.rateLimit,
      trustProxy: config.trustProxy,
      ...(config.corsOrigins.length > 0 ? { cors: { origin: config.corsOrigins } } : {})
    })({ node, logger })
    await api.start()
  } catch (err) {
    await node.stop()
    await stopChain()
    throw err
  }
  return {
    node,
    api,
    did,
    ...(mockChainDid === undefined ? {} : { mockChainDid }),
    ...(devChain === undefined ? {} : { devChainRpc: devChain.rpcUrl }),
    ...(mirror === undefined ? {} : { mirror }),
    ...(network === undefined ? {} : { network: { peerId: network.info().peerId, addresses: network.info().addresses, topic: network.info().topic } }),
    dataDir,
    async stop () {
      await api.stop()
      await node.stop()
      await stopChain()
    }
  }
}

/** Options of {@link openRestoreNode}. */
export interface RestoreNodeOptions {
  dataDir: string
  /** The DID of the mock chain the restored anchors were made on; else the data directory's own mock chain key. */
  mockChainDid?: string
  /** An Ethereum JSON-RPC endpoint to verify Ethereum anchors with. */
  ethRpc?: string
}

/** A node on a data directory that verifies anchors but requests none, for `kiln restore` to fill (the daemon stopped). */
export async function openRestoreNode (options: RestoreNodeOptions, logger?: Logger): Promise<{ node: KilnNodeApi, stop(): Promise<void> }> {
  const dataDir = resolve(options.dataDir)
  await mkdir(dataDir, { recursive: true })
  const verifiers: AnchorFactory[] = []
  let chainDid = options.mockChainDid
  if (chainDid === undefined) {
    const key = await readFile(join(dataDir, 'mock-chain.key'), 'utf8').catch(() => undefined)
    if (key !== undefined) chainDid = keyDidSigner({ seed: seedFromHex(key.trim()) }).did
  }
  if (chainDid !== undefined) {
    const verifier = mockChainVerifier({ chainDid })
    verifiers.push(() => ({ verifier }))
  }
  if (options.ethRpc !== undefined) {
    const { ethereumVerifier } = await import('@kiln/anchor-ethereum')
    const verifier = ethereumVerifier({ rpcUrl: options.ethRpc })
    verifiers.push(() => ({ verifier }))
  }
  const node = await createNode({
    doctypes: [tile(), schema(), accountLink(), rulesDoctype()],
    storage: levelStorage({ path: join(dataDir, 'store') }),
    anchors: verifiers,
    ...(logger === undefined ? {} : { logger })
  })
  return { node, stop: async () => { await node.stop() } }
}
